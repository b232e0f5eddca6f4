// Byte-exact write-back of Windows' own policies, checked the same way on a Samba AD DC (which
// provisions Windows' default IP Security objects) and on slapd (loaded with the same objects from
// tests/data/ad/windows-default-ipsec.ldif): each edit is made with the ward-dir binary, and every
// object under CN=IP Security is compared before and after - every attribute, every ipsecData byte.
// Only what the edit meant to change may differ.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "directory/adblob/ad_object.h"
#include "directory/adblob/negotiation_blob.h"
#include "directory/ldap/session.h"
#include "directory/store/ad_entry.h"
#include "tests/harness/process.h"

namespace ward::test {

using WardDir = std::function<CapturedRun(const std::vector<std::string>&)>;

// normalized DN -> attribute -> values (a set: AD does not keep the order of multi-valued ones)
using Snapshot = std::map<std::string, std::map<std::string, std::set<std::string>>>;

// The GUID families of Windows' 22 default objects (other tests' policies share the container).
inline bool is_windows_default(const std::string& normalized_dn) {
  for (const char* family : {"-70fa-11d1-864c-14a300000000}", "-5ee3-11d2-ace8-0060b0ecca17}",
                             "-071d-11d3-ad22-0060b0ecca17}", "-72b7-11d2-acf0-0060b0ecca17}"}) {
    if (normalized_dn.find(family) != std::string::npos) return true;
  }
  return false;
}

// The Windows default objects under CN=IP Security, every IPsec attribute.
inline Snapshot snapshot(ldap::Session& session, const std::string& domain_dn) {
  auto attributes = store::ipsec_attribute_names();
  auto entries = session.search({adblob::ip_security_container(domain_dn), ldap::Scope::kOneLevel, "(objectClass=*)",
                                 attributes, 500});
  EXPECT_TRUE(entries) << entries.error().to_string();
  Snapshot out;
  if (!entries) return out;
  for (const auto& entry : *entries) {
    if (!is_windows_default(adblob::normalized_dn(entry.dn))) continue;
    auto& object = out[adblob::normalized_dn(entry.dn)];
    for (const auto& [name, values] : entry.attributes) {
      std::string key = name;
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
      for (const auto& value : values) {
        // DN values compare normalized (AD may return another case or spacing).
        const bool dn_valued = key.find("reference") != std::string::npos;
        object[key].insert(dn_valued ? adblob::normalized_dn(value) : value);
      }
    }
  }
  return out;
}

// What changed between two snapshots: "dn|attribute" for every attribute that differs.
inline std::set<std::string> differences(const Snapshot& before, const Snapshot& after) {
  std::set<std::string> out;
  std::set<std::string> dns;
  for (const auto& [dn, _] : before) dns.insert(dn);
  for (const auto& [dn, _] : after) dns.insert(dn);
  for (const auto& dn : dns) {
    const auto b = before.find(dn);
    const auto a = after.find(dn);
    if (b == before.end() || a == after.end()) {
      out.insert(dn + "|" + (b == before.end() ? "(added)" : "(deleted)"));
      continue;
    }
    std::set<std::string> names;
    for (const auto& [name, _] : b->second) names.insert(name);
    for (const auto& [name, _] : a->second) names.insert(name);
    for (const auto& name : names) {
      const auto bv = b->second.find(name);
      const auto av = a->second.find(name);
      const bool same = (bv == b->second.end() && av == a->second.end()) ||
                        (bv != b->second.end() && av != a->second.end() && bv->second == av->second);
      if (!same) out.insert(dn + "|" + name);
    }
  }
  return out;
}

inline std::vector<std::byte> blob(const Snapshot& s, const std::string& dn) {
  const auto& values = s.at(adblob::normalized_dn(dn)).at("ipsecdata");
  const std::string& text = *values.begin();
  std::vector<std::byte> out;
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

inline std::string ip_security_dn(const std::string& rdn, const std::string& domain_dn) {
  return "CN=" + rdn + "," + adblob::ip_security_container(domain_dn);
}

// The edits, each with the exact set of attributes it may change.
inline void check_windows_write_back(ldap::Session& admin, const std::string& domain_dn, const WardDir& ward_dir) {
  const auto dn = [&](const std::string& rdn) { return adblob::normalized_dn(ip_security_dn(rdn, domain_dn)); };
  const Snapshot original = snapshot(admin, domain_dn);
  ASSERT_EQ(original.size(), 22u) << "the Windows default IP Security objects";

  // 1. The policy description: one attribute of one object.
  {
    const auto before = snapshot(admin, domain_dn);
    auto run = ward_dir({"policy", "set", "Secure Server (Require Security)", "--description", "Edited by ward-dir"});
    ASSERT_EQ(run.exit_code, 0) << run.describe();
    const auto after = snapshot(admin, domain_dn);
    EXPECT_EQ(differences(before, after),
              (std::set<std::string>{dn("ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}") + "|description"}));
  }
  // 2. A filter action's lifetime: only the Lifetime-Seconds of its security offers (not the
  //    fall-back-to-clear offer, whose 0 stays), every other byte - stale slots too - as Windows wrote it.
  {
    const auto before = snapshot(admin, domain_dn);
    auto run = ward_dir({"filteraction", "set", "Server (Request Security)", "Request Security (Optional)", "--lifetime", "1800"});
    ASSERT_EQ(run.exit_code, 0) << run.describe();
    const auto after = snapshot(admin, domain_dn);
    const std::string negotiation = dn("ipsecNegotiationPolicy{72385233-70FA-11D1-864C-14A300000000}");
    EXPECT_EQ(differences(before, after), (std::set<std::string>{negotiation + "|ipsecdata"}));
    const auto old_blob = blob(before, negotiation);
    const auto new_blob = blob(after, negotiation);
    ASSERT_EQ(old_blob.size(), new_blob.size());
    auto old_offers = adblob::decode_negotiation_blob(old_blob);
    auto new_offers = adblob::decode_negotiation_blob(new_blob);
    ASSERT_TRUE(old_offers && new_offers);
    for (std::size_t i = 0; i < old_offers->offers.size(); ++i) {
      auto expected = old_offers->offers[i];
      if (expected.algorithm_count > 0) expected.lifetime_seconds = 1800;
      EXPECT_EQ(new_offers->offers[i], expected) << "offer " << i;
    }
    for (std::size_t at = 0; at < old_blob.size(); ++at) {
      if (old_blob[at] == new_blob[at]) continue;
      EXPECT_GE(at, 24u) << at;
      EXPECT_LT((at - 24) % 80, 4u) << "byte " << at << " is not in a Lifetime-Seconds field";
    }
  }
  // 3. Quick mode PFS on the default response action (lifetimes 0 = "default", no ipsecName):
  //    PFS-QM-Required of each offer, nothing else.
  {
    const auto before = snapshot(admin, domain_dn);
    auto run = ward_dir({"filteraction", "set", "Client (Respond Only)", "{59319C01-5EE3-11D2-ACE8-0060B0ECCA17}", "--pfs", "yes"});
    ASSERT_EQ(run.exit_code, 0) << run.describe();
    const auto after = snapshot(admin, domain_dn);
    const std::string negotiation = dn("ipsecNegotiationPolicy{59319C01-5EE3-11D2-ACE8-0060B0ECCA17}");
    EXPECT_EQ(differences(before, after), (std::set<std::string>{negotiation + "|ipsecdata"}));
    const auto old_blob = blob(before, negotiation);
    const auto new_blob = blob(after, negotiation);
    ASSERT_EQ(old_blob.size(), new_blob.size());
    for (std::size_t at = 0; at < old_blob.size(); ++at) {
      if (old_blob[at] != new_blob[at]) {
        EXPECT_EQ((at - 24) % 80, 12u) << "byte " << at;
      }
    }
    EXPECT_FALSE(after.at(negotiation).contains("ipsecname"));
  }
  // 4. A rule's filter action: the rule's reference and the two actions' owners. Permit is
  //    shared with "Server (Request Security)": it stays, with that policy's rule as owner.
  {
    const auto before = snapshot(admin, domain_dn);
    auto run = ward_dir({"rule", "set", "Secure Server (Require Security)", "{594272FD-071D-11D3-AD22-0060B0ECCA17}",
                         "--filteraction", "Require Security"});
    ASSERT_EQ(run.exit_code, 0) << run.describe();
    const auto after = snapshot(admin, domain_dn);
    const std::string nfa = dn("ipsecNFA{594272FD-071D-11D3-AD22-0060B0ECCA17}");
    const std::string require = dn("ipsecNegotiationPolicy{7238523F-70FA-11D1-864C-14A300000000}");
    const std::string permit = dn("ipsecNegotiationPolicy{7238523B-70FA-11D1-864C-14A300000000}");
    EXPECT_EQ(differences(before, after),
              (std::set<std::string>{nfa + "|ipsecnegotiationpolicyreference", require + "|ipsecownersreference",
                                     permit + "|ipsecownersreference"}));
    EXPECT_EQ(after.at(nfa).at("ipsecnegotiationpolicyreference"), std::set<std::string>{require});
    EXPECT_EQ(after.at(permit).at("ipsecownersreference"),
              std::set<std::string>{dn("ipsecNFA{594272E2-071D-11D3-AD22-0060B0ECCA17}")});
    auto owners = before.at(require).at("ipsecownersreference");
    owners.insert(nfa);
    EXPECT_EQ(after.at(require).at("ipsecownersreference"), owners);
  }
  // Over all four edits: nothing else anywhere changed (the ISAKMP instance GUIDs, 0xCD fill,
  // ipsecDataType 598, the Version Information object...).
  EXPECT_EQ(differences(original, snapshot(admin, domain_dn)).size(), 6u);
}

}  // namespace ward::test
