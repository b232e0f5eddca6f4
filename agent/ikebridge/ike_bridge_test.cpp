// ikebridge: a hand-built policy (a PSK rule negotiating host A <-> subnet B, a block rule for
// one host in it, a Kerberos-only rule) compiled for host A, looked up as IKE would.
#include "agent/ikebridge/ike_bridge.h"
#include "agent/ikebridge/sa_admission.h"
#include "agent/ikebridge/test_credentials.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "ike/auth/certificate_provider.h"
#include "ike/auth/preshared_key.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::agent::ikebridge {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }
const IpAddress kHostA = ip("10.1.0.5");

model::Policy example_policy() {
  model::Policy p;
  p.id = model::Guid::random();
  p.name = "bridge test";
  p.key_exchange.methods = {{model::Cipher::Aes256Cbc, model::Integrity::Sha256, model::DhGroup::Ecp256},
                            {model::Cipher::TripleDes, model::Integrity::Sha1, model::DhGroup::Modp2048},
                            {model::Cipher::Aes128Cbc, model::Integrity::Sha1, model::DhGroup::Modp2048}};
  p.key_exchange.lifetime_minutes = 60;

  model::FilterList servers{model::Guid::random(), "servers", {}, {}};
  servers.filters.push_back(model::Filter{model::Guid::random(), "A to B", model::AddressSpec::my_address(),
                                          model::AddressSpec::subnet(prefix("10.2.0.0/16")), model::ip_protocol::kAny,
                                          PortRange::any(), PortRange::any(), true});
  model::FilterList blocked{model::Guid::random(), "blocked", {}, {}};
  blocked.filters.push_back(model::Filter{model::Guid::random(), "A to B.9", model::AddressSpec::my_address(),
                                          model::AddressSpec::host(ip("10.2.0.9")), model::ip_protocol::kAny,
                                          PortRange::any(), PortRange::any(), true});
  model::FilterList kerberos_only{model::Guid::random(), "kerberos", {}, {}};
  kerberos_only.filters.push_back(model::Filter{model::Guid::random(), "A to C", model::AddressSpec::my_address(),
                                                model::AddressSpec::subnet(prefix("10.3.0.0/16")), model::ip_protocol::kAny,
                                                PortRange::any(), PortRange::any(), true});
  p.filter_lists = {servers, blocked, kerberos_only};

  model::FilterAction secure;
  secure.id = model::Guid::random();
  secure.name = "require ESP";
  secure.kind = model::ActionKind::Negotiate;
  secure.security_methods = {model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Aes256Gcm, model::Integrity::None}, 50000, 1800},
                             model::SecurityMethod{model::AhTransform{}, std::nullopt, 100000, 3600},
                             model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Aes128Cbc, model::Integrity::Sha1}, 100000, 3600}};
  secure.quick_mode_pfs = true;
  model::FilterAction block;
  block.id = model::Guid::random();
  block.name = "block";
  block.kind = model::ActionKind::Block;
  p.filter_actions = {secure, block};

  model::Rule psk_rule;
  psk_rule.id = model::Guid::random();
  psk_rule.name = "servers with PSK";
  psk_rule.filter_list = servers.id;
  psk_rule.filter_action = secure.id;
  psk_rule.auth_methods = {model::AuthMethod::kerberos(), model::AuthMethod::preshared("bridge secret")};
  model::Rule block_rule;
  block_rule.id = model::Guid::random();
  block_rule.name = "block B.9";
  block_rule.filter_list = blocked.id;
  block_rule.filter_action = block.id;
  model::Rule kerberos_rule;
  kerberos_rule.id = model::Guid::random();
  kerberos_rule.name = "C with Kerberos";
  kerberos_rule.filter_list = kerberos_only.id;
  kerberos_rule.filter_action = secure.id;
  kerberos_rule.auth_methods = {model::AuthMethod::kerberos()};
  p.rules = {psk_rule, block_rule, kerberos_rule};
  return p;
}

class IkeBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = std::make_shared<BridgeSnapshot>();
    s->policy = example_policy();
    model::HostContext host;
    host.addresses = {kHostA};
    s->compiled = model::compile(s->policy, host);
    s->offers = plan_offers(s->policy, true);
    s->translation = translate::translate(s->policy, s->compiled, ids);
    snapshot = s;
    bridge.replace(s);
  }
  std::uint32_t id_of_rule(std::size_t rule) const {
    for (const auto& [id, origin] : snapshot->translation.origins) {
      if (origin.rule_index == rule) return id;
    }
    return 0;
  }

  translate::FilterIds ids;
  std::shared_ptr<const BridgeSnapshot> snapshot;
  PolicyBridge bridge{AuthFactory{}};
};

TEST(IkeBridgeMapping, KeyExchangeMethodsBecomePhase1ProposalsAndLegacyNeedsTheOption) {
  const auto p = example_policy();
  const auto offers = phase1_proposals(p.key_exchange, false);
  const auto& proposals = offers.proposals;
  ASSERT_EQ(proposals.size(), 2U) << "3DES is left out without the legacy option";
  EXPECT_EQ(proposals[0].cipher, IkeEncryptionAlgorithm::AesCbc);
  EXPECT_EQ(proposals[0].key_bits, 256U);
  EXPECT_EQ(proposals[0].hash, IkeHashAlgorithm::Sha2_256);
  EXPECT_EQ(proposals[0].group, IkeGroupDescription::Ecp256);
  EXPECT_EQ(proposals[0].lifetime, 3600s);
  EXPECT_EQ(proposals[1].key_bits, 128U);
  EXPECT_EQ(proposals[1].hash, IkeHashAlgorithm::Sha);
  EXPECT_EQ(proposals[1].group, IkeGroupDescription::Modp2048);
  EXPECT_EQ(offers.skipped, std::vector<std::string>{
                                "key exchange method 2 (3DES/SHA-1/group 14) skipped: 3DES is legacy and legacy algorithms are not allowed"});
  const auto legacy = phase1_proposals(p.key_exchange, true);
  ASSERT_EQ(legacy.proposals.size(), 3U);
  EXPECT_EQ(legacy.proposals[1].cipher, IkeEncryptionAlgorithm::TripleDesCbc);
  EXPECT_TRUE(legacy.skipped.empty());

  model::KeyExchangeSettings weak;
  weak.methods = {{model::Cipher::Aes256Cbc, model::Integrity::Sha256, model::DhGroup::Modp768},
                  {model::Cipher::Aes192Cbc, model::Integrity::Md5, model::DhGroup::Modp1024}};
  const auto none = phase1_proposals(weak, true);
  EXPECT_TRUE(none.proposals.empty());
  EXPECT_EQ(none.skipped, (std::vector<std::string>{"key exchange method 1 (AES-256-CBC/SHA-256/group 1) skipped: group 1 is broken",
                                                    "key exchange method 2 (AES-192-CBC/MD5/group 2) skipped: AES-192-CBC is not supported for main mode"}));
}

TEST(IkeBridgeMapping, SecurityMethodsBecomeSuitesWithTheFirstLifetimeAndPfs) {
  const auto p = example_policy();
  auto q = quick_mode_proposals(p.filter_actions[0], p.key_exchange, false);
  ASSERT_TRUE(q.has_value()) << q.error();
  ASSERT_EQ(q->proposals.size(), 3U);
  EXPECT_EQ(q->proposals[0], ike::sa::ProtectionSuite(ike::sa::EspProposal{Cipher::AesGcm256, Integrity::None}));
  EXPECT_EQ(q->proposals[1], (ike::sa::ProtectionSuite{ike::sa::AhProposal{Integrity::HmacSha256_128}, std::nullopt}));
  EXPECT_EQ(q->proposals[2], ike::sa::ProtectionSuite(ike::sa::EspProposal{Cipher::AesCbc128, Integrity::HmacSha1_96}));
  EXPECT_EQ(q->lifetime, 1800s);
  EXPECT_EQ(q->lifetime_kilobytes, 50000U);
  EXPECT_EQ(q->pfs_group, IkeGroupDescription::Ecp256);
  EXPECT_TRUE(q->skipped.empty());
  EXPECT_FALSE(q->allow_legacy);

  // Windows' methods: 3DES and MD5 with the option, AH alone and AH+ESP bundles; DES never.
  model::FilterAction windows = p.filter_actions[0];
  windows.security_methods = {
      model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::TripleDes, model::Integrity::Md5}, 100000, 900},
      model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Des, model::Integrity::Sha1}, 100000, 900},
      model::SecurityMethod{model::AhTransform{model::Integrity::Md5}, std::nullopt, 100000, 300},
      model::SecurityMethod{model::AhTransform{model::Integrity::Sha1}, model::EspTransform{model::Cipher::TripleDes, model::Integrity::Sha1},
                            100000, 300}};
  auto legacy = quick_mode_proposals(windows, p.key_exchange, true);
  ASSERT_TRUE(legacy.has_value()) << legacy.error();
  EXPECT_EQ(legacy->proposals,
            (std::vector<ike::sa::ProtectionSuite>{ike::sa::EspProposal{Cipher::TripleDesCbc, Integrity::HmacMd5_96},
                                                   {ike::sa::AhProposal{Integrity::HmacMd5_96}, std::nullopt},
                                                   {ike::sa::AhProposal{Integrity::HmacSha1_96}, ike::sa::EspProposal{Cipher::TripleDesCbc, Integrity::HmacSha1_96}}}));
  EXPECT_EQ(legacy->skipped, std::vector<std::string>{"security method 2 (ESP DES/SHA-1) skipped: DES is broken"});
  EXPECT_EQ(legacy->lifetime, 900s);
  EXPECT_TRUE(legacy->allow_legacy);
  auto strict = quick_mode_proposals(windows, p.key_exchange, false);
  ASSERT_TRUE(strict.has_value());
  EXPECT_TRUE(strict->proposals.empty()) << "every method is weak: no proposals, not an error";
  EXPECT_EQ(strict->skipped.size(), 4U);
  EXPECT_FALSE(quick_mode_proposals(p.filter_actions[1], p.key_exchange, false).has_value()) << "block does not negotiate";
}

TEST(IkeBridgeMapping, AuthFactoryBuildsPskAndSaysWhatThisBuildLacks) {
  AuthFactory factory;
  auto psk = factory.make(model::AuthMethod::preshared("k"));
  ASSERT_TRUE(psk.has_value()) << psk.error();
  EXPECT_EQ((*psk)->method(), IkeAuthenticationMethod::PreSharedKey);
  auto kerberos = factory.make(model::AuthMethod::kerberos());
  ASSERT_FALSE(kerberos.has_value());
  EXPECT_EQ(kerberos.error(), "Kerberos authentication is not supported by this build");
  auto cert = factory.make(model::AuthMethod::certificate("CN=Root"));
  ASSERT_FALSE(cert.has_value());
  EXPECT_NE(cert.error().find("needs this host's certificate: none is configured"), std::string::npos) << cert.error();
  EXPECT_FALSE(factory.make(model::AuthMethod::preshared("")).has_value());

  // A build with Kerberos plugs its maker in; the factory hands it the settings.
  std::string asked;
  factory.enable_kerberos(KerberosSettings{"/etc/krb5.keytab", "host/a@EXAMPLE.COM", {}},
                          [&](const KerberosSettings& s) -> Expected<AuthProviderPtr, std::string> {
                            asked = s.own_principal;
                            return AuthProviderPtr(std::make_shared<ike::auth::PresharedKeyProvider>(
                                ike::auth::preshared_key_from_text("stand-in")));
                          });
  EXPECT_TRUE(factory.make(model::AuthMethod::kerberos()).has_value());
  EXPECT_EQ(asked, "host/a@EXAMPLE.COM");
}

TEST_F(IkeBridgeTest, QuickModeLimitComesFromThePolicyAndMasterKeyPfsMakesItOne) {
  const auto limit_with = [&](std::uint32_t limit, bool master_key_pfs) {
    auto s = std::make_shared<BridgeSnapshot>(*snapshot);
    s->policy.key_exchange.quick_mode_limit = limit;
    s->policy.key_exchange.master_key_pfs = master_key_pfs;
    bridge.replace(s);
    auto p1 = bridge.phase1_for(kHostA, ip("10.2.3.4"), id_of_rule(0));
    EXPECT_TRUE(p1.has_value()) << p1.error();
    return p1 ? p1->quick_mode_limit : 12345U;
  };
  EXPECT_EQ(limit_with(0, false), 0U);
  EXPECT_EQ(limit_with(5, false), 5U);
  EXPECT_EQ(limit_with(5, true), 1U);
  EXPECT_EQ(limit_with(0, true), 1U);
}

TEST(IkeBridgeMapping, AuthFactoryBuildsCertificateProvidersForTheRulesCa) {
  // A real host certificate and trust store (openssl CLI through the test CA harness).
  auto dir = test::TempDir::create("ward-bridge-cert");
  ASSERT_TRUE(dir.has_value()) << dir.error().to_string();
  auto credentials = testing::ward_root_host_credentials(dir->path());
  ASSERT_TRUE(credentials.has_value()) << credentials.error();

  AuthFactory factory;
  factory.enable_certificates(*credentials);
  auto cert = factory.make(model::AuthMethod::certificate("CN=Ward Root, O=Ward"));
  ASSERT_TRUE(cert.has_value()) << cert.error();
  EXPECT_EQ((*cert)->method(), IkeAuthenticationMethod::RsaSignatures);
  const auto* provider = dynamic_cast<const ike::auth::CertificateProvider*>(cert->get());
  ASSERT_NE(provider, nullptr);
  EXPECT_EQ(provider->ca_name(), "CN=Ward Root, O=Ward");
  // A rule naming a CA this host does not trust cannot negotiate, and says why.
  auto unknown = factory.make(model::AuthMethod::certificate("CN=Contoso Root"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().find("no trusted CA has the subject \"CN=Contoso Root\""), std::string::npos) << unknown.error();
  EXPECT_NE(unknown.error().find("CN=Ward Root,O=Ward"), std::string::npos) << unknown.error();
}

TEST_F(IkeBridgeTest, InitiatorGetsTheRulesProvidersAndHostSelectors) {
  const auto filter = id_of_rule(0);
  ASSERT_NE(filter, 0U);
  auto p1 = bridge.phase1_for(kHostA, ip("10.2.3.4"), filter);
  ASSERT_TRUE(p1.has_value()) << p1.error();
  ASSERT_EQ(p1->auth.size(), 1U) << "Kerberos is skipped in this build, the PSK remains";
  EXPECT_EQ(p1->auth[0]->method(), IkeAuthenticationMethod::PreSharedKey);
  EXPECT_EQ(p1->proposals.size(), 2U);

  driver::Acquire acquire;
  acquire.filter_id = filter;
  acquire.peer = ip("10.2.3.4");
  acquire.source = kHostA;
  acquire.destination = ip("10.2.3.4");
  auto qm = bridge.quick_mode_for_acquire(acquire);
  ASSERT_TRUE(qm.has_value()) << qm.error();
  EXPECT_EQ(qm->filter_id, filter);
  EXPECT_EQ(qm->local.prefix, IpPrefix::host(kHostA));
  EXPECT_EQ(qm->remote.prefix, IpPrefix::host(ip("10.2.3.4")));
  EXPECT_EQ(qm->proposals.size(), 3U) << "ESP AES-GCM, AH, ESP AES-CBC";
  EXPECT_EQ(qm->pfs_group, IkeGroupDescription::Ecp256);

  auto kerberos_only = bridge.phase1_for(kHostA, ip("10.3.0.1"), id_of_rule(2));
  ASSERT_FALSE(kerberos_only.has_value());
  EXPECT_NE(kerberos_only.error().find("Kerberos authentication is not supported by this build"), std::string::npos)
      << kerberos_only.error();
}

TEST_F(IkeBridgeTest, ResponderFindsTheMostSpecificFilterForThePeersIds) {
  const auto peer = ip("10.2.3.4");
  auto p1 = bridge.phase1_for(kHostA, peer, std::nullopt);
  ASSERT_TRUE(p1.has_value()) << p1.error();
  EXPECT_EQ(p1->auth.size(), 1U);

  auto qm = bridge.quick_mode_for_peer(kHostA, peer, ike::sa::TrafficSelector{IpPrefix::host(peer)},
                                       ike::sa::TrafficSelector{IpPrefix::host(kHostA)});
  ASSERT_TRUE(qm.has_value()) << qm.error();
  EXPECT_EQ(qm->filter_id, id_of_rule(0));

  // 10.2.0.9 falls under the more specific block rule.
  const auto blocked = ip("10.2.0.9");
  auto refused = bridge.quick_mode_for_peer(kHostA, blocked, ike::sa::TrafficSelector{IpPrefix::host(blocked)},
                                            ike::sa::TrafficSelector{IpPrefix::host(kHostA)});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type, ike::NotifyMessageType::InvalidIdInformation) << refused.error();
  EXPECT_NE(refused.error().reason.find("block filter of rule \"block B.9\""), std::string::npos) << refused.error();

  // Outside every filter.
  const auto stranger = ip("192.0.2.1");
  EXPECT_FALSE(bridge.phase1_for(kHostA, stranger, std::nullopt).has_value());
  auto none = bridge.quick_mode_for_peer(kHostA, stranger, ike::sa::TrafficSelector{IpPrefix::host(stranger)},
                                         ike::sa::TrafficSelector{IpPrefix::host(kHostA)});
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().type, ike::NotifyMessageType::InvalidIdInformation) << none.error();
  EXPECT_NE(none.error().reason.find("no filter covers"), std::string::npos) << none.error();
}

TEST_F(IkeBridgeTest, ReplaceSwapsTheSnapshotAndListsNegotiateFilters) {
  auto live = bridge.negotiate_filter_ids();
  std::sort(live.begin(), live.end());
  std::vector<std::uint32_t> want{id_of_rule(0), id_of_rule(2)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(live, want);
  bridge.replace(nullptr);
  EXPECT_TRUE(bridge.negotiate_filter_ids().empty());
  auto p1 = bridge.phase1_for(kHostA, ip("10.2.3.4"), std::nullopt);
  ASSERT_FALSE(p1.has_value());
  EXPECT_EQ(p1.error(), "no policy is applied");
}

}  // namespace
}  // namespace ward::agent::ikebridge

namespace ward::agent::ikebridge {
namespace {

TEST_F(IkeBridgeTest, SasSurviveARefreshOnlyWhereTheNegotiationTermsStayTheSame) {
  const auto psk_filter = id_of_rule(0);
  const auto kerberos_filter = id_of_rule(2);
  ASSERT_NE(psk_filter, 0U);
  ASSERT_NE(kerberos_filter, 0U);
  auto refreshed = [&](const std::function<void(model::Policy&)>& edit) {
    BridgeSnapshot next;
    next.policy = snapshot->policy;
    edit(next.policy);
    model::HostContext host;
    host.addresses = {kHostA};
    next.compiled = model::compile(next.policy, host);
    next.translation = translate::translate(next.policy, next.compiled, ids);
    auto kept = filters_negotiated_on_same_terms(*snapshot, next);
    std::sort(kept.begin(), kept.end());
    return kept;
  };
  auto both = std::vector<std::uint32_t>{psk_filter, kerberos_filter};
  std::sort(both.begin(), both.end());

  EXPECT_EQ(refreshed([](model::Policy&) {}), both);
  EXPECT_EQ(refreshed([](model::Policy& p) { p.description = "only words changed"; }), both);
  // The shared filter action's methods change: both rules' SAs must go.
  EXPECT_TRUE(refreshed([](model::Policy& p) {
                for (auto& a : p.filter_actions) {
                  if (a.kind == model::ActionKind::Negotiate) std::reverse(a.security_methods.begin(), a.security_methods.end());
                }
              }).empty());
  // One rule's authentication changes: only its SAs go.
  EXPECT_EQ(refreshed([](model::Policy& p) { p.rules[2].auth_methods = {model::AuthMethod::preshared("new")}; }),
            std::vector<std::uint32_t>{psk_filter});
  // The key exchange settings change: every SA goes.
  EXPECT_TRUE(refreshed([](model::Policy& p) { p.key_exchange.lifetime_minutes += 1; }).empty());
}

}  // namespace
}  // namespace ward::agent::ikebridge

namespace ward::agent::ikebridge {
namespace {

// The policy with a default response rule (PSK, the "require ESP" methods) and fallback to clear on
// the servers' action, recompiled into the bridge.
class DefaultResponseBridgeTest : public IkeBridgeTest {
 protected:
  void SetUp() override {
    auto policy = example_policy();
    policy.filter_actions[0].fallback_to_unsecured = true;
    policy.filter_actions[0].accept_unsecured = true;
    model::Rule response;
    response.id = model::Guid::random();
    response.default_response = true;
    response.filter_action = policy.filter_actions[0].id;
    response.auth_methods = {model::AuthMethod::preshared("default response secret")};
    policy.rules.push_back(response);
    auto s = std::make_shared<BridgeSnapshot>();
    s->policy = policy;
    model::HostContext host;
    host.addresses = {kHostA};
    s->compiled = model::compile(s->policy, host);
    s->translation = translate::translate(s->policy, s->compiled, ids);
    s->offers = plan_offers(s->policy, true);
    snapshot = s;
    bridge.replace(s);
  }
};

TEST_F(DefaultResponseBridgeTest, AQuickModeNoFilterCoversIsAnsweredByTheDefaultResponseRule) {
  ASSERT_TRUE(snapshot->translation.default_response_id.has_value());
  const auto response_id = *snapshot->translation.default_response_id;
  EXPECT_EQ(snapshot->translation.origins.at(response_id).rule_name, "<Dynamic> default response");
  const auto stranger = ip("192.0.2.1");
  // Main mode: the default response rule's methods answer any peer.
  auto p1 = bridge.phase1_for(kHostA, stranger, std::nullopt);
  ASSERT_TRUE(p1.has_value()) << p1.error();
  ASSERT_EQ(p1->auth.size(), 1U);
  EXPECT_EQ(p1->auth[0]->method(), IkeAuthenticationMethod::PreSharedKey);
  // Quick mode: its security methods, with a dynamic filter (default_response), never fallback.
  const ike::sa::TrafficSelector theirs{IpPrefix::host(stranger), 6, 40000};
  const ike::sa::TrafficSelector ours{IpPrefix::host(kHostA), 6, 445};
  auto qm = bridge.quick_mode_for_peer(kHostA, stranger, theirs, ours);
  ASSERT_TRUE(qm.has_value()) << qm.error();
  EXPECT_TRUE(qm->default_response);
  EXPECT_EQ(qm->filter_id, response_id);
  EXPECT_EQ(qm->proposals.size(), 3U) << "ESP AES-GCM, AH, ESP AES-CBC";
  EXPECT_EQ(qm->pfs_group, IkeGroupDescription::Ecp256);
  EXPECT_EQ(qm->remote.port, 40000);

  // What a filter covers is still the filter's; what a block filter covers is still refused.
  const auto peer = ip("10.2.3.4");
  auto covered = bridge.quick_mode_for_peer(kHostA, peer, ike::sa::TrafficSelector{IpPrefix::host(peer)},
                                            ike::sa::TrafficSelector{IpPrefix::host(kHostA)});
  ASSERT_TRUE(covered.has_value()) << covered.error();
  EXPECT_FALSE(covered->default_response);
  EXPECT_EQ(covered->filter_id, id_of_rule(0));
  const auto blocked = ip("10.2.0.9");
  EXPECT_FALSE(bridge.quick_mode_for_peer(kHostA, blocked, ike::sa::TrafficSelector{IpPrefix::host(blocked)},
                                          ike::sa::TrafficSelector{IpPrefix::host(kHostA)}));
  // Its SAs count as the policy's: they survive a refresh on the same terms.
  auto live = bridge.negotiate_filter_ids();
  EXPECT_NE(std::find(live.begin(), live.end(), response_id), live.end());
}

TEST_F(DefaultResponseBridgeTest, TheFilterActionsFallbackReachesTheInitiatorsQuickModePolicy) {
  driver::Acquire acquire;
  acquire.filter_id = id_of_rule(0);
  acquire.peer = ip("10.2.3.4");
  acquire.source = kHostA;
  acquire.destination = acquire.peer;
  auto qm = bridge.quick_mode_for_acquire(acquire);
  ASSERT_TRUE(qm.has_value()) << qm.error();
  EXPECT_TRUE(qm->fallback_to_clear);
  EXPECT_FALSE(qm->default_response);
  // And accept-unsecured reaches the driver's filters.
  for (const auto& f : snapshot->translation.table.filters) {
    EXPECT_EQ(f.accept_unsecured, f.action == driver::FilterAction::Negotiate) << f.id;
  }
}

TEST_F(DefaultResponseBridgeTest, WithoutAnActiveDefaultResponseRuleNothingAnswers) {
  auto s = std::make_shared<BridgeSnapshot>(*snapshot);
  s->policy.rules.back().active = false;
  model::HostContext host;
  host.addresses = {kHostA};
  s->compiled = model::compile(s->policy, host);
  s->translation = translate::translate(s->policy, s->compiled, ids);
  s->offers = plan_offers(s->policy, true);
  bridge.replace(s);
  const auto stranger = ip("192.0.2.1");
  EXPECT_FALSE(bridge.phase1_for(kHostA, stranger, std::nullopt).has_value());
  auto none = bridge.quick_mode_for_peer(kHostA, stranger, ike::sa::TrafficSelector{IpPrefix::host(stranger)},
                                         ike::sa::TrafficSelector{IpPrefix::host(kHostA)});
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().type, ike::NotifyMessageType::InvalidIdInformation) << none.error();
  EXPECT_NE(none.error().reason.find("no active default response rule"), std::string::npos) << none.error();
}

// ---- what wardd installs for its IKE process (sa_admission.h) ------------------------------------

driver::SaInstall esp_sa(std::uint32_t filter_id, const IpAddress& peer, Cipher cipher, Integrity integrity) {
  driver::SaInstall sa;
  sa.params.spi = 0x1001;
  sa.params.cipher = cipher;
  sa.params.integrity = integrity;
  sa.filter_id = filter_id;
  sa.peer = peer;
  return sa;
}

TEST_F(IkeBridgeTest, AnSaIsAdmittedOnlyForANegotiateFilterItsPeerAndOneOfItsMethods) {
  const auto servers = id_of_rule(0);
  const auto peer = ip("10.2.3.4");
  EXPECT_TRUE(admit_sa(*snapshot, esp_sa(servers, peer, Cipher::AesGcm256, Integrity::None)));
  EXPECT_TRUE(admit_sa(*snapshot, esp_sa(servers, peer, Cipher::AesCbc128, Integrity::HmacSha1_96)));
  driver::SaInstall ah = esp_sa(servers, peer, Cipher::Null, Integrity::HmacSha256_128);
  ah.params.protocol = driver::crypto::SecurityProtocol::Ah;
  EXPECT_TRUE(admit_sa(*snapshot, ah));

  auto refused = [&](const driver::SaInstall& sa, const std::string& why) {
    auto admitted = admit_sa(*snapshot, sa);
    ASSERT_FALSE(admitted) << why;
    EXPECT_NE(admitted.error().find(why), std::string::npos) << admitted.error();
  };
  // A method the filter action does not have (integrity without encryption, a weaker cipher).
  refused(esp_sa(servers, peer, Cipher::Null, Integrity::HmacSha1_96),
          "ESP SA 0x00001001 (outbound) for filter " + std::to_string(servers) + " with 10.2.3.4: ESP");
  refused(esp_sa(servers, peer, Cipher::AesCbc128, Integrity::HmacMd5_96), "is not one of the filter action's security methods");
  // A peer the filter does not cover, a block filter, a filter that is not there.
  refused(esp_sa(servers, ip("10.9.9.9"), Cipher::AesGcm256, Integrity::None), "covers 10.2.0.0/16, which does not include 10.9.9.9");
  refused(esp_sa(id_of_rule(1), ip("10.2.0.9"), Cipher::AesGcm256, Integrity::None), "is a block filter of rule \"block B.9\"");
  refused(esp_sa(4242, peer, Cipher::AesGcm256, Integrity::None), "filter 4242 is not in the policy");
  // Tunnel mode for a transport filter; a dynamic selector for a filter that is not the default response's.
  auto tunnel = esp_sa(servers, peer, Cipher::AesGcm256, Integrity::None);
  tunnel.params.mode = driver::crypto::Mode::Tunnel;
  refused(tunnel, "is a transport filter, the SA is in tunnel mode");
  auto dynamic = esp_sa(servers, peer, Cipher::AesGcm256, Integrity::None);
  dynamic.dynamic = driver::DynamicSelector{kHostA, peer, 0, 0, 0};
  refused(dynamic, "is not the default response rule's");
  // No fallback to clear in this policy: no soft association.
  auto soft = admit_soft_association(*snapshot, driver::SoftAssociation{servers, peer, 300s});
  ASSERT_FALSE(soft);
  EXPECT_NE(soft.error().find("rule \"servers with PSK\" does not allow fallback to clear"), std::string::npos) << soft.error();
}

TEST_F(DefaultResponseBridgeTest, DefaultResponseSasAndSoftAssociationsAreAdmittedAsThePolicySays) {
  const auto response_id = *snapshot->translation.default_response_id;
  const auto stranger = ip("192.0.2.1");
  auto sa = esp_sa(response_id, stranger, Cipher::AesGcm256, Integrity::None);
  sa.dynamic = driver::DynamicSelector{kHostA, stranger, 6, 445, 40000};
  EXPECT_TRUE(admit_sa(*snapshot, sa));
  sa.dynamic->remote = ip("192.0.2.2");
  auto other = admit_sa(*snapshot, sa);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().find("protects traffic with its peer (192.0.2.2) in transport mode"), std::string::npos) << other.error();
  EXPECT_FALSE(admit_sa(*snapshot, esp_sa(response_id, stranger, Cipher::AesGcm256, Integrity::None)))
      << "the default response's id without a dynamic selector names no filter";

  EXPECT_TRUE(admit_soft_association(*snapshot, driver::SoftAssociation{id_of_rule(0), ip("10.2.3.4"), 300s}));
  EXPECT_FALSE(admit_soft_association(*snapshot, driver::SoftAssociation{id_of_rule(0), ip("10.9.9.9"), 300s}));
  EXPECT_FALSE(admit_soft_association(*snapshot, driver::SoftAssociation{id_of_rule(1), ip("10.2.0.9"), 300s}));
}

}  // namespace
}  // namespace ward::agent::ikebridge
