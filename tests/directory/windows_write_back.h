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
#include "tests/directory/ipsec_snapshot.h"
#include "tests/harness/process.h"

namespace ward::test {

using WardDir = std::function<CapturedRun(const std::vector<std::string>&)>;

// The Windows default objects under CN=IP Security, every IPsec attribute.
inline Snapshot snapshot(ldap::Session& session, const std::string& domain_dn) {
  std::string error;
  auto taken = try_snapshot(session, domain_dn, &error);
  EXPECT_TRUE(taken) << error;
  return taken ? *taken : Snapshot{};
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
