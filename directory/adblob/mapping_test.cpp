// Model <-> AD objects: the Legal example survives the round trip exactly, the Windows defaults
// read as the policies Windows shows, and broken directories give errors naming DN and attribute.
#include <gtest/gtest.h>

#include "directory/adblob/filter_blob.h"
#include "directory/adblob/isakmp_blob.h"
#include "directory/adblob/ldif_test_support.h"
#include "directory/adblob/windows_defaults_support.h"
#include "directory/adblob/negotiation_guids.h"
#include "directory/adblob/policy_from_ad.h"
#include "directory/adblob/policy_to_ad.h"
#include "directory/adblob/ward_extension.h"
#include "directory/model/test_support.h"
#include "directory/model/validation.h"

namespace ward::adblob {
namespace {

using model::testing::guid;
using testing::load_windows_defaults;
using testing::windows_dn;
constexpr std::string_view kDomain = "DC=ward,DC=example";

model::Policy round_trip(const model::Policy& policy) {
  const auto objects = policy_to_ad(policy, kDomain);
  EXPECT_TRUE(objects.has_value());
  const auto back = policy_from_ad(*objects, ipsec_dn(AdClass::Policy, policy.id, kDomain));
  EXPECT_TRUE(back.has_value()) << back.error().to_string();
  return back.has_value() ? *back : model::Policy{};
}

const AdObject& find(const std::vector<AdObject>& objects, AdClass c, std::size_t nth = 0) {
  for (const auto& o : objects) {
    if (o.object_class == c && nth-- == 0) return o;
  }
  throw std::runtime_error("no such object");
}

TEST(PolicyToAd, TheLegalExampleBecomesEightLinkedObjects) {
  const auto policy = model::testing::load_example_policy("legal-policy.json");
  const auto objects = policy_to_ad(policy, kDomain);
  ASSERT_TRUE(objects.has_value());
  ASSERT_EQ(objects->size(), 8u);
  const auto& p = find(*objects, AdClass::Policy);
  EXPECT_EQ(p.dn, "CN=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE},CN=IP Security,CN=System,DC=ward,DC=example");
  EXPECT_EQ(p.ipsec_data_type, 598u);
  EXPECT_EQ(p.ipsec_data.size(), 25u);  // no extension needed: the legacy flag matches the algorithms
  EXPECT_EQ(p.nfa_references.size(), 2u);
  const auto& isakmp = find(*objects, AdClass::IsakmpPolicy);
  EXPECT_EQ(p.isakmp_reference, isakmp.dn);
  EXPECT_EQ(isakmp.owners_references, std::vector<std::string>{p.dn});
  // AES/SHA-256/ECP-256 has no Windows field; AES-128/SHA-1/group 14 only lacks AES.
  const auto blob = decode_isakmp_blob(isakmp.ipsec_data);
  ASSERT_TRUE(blob.has_value());
  EXPECT_TRUE(blob->methods.empty());
  EXPECT_GT(blob->trailer.size(), 1u);
  EXPECT_EQ(blob->trailer.front(), std::byte{0});
  const auto& nfa = find(*objects, AdClass::Nfa);
  EXPECT_EQ(nfa.owners_references, std::vector<std::string>{p.dn});
  ASSERT_EQ(nfa.filter_references.size(), 1u);
  const auto& action = find(*objects, AdClass::NegotiationPolicy);
  EXPECT_EQ(action.negotiation_policy_type, negotiation_type::kStandard.to_string());
  EXPECT_EQ(action.negotiation_policy_action, negotiation_action::kSecure.to_string());
  EXPECT_EQ(action.owners_references, std::vector<std::string>{nfa.dn});
  const auto filter = decode_filter_blob(find(*objects, AdClass::Filter).ipsec_data);
  ASSERT_TRUE(filter.has_value());
  EXPECT_FALSE(filter->v2.has_value());  // IPv4 subnets fit the legacy part
  EXPECT_EQ(filter->legacy_filters[0].source_address, (std::array<std::uint8_t, 4>{10, 20, 1, 0}));
  EXPECT_EQ(filter->legacy_filters[0].source_mask, (std::array<std::uint8_t, 4>{255, 255, 255, 0}));
}

TEST(PolicyToAd, TheLegalExampleRoundTripsLosslessly) {
  const auto policy = model::testing::load_example_policy("legal-policy.json");
  EXPECT_EQ(round_trip(policy), policy);
}

TEST(PolicyToAd, EveryModelFeatureRoundTrips) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.polling_interval_minutes = 15;
  policy.allow_legacy_algorithms = true;  // stored in the Ward extension: nothing legacy is used
  policy.key_exchange.master_key_pfs = true;
  policy.key_exchange.quick_mode_limit = 5;
  policy.key_exchange.lifetime_minutes = 120;
  auto& list = policy.filter_lists[0];
  list.filters.push_back({guid("{11111111-2222-3333-4444-555555555555}"), "IPv6 web",
                          model::AddressSpec::my_address(), model::AddressSpec::subnet(*model::IpPrefix::parse("2001:db8::/32")),
                          model::ip_protocol::kTcp, model::PortRange::any(), model::PortRange{8000, 8080}, false});
  list.filters.push_back({guid("{11111111-2222-3333-4444-555555555556}"), "DNS", model::AddressSpec::host(*model::IpAddress::parse("10.20.1.5")),
                          {model::AddressKind::DnsServers, std::nullopt, {}}, model::ip_protocol::kUdp,
                          model::PortRange::any(), model::PortRange::single(53), true});
  list.filters.push_back({guid("{11111111-2222-3333-4444-555555555557}"), "named host", model::AddressSpec::any(),
                          model::AddressSpec::dns("files.legal.example"), 0, model::PortRange::any(), model::PortRange::any(), true});
  auto& action = policy.filter_actions[1];
  action.accept_unsecured = true;
  action.fallback_to_unsecured = true;
  action.quick_mode_pfs = true;
  policy.filter_actions[0].kind = model::ActionKind::Block;
  policy.filter_actions[0].security_methods.clear();
  auto& rule = policy.rules[1];
  rule.auth_methods = {model::AuthMethod::certificate("CN=Legal Root CA"), model::AuthMethod::preshared("a long enough shared secret"),
                       model::AuthMethod::kerberos()};
  rule.tunnel_endpoint = *model::IpAddress::parse("2001:db8::1");
  rule.connection_type = model::ConnectionType::Lan;
  rule.active = false;
  policy.rules[0].tunnel_endpoint = *model::IpAddress::parse("192.0.2.1");
  policy.rules[0].connection_type = model::ConnectionType::RemoteAccess;
  EXPECT_EQ(round_trip(policy), policy);
  // The IPv6 filter and the port range need part 2; the legacy part keeps what it can hold.
  const auto objects = policy_to_ad(policy, kDomain);
  const auto filter = decode_filter_blob(find(*objects, AdClass::Filter).ipsec_data);
  ASSERT_TRUE(filter.has_value() && filter->v2.has_value());
  EXPECT_EQ(filter->v2->filters.size(), 4u);
  EXPECT_EQ(filter->legacy_filters.size(), 3u);
}

TEST(PolicyToAd, WindowsExpressibleAlgorithmsNeedNoExtension) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.allow_legacy_algorithms = true;
  policy.key_exchange.methods = {{model::Cipher::TripleDes, model::Integrity::Sha1, model::DhGroup::Modp2048}};
  policy.filter_actions[1].security_methods = {{std::nullopt, model::EspTransform{model::Cipher::TripleDes, model::Integrity::Sha1}, 100000, 900},
                                               {model::AhTransform{model::Integrity::Sha1}, model::EspTransform{model::Cipher::TripleDes, model::Integrity::Md5}, 50000, 300}};
  const auto objects = policy_to_ad(policy, kDomain);
  ASSERT_TRUE(objects.has_value());
  const auto isakmp = decode_isakmp_blob(find(*objects, AdClass::IsakmpPolicy).ipsec_data);
  ASSERT_TRUE(isakmp.has_value());
  ASSERT_EQ(isakmp->methods.size(), 1u);
  EXPECT_EQ(isakmp->methods[0].oakley_group, isakmp_code::kGroup14);
  EXPECT_EQ(isakmp->trailer, std::vector<std::byte>{std::byte{0}});
  const auto back = policy_from_ad(*objects, find(*objects, AdClass::Policy).dn);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->key_exchange, policy.key_exchange);
  EXPECT_EQ(back->filter_actions[1], policy.filter_actions[1]);
}

TEST(PolicyFromAd, ReadsSecureServerAsWindowsShowsIt) {
  const auto objects = load_windows_defaults();
  const auto policy = policy_from_ad(objects, windows_dn("ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}"));
  ASSERT_TRUE(policy.has_value()) << policy.error().to_string();
  EXPECT_EQ(policy->name, "Secure Server (Require Security)");
  EXPECT_EQ(policy->polling_interval_minutes, 180u);
  EXPECT_TRUE(policy->allow_legacy_algorithms);
  EXPECT_EQ(policy->key_exchange.lifetime_minutes, 480u);
  ASSERT_EQ(policy->key_exchange.methods.size(), 4u);
  EXPECT_EQ(policy->key_exchange.methods[0],
            (model::KeyExchangeMethod{model::Cipher::TripleDes, model::Integrity::Sha1, model::DhGroup::Modp1024}));
  EXPECT_EQ(policy->key_exchange.methods[3], (model::KeyExchangeMethod{model::Cipher::Des, model::Integrity::Md5, model::DhGroup::Modp768}));
  ASSERT_EQ(policy->rules.size(), 3u);
  const auto& icmp = policy->rules[0];
  EXPECT_EQ(icmp.name, "Permit unsecure ICMP packets to pass through.");
  ASSERT_TRUE(icmp.filter_list.has_value());
  const auto* icmp_list = policy->find_filter_list(*icmp.filter_list);
  ASSERT_NE(icmp_list, nullptr);
  EXPECT_EQ(icmp_list->name, "All ICMP Traffic");
  EXPECT_EQ(icmp_list->filters[0].protocol, model::ip_protocol::kIcmp);
  EXPECT_EQ(policy->find_filter_action(icmp.filter_action)->kind, model::ActionKind::Permit);
  const auto& response = policy->rules[1];
  EXPECT_TRUE(response.default_response);
  EXPECT_FALSE(response.filter_list.has_value());
  EXPECT_EQ(response.auth_methods, std::vector<model::AuthMethod>{model::AuthMethod::kerberos()});
  const auto* response_action = policy->find_filter_action(response.filter_action);
  EXPECT_EQ(response_action->kind, model::ActionKind::Negotiate);
  EXPECT_EQ(response_action->security_methods.size(), 6u);
  EXPECT_EQ(response_action->security_methods[0].lifetime_seconds, 3600u);  // 0 in the blob: the default
  const auto& all = policy->rules[2];
  const auto* all_list = policy->find_filter_list(*all.filter_list);
  EXPECT_EQ(all_list->name, "All IP Traffic");
  ASSERT_EQ(all_list->filters.size(), 1u);
  EXPECT_EQ(all_list->filters[0].source, model::AddressSpec::my_address());
  EXPECT_EQ(all_list->filters[0].destination, model::AddressSpec::any());
  EXPECT_TRUE(all_list->filters[0].mirrored);
  const auto* require = policy->find_filter_action(all.filter_action);
  EXPECT_EQ(require->name, "Require Security");
  EXPECT_TRUE(require->accept_unsecured);
  EXPECT_FALSE(require->fallback_to_unsecured);
  ASSERT_EQ(require->security_methods.size(), 4u);
  EXPECT_EQ(require->security_methods[2].esp, (model::EspTransform{model::Cipher::Des, model::Integrity::Sha1}));
  EXPECT_EQ(require->security_methods[0].lifetime_seconds, 900u);
  // Re-written by Ward and read back, it is the same policy.
  EXPECT_EQ(round_trip(*policy), *policy);
}

TEST(PolicyFromAd, RequestSecurityFallsBackToClear) {
  const auto objects = load_windows_defaults();
  for (const char* rdn : {"ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}", "ipsecPolicy{72385236-70FA-11D1-864C-14A300000000}"}) {
    const auto policy = policy_from_ad(objects, windows_dn(rdn));
    ASSERT_TRUE(policy.has_value()) << policy.error().to_string();
    if (policy->name == "Server (Request Security)") {
      const auto* action = policy->find_filter_action(policy->rules[2].filter_action);
      EXPECT_EQ(action->name, "Request Security (Optional)");
      EXPECT_TRUE(action->accept_unsecured);
      EXPECT_TRUE(action->fallback_to_unsecured);
      EXPECT_EQ(action->security_methods.size(), 4u);
    } else {
      EXPECT_EQ(policy->name, "Client (Respond Only)");
      ASSERT_EQ(policy->rules.size(), 1u);
      EXPECT_TRUE(policy->rules[0].default_response);
    }
  }
}

// The three Windows default policies as Windows ships them: weak offers (DES, group 1) are
// skipped with warnings and the unnamed default response rules are valid, so Ward applies them.
TEST(PolicyFromAd, TheWindowsDefaultPoliciesValidateWithWarningsOnly) {
  const auto objects = load_windows_defaults();
  for (const char* rdn : {"ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}", "ipsecPolicy{72385236-70FA-11D1-864C-14A300000000}",
                          "ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}"}) {
    const auto policy = policy_from_ad(objects, windows_dn(rdn));
    ASSERT_TRUE(policy.has_value()) << policy.error().to_string();
    SCOPED_TRACE(policy->name);
    const auto problems = model::validate(*policy);
    std::string all;
    for (const auto& p : problems) all += p.to_string() + "\n";
    EXPECT_FALSE(model::has_errors(problems)) << all;
    // Key exchange methods 3 and 4 (DES/group 1) are the warnings every one of them has.
    EXPECT_NE(all.find("key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken"), std::string::npos) << all;
    EXPECT_NE(all.find("key exchange method 4 (DES/MD5/group 1) skipped: DES is broken"), std::string::npos) << all;
    EXPECT_EQ(all.find("3DES is legacy"), std::string::npos) << "the blobs imply allow_legacy_algorithms\n" << all;
    EXPECT_NE(all.find("filter action \"<default response>\""), std::string::npos) << all;
  }
}

class BrokenDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = model::testing::load_example_policy("legal-policy.json");
    objects_ = *policy_to_ad(policy_, kDomain);
    policy_dn_ = find(objects_, AdClass::Policy).dn;
  }
  MappingError read_error() {
    const auto result = policy_from_ad(objects_, policy_dn_);
    EXPECT_FALSE(result.has_value());
    return result.has_value() ? MappingError{} : result.error();
  }
  model::Policy policy_;
  std::vector<AdObject> objects_;
  std::string policy_dn_;
};

TEST_F(BrokenDirectory, ADanglingReferenceNamesDnAndAttribute) {
  objects_.erase(objects_.begin() + 2);  // the first NFA
  const auto e = read_error();
  EXPECT_EQ(e.dn, policy_dn_);
  EXPECT_EQ(e.attribute, "ipsecNFAReference");
  EXPECT_NE(e.message.find("not among the objects read"), std::string::npos);
}

TEST_F(BrokenDirectory, AReferenceBackToThePolicyIsRefusedNotFollowed) {
  objects_[2].negotiation_policy_reference = policy_dn_;  // NFA -> policy: would be a loop
  const auto e = read_error();
  EXPECT_EQ(e.dn, objects_[2].dn);
  EXPECT_EQ(e.attribute, "ipsecNegotiationPolicyReference");
  EXPECT_NE(e.message.find("expected ipsecNegotiationPolicy"), std::string::npos);
}

TEST_F(BrokenDirectory, APolicyListingAnNfaTwiceIsRefused) {
  objects_[0].nfa_references.push_back(objects_[0].nfa_references.front());
  EXPECT_EQ(read_error().attribute, "ipsecNFAReference");
}

TEST_F(BrokenDirectory, ATruncatedBlobGivesTheByteOffset) {
  auto& filter = objects_.back();
  filter.ipsec_data.resize(40);
  const auto e = read_error();
  EXPECT_EQ(e.dn, filter.dn);
  EXPECT_EQ(e.attribute, "ipsecData");
  ASSERT_TRUE(e.offset.has_value());
  EXPECT_GT(*e.offset, 20u);
}

TEST_F(BrokenDirectory, ABrokenExtensionRecordIsAnError) {
  auto& isakmp = objects_[1];
  isakmp.ipsec_data[isakmp.ipsec_data.size() - 4] = std::byte{0x77};  // cipher code of the last method
  const auto e = read_error();
  EXPECT_EQ(e.dn, isakmp.dn);
  EXPECT_TRUE(e.offset.has_value());
}

TEST_F(BrokenDirectory, OtherAttributeErrors) {
  objects_[1].ipsec_id = "not a guid";
  EXPECT_EQ(read_error().attribute, "ipsecID");
  SetUp();
  objects_[0].ipsec_data_type = 7;
  EXPECT_EQ(read_error().attribute, "ipsecDataType");
  SetUp();
  objects_[0].isakmp_reference.reset();
  EXPECT_EQ(read_error().attribute, "ipsecISAKMPReference");
  SetUp();
  objects_.push_back(objects_[3]);
  EXPECT_EQ(read_error().attribute, "distinguishedName");
  SetUp();
  objects_[4].negotiation_policy_action = "{00000000-0000-0000-0000-000000000000}";
  EXPECT_EQ(read_error().attribute, "iPSECNegotiationPolicyAction");
  SetUp();
  policy_dn_ = objects_[1].dn;
  EXPECT_EQ(read_error().attribute, "objectClass");
}

}  // namespace
}  // namespace ward::adblob
