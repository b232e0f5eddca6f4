// The offers a policy becomes on this host (offers.h), first on Windows' own "Secure Server
// (Require Security)" policy read from its real AD blobs: Ward offers exactly what Windows offers,
// in Windows' order, minus DES and DH group 1; then the host that forbids legacy algorithms, where
// every rule that negotiates fails closed.
#include "agent/ikebridge/offers.h"

#include <gtest/gtest.h>

#include "agent/ikebridge/ike_bridge.h"
#include "directory/adblob/policy_from_ad.h"
#include "directory/adblob/windows_defaults_support.h"
#include "directory/model/validation.h"
#include "ike/auth/preshared_key.h"
#include "ike/service/refusal.h"

namespace ward::agent::ikebridge {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;
using ike::sa::AhProposal;
using ike::sa::EspProposal;
using ike::sa::Phase1Proposal;
using ike::sa::ProtectionSuite;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kServer = ip("10.30.0.1");
const IpAddress kClient = ip("10.30.0.2");

model::Policy secure_server() {
  const auto objects = adblob::testing::load_windows_defaults();
  auto policy = adblob::policy_from_ad(objects, adblob::testing::windows_dn(adblob::testing::kSecureServerPolicy));
  EXPECT_TRUE(policy.has_value()) << policy.error().to_string();
  return policy.has_value() ? *policy : model::Policy{};
}

bool same_phase1(const Phase1Proposal& a, const Phase1Proposal& b) { return a.same_algorithms(b) && a.lifetime == b.lifetime; }

// Windows' main mode offers 3DES/SHA-1/G2, 3DES/MD5/G2, DES/SHA-1/G1, DES/MD5/G1 (FINDINGS.md).
const std::vector<Phase1Proposal> kWindowsMainModeWithoutDes{
    {ike::IkeEncryptionAlgorithm::TripleDesCbc, 0, ike::IkeHashAlgorithm::Sha, ike::IkeGroupDescription::Modp1024, 28800s},
    {ike::IkeEncryptionAlgorithm::TripleDesCbc, 0, ike::IkeHashAlgorithm::Md5, ike::IkeGroupDescription::Modp1024, 28800s}};

void expect_windows_main_mode(const std::vector<Phase1Proposal>& proposals) {
  ASSERT_EQ(proposals.size(), kWindowsMainModeWithoutDes.size());
  for (std::size_t i = 0; i < proposals.size(); ++i) EXPECT_TRUE(same_phase1(proposals[i], kWindowsMainModeWithoutDes[i])) << i;
}

TEST(WindowsSecureServer, ValidatesWithWarningsOnlyAndOffersWindowsListMinusDesInOrder) {
  const auto policy = secure_server();
  ASSERT_EQ(policy.name, "Secure Server (Require Security)");
  const auto problems = model::validate(policy);
  for (const auto& p : problems) EXPECT_EQ(p.severity, model::Severity::Warning) << p.to_string();

  const auto plan = plan_offers(policy, true);
  EXPECT_TRUE(plan.allow_legacy) << "the blobs offer legacy algorithms, so the policy allows them";
  expect_windows_main_mode(plan.main_mode);
  EXPECT_TRUE(plan.fail_closed.empty());

  // "Require Security": ESP 3DES/SHA-1, 3DES/MD5, DES/SHA-1, DES/MD5; the default response
  // action adds AH SHA-1 and AH MD5.
  const std::vector<ProtectionSuite> require{EspProposal{Cipher::TripleDesCbc, Integrity::HmacSha1_96},
                                             EspProposal{Cipher::TripleDesCbc, Integrity::HmacMd5_96}};
  std::vector<ProtectionSuite> response = require;
  response.push_back({AhProposal{Integrity::HmacSha1_96}, std::nullopt});
  response.push_back({AhProposal{Integrity::HmacMd5_96}, std::nullopt});
  ASSERT_EQ(plan.actions.size(), 2u);
  for (const auto& action : policy.filter_actions) {
    if (action.kind != model::ActionKind::Negotiate) continue;
    const auto planned = plan.actions.find(action.id);
    ASSERT_NE(planned, plan.actions.end()) << action.name;
    EXPECT_EQ(planned->second.proposals, action.name == "Require Security" ? require : response) << model::display_name(policy, action);
    EXPECT_TRUE(planned->second.allow_legacy);
    EXPECT_FALSE(planned->second.pfs_group.has_value());
  }
  const std::vector<SkippedOffer> skipped{
      {"key exchange settings", "key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken"},
      {"key exchange settings", "key exchange method 4 (DES/MD5/group 1) skipped: DES is broken"},
      {"filter action \"<default response>\"", "security method 3 (ESP DES/SHA-1) skipped: DES is broken"},
      {"filter action \"<default response>\"", "security method 4 (ESP DES/MD5) skipped: DES is broken"},
      {"filter action \"Require Security\"", "security method 3 (ESP DES/SHA-1) skipped: DES is broken"},
      {"filter action \"Require Security\"", "security method 4 (ESP DES/MD5) skipped: DES is broken"}};
  EXPECT_EQ(plan.skipped, skipped);
}

// What IKE is handed for the "All IP Traffic" rule, as initiator and as responder.
TEST(WindowsSecureServer, TheBridgeHandsIkeTheseOffers) {
  auto s = std::make_shared<BridgeSnapshot>();
  s->policy = secure_server();
  model::HostContext host;
  host.addresses = {kServer};
  s->compiled = model::compile(s->policy, host);
  s->offers = plan_offers(s->policy, true);
  EXPECT_EQ(enforce_fail_closed(s->compiled, s->offers), 0u);
  translate::FilterIds ids;
  s->translation = translate::translate(s->policy, s->compiled, ids);
  // The rules authenticate with Kerberos; a stand-in provider keeps this a unit test (the
  // Kerberos provider itself is ike/auth's, tested against a real KDC there).
  AuthFactory factory;
  factory.enable_kerberos(KerberosSettings{"/etc/krb5.keytab", "host/server@EXAMPLE.COM", {}},
                          [](const KerberosSettings&) -> Expected<AuthProviderPtr, std::string> {
                            return AuthProviderPtr(std::make_shared<ike::auth::PresharedKeyProvider>(
                                ike::auth::preshared_key_from_text("stand-in for Kerberos")));
                          });
  PolicyBridge bridge{std::move(factory)};
  bridge.replace(s);

  std::optional<std::uint32_t> all_traffic;
  for (const auto& [id, origin] : s->translation.origins) {
    if (origin.filter_list_name == "All IP Traffic") all_traffic = id;
  }
  ASSERT_TRUE(all_traffic.has_value());
  driver::Acquire acquire{*all_traffic, kClient, kServer, kClient, 6, 40000, 445};
  auto q = bridge.quick_mode_for_acquire(acquire);
  ASSERT_TRUE(q.has_value()) << q.error();
  EXPECT_EQ(q->proposals, (std::vector<ProtectionSuite>{EspProposal{Cipher::TripleDesCbc, Integrity::HmacSha1_96},
                                                        EspProposal{Cipher::TripleDesCbc, Integrity::HmacMd5_96}}));
  EXPECT_TRUE(q->allow_legacy);
  EXPECT_EQ(q->lifetime, 900s);
  for (const auto filter : {std::optional<std::uint32_t>(*all_traffic), std::optional<std::uint32_t>()}) {   // initiator, responder
    auto p1 = bridge.phase1_for(kServer, kClient, filter);
    ASSERT_TRUE(p1.has_value()) << p1.error();
    expect_windows_main_mode(p1->proposals);
    EXPECT_TRUE(p1->allow_legacy);
  }
  // As responder to a client's quick mode for TCP to this server.
  auto peer = bridge.quick_mode_for_peer(kServer, kClient, ike::sa::TrafficSelector{IpPrefix::host(kClient), 6, 0},
                                         ike::sa::TrafficSelector{IpPrefix::host(kServer), 6, 0});
  ASSERT_TRUE(peer.has_value()) << peer.error();
  EXPECT_EQ(peer->proposals, q->proposals);
}

TEST(WindowsSecureServer, AHostThatForbidsLegacyAlgorithmsBlocksWhatTheRulesWouldNegotiate) {
  auto policy = secure_server();
  const auto plan = plan_offers(policy, false);
  EXPECT_FALSE(plan.allow_legacy);
  EXPECT_TRUE(plan.main_mode.empty());
  EXPECT_EQ(plan.skipped.front().text,
            "key exchange method 1 (3DES/SHA-1/group 2) skipped: 3DES is legacy and legacy algorithms are not allowed");
  ASSERT_EQ(plan.fail_closed.size(), 2u) << "the default response rule and \"All IP Traffic\"'s rule; not the ICMP permit rule";
  EXPECT_EQ(plan.fail_closed[0].rule_name, "<default response>");
  EXPECT_NE(plan.fail_closed[1].reason.find("the key exchange settings have no usable method"), std::string::npos)
      << plan.fail_closed[1].reason;

  model::HostContext host;
  host.addresses = {kServer};
  auto table = model::compile(policy, host);
  std::size_t negotiate = 0;
  for (const auto& f : table.filters) negotiate += f.action == model::ActionKind::Negotiate ? 1 : 0;
  ASSERT_GT(negotiate, 0u);
  EXPECT_EQ(enforce_fail_closed(table, plan), negotiate);
  for (const auto& f : table.filters) {
    EXPECT_NE(f.action, model::ActionKind::Negotiate);
    if (policy.rules[f.rule_index].name.rfind("Permit unsecure ICMP", 0) == 0) {
      EXPECT_EQ(f.action, model::ActionKind::Permit);
    }
  }
  // ICMP still passes and wins over the now-blocking "all traffic" filter, as before.
  const auto icmp = model::first_match(table, model::PacketTuple{kServer, kClient, model::ip_protocol::kIcmp, 0, 0});
  ASSERT_TRUE(icmp.has_value());
  EXPECT_EQ(table.filters[*icmp].action, model::ActionKind::Permit);
}

TEST(OfferPlan, OnlyTheRulesOfAnActionLeftWithoutOffersFailClosed) {
  auto policy = secure_server();
  policy.allow_legacy_algorithms = false;
  // Main mode gets a modern method first; "Require Security" keeps only legacy ones.
  policy.key_exchange.methods.insert(policy.key_exchange.methods.begin(),
                                     {model::Cipher::Aes128Cbc, model::Integrity::Sha256, model::DhGroup::Modp2048});
  for (auto& action : policy.filter_actions) {
    if (action.name.empty()) {
      action.security_methods.insert(action.security_methods.begin(),
                                     {std::nullopt, model::EspTransform{model::Cipher::Aes128Gcm, model::Integrity::None}, 100000, 3600});
    }
  }
  const auto plan = plan_offers(policy, true);
  ASSERT_EQ(plan.main_mode.size(), 1u);
  ASSERT_EQ(plan.fail_closed.size(), 1u);
  EXPECT_EQ(policy.rules[plan.fail_closed[0].rule_index].name, "Require Security");
  EXPECT_EQ(plan.fail_closed[0].reason.rfind("filter action \"Require Security\" has no usable security method (security method 1 "
                                             "(ESP 3DES/SHA-1) skipped: 3DES is legacy",
                                             0),
            0u)
      << plan.fail_closed[0].reason;
  EXPECT_EQ(plan.actions.size(), 1u) << "the default response action keeps its AES-GCM method";
}


// A peer's quick mode for traffic of a rule that fails closed (its action has no usable method) is
// refused with NO-PROPOSAL-CHOSEN, the type IkeService tells the peer; a plain block filter's
// traffic keeps INVALID-ID-INFORMATION (ike_bridge_test).
TEST(OfferPlan, APeersQuickModeForARuleThatFailsClosedIsRefusedWithNoProposalChosen) {
  auto s = std::make_shared<BridgeSnapshot>();
  s->policy = secure_server();
  s->policy.allow_legacy_algorithms = false;
  s->policy.key_exchange.methods.insert(s->policy.key_exchange.methods.begin(),
                                        {model::Cipher::Aes128Cbc, model::Integrity::Sha256, model::DhGroup::Modp2048});
  model::HostContext host;
  host.addresses = {kServer};
  s->compiled = model::compile(s->policy, host);
  s->offers = plan_offers(s->policy, true);
  ASSERT_FALSE(s->offers.fail_closed.empty());
  EXPECT_GT(enforce_fail_closed(s->compiled, s->offers), 0u);
  translate::FilterIds ids;
  s->translation = translate::translate(s->policy, s->compiled, ids);
  AuthFactory factory;
  PolicyBridge bridge{std::move(factory)};
  bridge.replace(s);
  auto peer = bridge.quick_mode_for_peer(kServer, kClient, ike::sa::TrafficSelector{IpPrefix::host(kClient), 6, 0},
                                         ike::sa::TrafficSelector{IpPrefix::host(kServer), 6, 0});
  ASSERT_FALSE(peer.has_value());
  EXPECT_EQ(peer.error().type, ike::NotifyMessageType::NoProposalChosen) << peer.error();
  EXPECT_NE(peer.error().reason.find("fails closed"), std::string::npos) << peer.error();
}

}  // namespace
}  // namespace ward::agent::ikebridge
