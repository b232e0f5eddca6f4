// Write-back of an edited Windows policy changes only what the edit changed: every other byte of
// every blob, and every other attribute, stays as Windows wrote it (merge_policy / merge_object).
#include "directory/adblob/object_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "directory/adblob/ldif_test_support.h"
#include "directory/adblob/policy_from_ad.h"
#include "directory/model/test_support.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::adblob::object_merge_test {
namespace {

constexpr std::string_view kDomain = "DC=samba,DC=example,DC=com";

std::string dn_of(const char* rdn) { return std::string("CN=") + rdn + ",CN=IP Security,CN=System," + std::string(kDomain); }

class WindowsPolicyEdit : public ::testing::Test {
 protected:
  void SetUp() override {
    stored_ = testing::ad_objects_of(model::testing::source_dir() + "/tests/data/ad/windows-default-ipsec.ldif");
  }
  model::Policy read(const char* policy_rdn) {
    auto policy = policy_from_ad(stored_, dn_of(policy_rdn));
    EXPECT_TRUE(policy) << policy.error().to_string();
    return policy ? *policy : model::Policy{};
  }
  const AdObject* find_stored(const std::string& dn) const {
    for (const auto& o : stored_) {
      if (normalized_dn(o.dn) == normalized_dn(dn)) return &o;
    }
    return nullptr;
  }
  const AdObject& stored(const std::string& dn) const {
    if (const auto* o = find_stored(dn)) return *o;
    throw std::runtime_error("no stored object " + dn);
  }
  // merge_policy, checked to be a merge (not the fallback) that reads back as `edited`.
  std::vector<AdObject> merge(const model::Policy& read_policy, const model::Policy& edited) {
    auto merged = merge_policy(stored_, read_policy, edited, kDomain);
    EXPECT_TRUE(merged) << merged.error().to_string();
    if (!merged) return {};
    EXPECT_FALSE(merged->whole);
    auto back = policy_from_ad(merged->objects, dn_of(("ipsecPolicy" + edited.id.to_string()).c_str()));
    EXPECT_TRUE(back) << back.error().to_string();
    return merged->objects;
  }
  // The DNs of the merged objects that are new or differ from the stored ones.
  std::vector<std::string> changed(const std::vector<AdObject>& merged) const {
    std::vector<std::string> out;
    for (const auto& o : merged) {
      const auto* old = find_stored(o.dn);
      if (old == nullptr || !(o == *old)) out.push_back(o.dn);
    }
    return out;
  }
  static std::vector<std::size_t> differing_bytes(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      if (i >= a.size() || i >= b.size() || a[i] != b[i]) out.push_back(i);
    }
    return out;
  }
  static const AdObject& in(const std::vector<AdObject>& objects, const std::string& dn) {
    for (const auto& o : objects) {
      if (normalized_dn(o.dn) == normalized_dn(dn)) return o;
    }
    throw std::runtime_error("no merged object " + dn);
  }
  std::vector<AdObject> stored_;
};

TEST_F(WindowsPolicyEdit, AnUneditedPolicyWritesBackExactlyAsStored) {
  for (const char* rdn : {"ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}", "ipsecPolicy{72385236-70FA-11D1-864C-14A300000000}",
                          "ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}"}) {
    const auto policy = read(rdn);
    const auto merged = merge(policy, policy);
    EXPECT_TRUE(changed(merged).empty()) << rdn << ": " << changed(merged).front();
  }
}

// The ISAKMP object keeps its instance GUID (not its ipsecID), its MM-Lifetime of 0, the 0xCD fill
// of every method and its absent ipsecName when only Master-PFS changes.
TEST_F(WindowsPolicyEdit, MasterKeyPfsChangesFourBytesOfTheIsakmpBlob) {
  const auto policy = read("ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}");
  auto edited = policy;
  edited.key_exchange.master_key_pfs = !policy.key_exchange.master_key_pfs;
  const auto merged = merge(policy, edited);
  const std::string isakmp = dn_of("ipsecISAKMPPolicy{72385231-70FA-11D1-864C-14A300000000}");
  ASSERT_EQ(changed(merged), std::vector<std::string>{isakmp});
  const auto& before = stored(isakmp);
  const auto& after = in(merged, isakmp);
  EXPECT_EQ(after.ipsec_name, "");
  EXPECT_EQ(after.ipsec_data_type, 598u);
  EXPECT_EQ(differing_bytes(before.ipsec_data, after.ipsec_data), std::vector<std::size_t>{40});  // Master-PFS-Required
}

// A lifetime of one offer: the 4 bytes of Lifetime-Seconds of that offer, nothing else (the other
// offers, their stale slots, the fall-back-to-clear offer with its 0 lifetimes stay).
TEST_F(WindowsPolicyEdit, AnOfferLifetimeChangesOnlyItsFourBytes) {
  const auto policy = read("ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}");
  auto edited = policy;
  model::FilterAction* action = nullptr;
  for (auto& a : edited.filter_actions) {
    if (a.name == "Request Security (Optional)") action = &a;
  }
  ASSERT_NE(action, nullptr);
  action->security_methods[1].lifetime_seconds = 1800;
  const auto merged = merge(policy, edited);
  const std::string negotiation = dn_of("ipsecNegotiationPolicy{72385233-70FA-11D1-864C-14A300000000}");
  ASSERT_EQ(changed(merged), std::vector<std::string>{negotiation});
  const auto diff = differing_bytes(stored(negotiation).ipsec_data, in(merged, negotiation).ipsec_data);
  // Offer 1 starts at 24 + 80; its Lifetime-Seconds is its first u32 (900 -> 1800 differ in 2 bytes).
  ASSERT_FALSE(diff.empty());
  for (const auto at : diff) {
    EXPECT_GE(at, 24u + 80u);
    EXPECT_LT(at, 24u + 80u + 4u);
  }
}

// The default response action's offers all carry lifetimes of 0 ("default"); switching quick mode
// PFS on rewrites PFS-QM-Required of each offer and keeps the zeros (Ward reads them as 3600 s).
TEST_F(WindowsPolicyEdit, QuickModePfsKeepsDefaultLifetimesOfZero) {
  const auto policy = read("ipsecPolicy{72385236-70FA-11D1-864C-14A300000000}");
  auto edited = policy;
  ASSERT_EQ(edited.filter_actions.size(), 1u);
  edited.filter_actions[0].quick_mode_pfs = true;
  const auto merged = merge(policy, edited);
  const std::string negotiation = dn_of("ipsecNegotiationPolicy{59319C01-5EE3-11D2-ACE8-0060B0ECCA17}");
  ASSERT_EQ(changed(merged), std::vector<std::string>{negotiation});
  const auto diff = differing_bytes(stored(negotiation).ipsec_data, in(merged, negotiation).ipsec_data);
  ASSERT_FALSE(diff.empty());
  for (const auto at : diff) EXPECT_EQ((at - 24) % 80, 12u) << at;  // PFS-QM-Required's first byte
}

TEST_F(WindowsPolicyEdit, ThePolicyDescriptionChangesOnlyThatAttribute) {
  const auto policy = read("ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}");
  auto edited = policy;
  edited.description = "Changed by ward-dir";
  const auto merged = merge(policy, edited);
  const std::string dn = dn_of("ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}");
  ASSERT_EQ(changed(merged), std::vector<std::string>{dn});
  auto expected = stored(dn);
  expected.description = "Changed by ward-dir";
  EXPECT_EQ(in(merged, dn), expected);
}

// A rule's filter action: the NFA's reference and the two actions' owners change; the shared
// Permit action keeps the owner it has from the other policy.
TEST_F(WindowsPolicyEdit, ARulesFilterActionMovesReferenceAndOwnersOnly) {
  const auto policy = read("ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}");
  auto edited = policy;
  model::Rule* rule = nullptr;
  const model::FilterAction* permit = nullptr;
  for (auto& r : edited.rules) {
    if (r.name == "Request Security (Optional) Rule") rule = &r;
  }
  for (const auto& a : edited.filter_actions) {
    if (a.name == "Permit") permit = &a;
  }
  ASSERT_NE(rule, nullptr);
  ASSERT_NE(permit, nullptr);
  rule->filter_action = permit->id;
  const auto merged = merge(policy, edited);
  const std::string nfa = dn_of("ipsecNFA{72385232-70FA-11D1-864C-14A300000000}");
  const std::string permit_dn = dn_of("ipsecNegotiationPolicy{7238523B-70FA-11D1-864C-14A300000000}");
  auto changes = changed(merged);
  std::sort(changes.begin(), changes.end());
  std::vector<std::string> expected_changes{nfa, permit_dn};
  std::sort(expected_changes.begin(), expected_changes.end());
  EXPECT_EQ(changes, expected_changes);
  auto nfa_expected = stored(nfa);
  nfa_expected.negotiation_policy_reference = permit_dn;
  EXPECT_EQ(in(merged, nfa), nfa_expected);
  const auto& owners = in(merged, permit_dn).owners_references;
  EXPECT_EQ(owners.size(), stored(permit_dn).owners_references.size() + 1);
  for (const auto& owner : stored(permit_dn).owners_references) {
    EXPECT_NE(std::find(owners.begin(), owners.end(), owner), owners.end()) << owner;
  }
  EXPECT_EQ(in(merged, permit_dn).ipsec_data, stored(permit_dn).ipsec_data);
}

// New objects (a new rule with its own filter list) are written as Ward writes them.
TEST_F(WindowsPolicyEdit, ANewRuleIsWardsOwnFormNextToUntouchedWindowsObjects) {
  const auto policy = read("ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}");
  auto edited = policy;
  model::FilterList list;
  list.id = model::testing::guid("{0F0E0D0C-0B0A-0908-0706-050403020100}");
  list.name = "Web";
  model::Filter web;
  web.id = model::testing::guid("{1F0E0D0C-0B0A-0908-0706-050403020100}");
  web.source = model::AddressSpec::my_address();
  web.protocol = model::ip_protocol::kTcp;
  web.destination_ports = PortRange::single(443);
  list.filters.push_back(web);
  edited.filter_lists.push_back(list);
  model::Rule rule = edited.rules.front();
  rule.id = model::testing::guid("{2F0E0D0C-0B0A-0908-0706-050403020100}");
  rule.name = "Web";
  rule.default_response = false;
  rule.filter_list = list.id;
  edited.rules.push_back(rule);
  const auto merged = merge(policy, edited);
  auto changes = changed(merged);
  EXPECT_EQ(changes.size(), 4u);  // the policy (NFA reference), the new NFA, the new filter, the action's owners
}

}  // namespace
}  // namespace ward::adblob::object_merge_test
