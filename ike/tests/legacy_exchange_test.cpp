// The Windows-era offers end to end in one process (exchange_fixture.h): main mode with 3DES,
// HMAC-MD5 as the PRF and DH group 2; quick mode with ESP 3DES, HMAC-MD5-96, AH alone and AH+ESP
// bundles (RFC 2408 4.2 protection suites); each only where both ends allow legacy algorithms.
#include "driver/packet/packet_summary.h"
#include "ike/tests/exchange_fixture.h"

namespace ward::ike::sa {
namespace {

using namespace testing_fixture;

const Phase1Proposal k3desSha1Group2{IkeEncryptionAlgorithm::TripleDesCbc, 0, IkeHashAlgorithm::Sha, IkeGroupDescription::Modp1024,
                                     28800s};
const Phase1Proposal k3desMd5Group2{IkeEncryptionAlgorithm::TripleDesCbc, 0, IkeHashAlgorithm::Md5, IkeGroupDescription::Modp1024,
                                    28800s};
const EspProposal kEsp3desSha1{Cipher::TripleDesCbc, Integrity::HmacSha1_96};
const EspProposal kEsp3desMd5{Cipher::TripleDesCbc, Integrity::HmacMd5_96};
const AhProposal kAhSha1{Integrity::HmacSha1_96};
const AhProposal kAhMd5{Integrity::HmacMd5_96};

// The protocol of the packet A's dataplane puts on the wire for a TCP segment to B, and (for AH)
// the protocol AH protects.
std::pair<std::uint8_t, std::uint8_t> wire_protocols(driver::SimDataplane& sim) {
  const auto sealed = sim.send(driver::testing::make_packet(kHostA, kHostB, 6, 40000, 445, 64));
  EXPECT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
  const auto summary = driver::summarize_ip_packet(sealed.bytes);
  if (!summary) return {0, 0};
  const auto inner = summary->protocol == driver::crypto::kProtoAh ? static_cast<std::uint8_t>(sealed.bytes[summary->upper_layer_offset]) : 0;
  return {summary->protocol, inner};
}

class LegacyExchangeTest : public IkeExchangeTest {
 protected:
  LegacyExchangeTest() {
    legacy = true;
    proposals = {k3desSha1Group2};
  }
  void negotiate() {
    run_main_mode();
    ASSERT_FALSE(HasFatalFailure());
    run_quick_mode();
    ASSERT_FALSE(HasFatalFailure());
    expect_traffic_flows();
  }
};

TEST_F(LegacyExchangeTest, MainModeWith3desAndGroup2UnderSha1OrMd5) {
  for (const auto& method : {k3desSha1Group2, k3desMd5Group2}) {
    SCOPED_TRACE(std::string(crypto::hash_name(method.hash)));
    proposals = {method};
    run_main_mode();
    if (HasFatalFailure()) return;
    EXPECT_EQ(initiator->chosen().group, IkeGroupDescription::Modp1024);
    EXPECT_EQ(initiator->chosen().hash, method.hash);
    EXPECT_EQ(responder->cipher().name(), initiator->cipher().name());
    EXPECT_EQ(initiator->keys().skeyid.size(), crypto::hash_size(method.hash)) << "the PRF is HMAC with the negotiated hash";
    EXPECT_EQ(initiator->keys().encryption_key.size(), 24u) << "3DES key: SKEYID_e expanded past 16 (MD5) / 20 (SHA-1) bytes";
    EXPECT_TRUE(crypto::equal_constant_time(initiator->keys().encryption_key.reveal(), responder->keys().encryption_key.reveal()));
  }
}

TEST_F(LegacyExchangeTest, MainModeRefusesLegacyMethodsWithoutTheOptIn) {
  // Windows' first two methods offered to a responder that does not allow legacy algorithms.
  proposals = {k3desSha1Group2, k3desMd5Group2};
  initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
  auto m1 = initiator->build_main_mode_1();
  ASSERT_TRUE(m1.has_value()) << m1.error();
  legacy = false;
  std::vector<std::byte> m2;
  auto refused = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), psk_b, clock(), *m1, m2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().text.find("NO-PROPOSAL-CHOSEN"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().text.find("legacy"), std::string::npos) << refused.error();
  // Group 2 alone under AES is refused too, and MD5 alone.
  for (const auto& method : {Phase1Proposal{IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha, IkeGroupDescription::Modp1024, 28800s},
                             Phase1Proposal{IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Md5, IkeGroupDescription::Modp2048, 28800s}}) {
    legacy = true;
    proposals = {method};
    initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
    auto offer = initiator->build_main_mode_1();
    ASSERT_TRUE(offer.has_value());
    legacy = false;
    auto config = phase1_config(kHostB, kHostA, log_b);
    config.proposals = {method};   // even listed, it needs the opt-in
    std::vector<std::byte> reply;
    EXPECT_FALSE(Phase1Sa::respond(config, psk_b, clock(), *offer, reply).has_value());
  }
}

TEST_F(LegacyExchangeTest, QuickModeEsp3desWithSha1AndWithMd5) {
  for (const auto& method : {kEsp3desSha1, kEsp3desMd5}) {
    SCOPED_TRACE(std::string(driver::crypto::name_of(method.integrity)));
    sim_a.take_released();
    esp = {method};
    negotiate();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(qm_initiator->chosen().esp.has_value());
    EXPECT_EQ(*qm_initiator->chosen().esp, method);
    EXPECT_EQ(wire_protocols(sim_a).first, driver::crypto::kProtoEsp);
    using driver::crypto::Direction;
    ASSERT_TRUE(sim_a.delete_sa(qm_initiator->inbound_spi(), Direction::Inbound).has_value());
    ASSERT_TRUE(sim_a.delete_sa(qm_initiator->outbound_spi(), Direction::Outbound).has_value());
    ASSERT_TRUE(sim_b.delete_sa(qm_responder->inbound_spi(), Direction::Inbound).has_value());
    ASSERT_TRUE(sim_b.delete_sa(qm_responder->outbound_spi(), Direction::Outbound).has_value());
  }
}

TEST_F(LegacyExchangeTest, QuickModeAhAloneInTransportMode) {
  esp = {ProtectionSuite{kAhSha1, std::nullopt}};
  negotiate();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(qm_responder->chosen(), (ProtectionSuite{kAhSha1, std::nullopt}));
  EXPECT_EQ(wire_protocols(sim_a), (std::pair<std::uint8_t, std::uint8_t>{driver::crypto::kProtoAh, 6})) << "AH around TCP";
  const auto counters = sim_b.counters();
  for (const auto& sa : counters.sas) {
    EXPECT_EQ(sa.protocol, driver::crypto::SecurityProtocol::Ah);
    EXPECT_EQ(sa.bundled_ah_spi, 0u);
  }
  EXPECT_EQ(qm_initiator->inbound_bundled_ah_spi(), 0u);
}

TEST_F(LegacyExchangeTest, QuickModeAhPlusEspBundleHasTwoSpiPairsAndCarriesBothHeaders) {
  esp = {ProtectionSuite{kAhMd5, kEsp3desSha1}};
  negotiate();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(qm_initiator->chosen().bundle());
  EXPECT_EQ(qm_initiator->inbound_bundled_ah_spi(), qm_responder->outbound_bundled_ah_spi());
  EXPECT_EQ(qm_initiator->outbound_bundled_ah_spi(), qm_responder->inbound_bundled_ah_spi());
  EXPECT_NE(qm_initiator->inbound_bundled_ah_spi(), qm_initiator->inbound_spi()) << "one SPI per protocol";
  EXPECT_EQ(wire_protocols(sim_a), (std::pair<std::uint8_t, std::uint8_t>{driver::crypto::kProtoAh, driver::crypto::kProtoEsp}))
      << "AH around ESP";
  for (const auto& sa : sim_a.counters().sas) {
    EXPECT_EQ(sa.protocol, driver::crypto::SecurityProtocol::Esp);
    EXPECT_EQ(sa.bundled_ah_spi, sa.direction == driver::crypto::Direction::Inbound ? qm_initiator->inbound_bundled_ah_spi()
                                                                                      : qm_initiator->outbound_bundled_ah_spi());
  }
}

// Windows' "Require Security" list minus DES, offered to a responder that accepts only some of it:
// the responder takes the initiator's first suite it has, whole (a bundle is not split).
TEST_F(LegacyExchangeTest, ResponderTakesTheFirstAcceptableSuiteInTheInitiatorsOrder) {
  const std::vector<ProtectionSuite> windows{kEsp3desSha1, kEsp3desMd5, ProtectionSuite{kAhSha1, std::nullopt},
                                             ProtectionSuite{kAhMd5, std::nullopt}};
  struct Case {
    std::vector<ProtectionSuite> responder;
    std::optional<ProtectionSuite> chosen;
  };
  const Case cases[] = {
      {{ProtectionSuite{kAhMd5, std::nullopt}, kEsp3desMd5}, kEsp3desMd5},
      {{ProtectionSuite{kAhMd5, std::nullopt}}, ProtectionSuite{kAhMd5, std::nullopt}},
      {{ProtectionSuite{kAhSha1, kEsp3desSha1}}, std::nullopt},   // the parts, not the bundle
  };
  run_main_mode();
  ASSERT_FALSE(HasFatalFailure());
  for (const auto& c : cases) {
    esp = windows;
    auto qm = QuickModeExchange::initiate(*initiator, quick_config(kHostA, kHostB), sim_a, clock());
    auto q1 = qm->build_quick_mode_1();
    ASSERT_TRUE(q1.has_value()) << q1.error();
    esp = c.responder;
    std::vector<std::byte> q2;
    auto responded = QuickModeExchange::respond(*responder, quick_config(kHostB, kHostA), sim_b, clock(), *q1, q2);
    if (!c.chosen) {
      ASSERT_FALSE(responded.has_value());
      EXPECT_NE(responded.error().text.find("NO-PROPOSAL-CHOSEN"), std::string::npos) << responded.error();
      continue;
    }
    ASSERT_TRUE(responded.has_value()) << responded.error();
    EXPECT_EQ((*responded)->chosen(), *c.chosen);
    EXPECT_FALSE(qm->handle(q2).empty()) << qm->failure();
    EXPECT_EQ(qm->chosen(), *c.chosen);
  }
}

TEST_F(LegacyExchangeTest, QuickModeLegacyAlgorithmsNeedTheOptInOnBothEnds) {
  run_main_mode();
  ASSERT_FALSE(HasFatalFailure());
  esp = {kEsp3desSha1, ProtectionSuite{kAhMd5, std::nullopt}};
  auto qm = QuickModeExchange::initiate(*initiator, quick_config(kHostA, kHostB), sim_a, clock());
  auto q1 = qm->build_quick_mode_1();
  ASSERT_TRUE(q1.has_value());
  legacy = false;
  std::vector<std::byte> q2;
  auto refused = QuickModeExchange::respond(*responder, quick_config(kHostB, kHostA), sim_b, clock(), *q1, q2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().text.find("legacy"), std::string::npos) << refused.error();
  // An initiator without the opt-in offers nothing legacy, so nothing at all here.
  auto none = QuickModeExchange::initiate(*initiator, quick_config(kHostA, kHostB), sim_a, clock());
  auto empty = none->build_quick_mode_1();
  ASSERT_FALSE(empty.has_value());
  EXPECT_NE(empty.error().find("legacy"), std::string::npos) << empty.error();
}

TEST_F(LegacyExchangeTest, AhIsNotOfferedAcrossANat) {
  run_main_mode();
  ASSERT_FALSE(HasFatalFailure());
  esp = {ProtectionSuite{kAhSha1, kEsp3desSha1}, ProtectionSuite{kAhSha1, std::nullopt}};
  auto config = quick_config(kHostA, kHostB);
  config.udp_encapsulation = driver::crypto::UdpEncapsulation{};
  auto qm = QuickModeExchange::initiate(*initiator, config, sim_a, clock());
  auto q1 = qm->build_quick_mode_1();
  ASSERT_FALSE(q1.has_value());
  EXPECT_NE(q1.error().find("AH cannot cross the NAT"), std::string::npos) << q1.error();
}

}  // namespace
}  // namespace ward::ike::sa
