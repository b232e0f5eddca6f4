// Quick mode takes its inbound SPIs from the dataplane (Dataplane::allocate_spi) and gives back
// what it does not install. Host B's SimDataplane has only the SPIs 0x100-0x101, so whatever B
// offers or installs must be one of those two, and a third negotiation finds none; peers A and C
// have the default range. Main and quick modes in memory, as exchange_fixture.h.
#include <gtest/gtest.h>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/tests/exchange_support.h"

namespace ward::ike::sa {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;
using driver::crypto::SecurityProtocol;
using ike::testing::kHostA;
using ike::testing::kHostB;
using ike::testing::NullDataplaneListener;

const IpAddress kHostC = *IpAddress::parse("10.20.3.40");

class QuickModeSpiTest : public ::testing::Test {
 protected:
  QuickModeSpiTest()
      : psk(auth::preshared_key_from_text("correct horse battery staple")),
        sim_a(listener, {}, [this] { return now; }),
        sim_b(listener, narrow(), [this] { return now; }),
        sim_c(listener, {}, [this] { return now; }) {}

  static driver::EngineOptions narrow() {
    driver::EngineOptions o;
    o.spi_allocation.first = 0x100;
    o.spi_allocation.last = 0x101;
    return o;
  }
  Clock clock() {
    return [this] { return now; };
  }

  // Main mode from `i` to `r`, both established.
  std::pair<std::unique_ptr<Phase1Sa>, std::unique_ptr<Phase1Sa>> main_mode(const IpAddress& i, const IpAddress& r) {
    auto initiator = Phase1Sa::initiate(ike::testing::phase1_config(i, r, proposals, log), psk, clock());
    auto m1 = initiator->build_main_mode_1();
    EXPECT_TRUE(m1.has_value());
    std::vector<std::byte> m2;
    auto responder = Phase1Sa::respond(ike::testing::phase1_config(r, i, proposals, log), psk, clock(), *m1, m2);
    EXPECT_TRUE(responder.has_value());
    const auto m4 = (*responder)->handle(initiator->handle(m2));
    const auto m6 = (*responder)->handle(initiator->handle(m4));
    initiator->handle(m6);
    EXPECT_TRUE(initiator->established() && (*responder)->established());
    return {std::move(initiator), std::move(*responder)};
  }

  struct QuickModes {
    std::unique_ptr<QuickModeExchange> initiator, responder;
  };
  // Quick mode message 1 from `i` to `r` and, if it could be built, the rest.
  QuickModes quick_mode(const Phase1Sa& i, const IpAddress& i_address, driver::Dataplane& i_dataplane, const Phase1Sa& r,
                        const IpAddress& r_address, driver::Dataplane& r_dataplane) {
    QuickModes q;
    q.initiator = QuickModeExchange::initiate(i, ike::testing::quick_config(i_address, r_address, methods), i_dataplane, clock());
    auto q1 = q.initiator->build_quick_mode_1();
    if (!q1) {
      failure = q1.error();
      return q;
    }
    std::vector<std::byte> q2;
    auto responded = QuickModeExchange::respond(r, ike::testing::quick_config(r_address, i_address, methods), r_dataplane, clock(), *q1, q2);
    if (!responded) {
      failure = responded.error().text;
      return q;
    }
    q.responder = std::move(*responded);
    q.responder->handle(q.initiator->handle(q2));
    EXPECT_TRUE(q.initiator->done()) << q.initiator->failure();
    EXPECT_TRUE(q.responder->done()) << q.responder->failure();
    return q;
  }

  std::chrono::steady_clock::time_point now{};
  std::vector<Phase1Proposal> proposals{{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}};
  std::vector<ProtectionSuite> methods{EspProposal{Cipher::AesGcm256, Integrity::None}};
  std::vector<std::string> log;
  std::string failure;
  auth::PresharedKeyProvider psk;
  NullDataplaneListener listener;
  driver::SimDataplane sim_a, sim_b, sim_c;
};

TEST_F(QuickModeSpiTest, TwoPeersQuickModesGetDistinctInboundSpisFromTheEngine) {
  auto [b_to_a, a_from_b] = main_mode(kHostB, kHostA);
  auto [c_to_b, b_from_c] = main_mode(kHostC, kHostB);
  ASSERT_FALSE(HasFatalFailure());
  // B initiates with A, and answers C: its inbound SPIs come from its engine, one each.
  auto with_a = quick_mode(*b_to_a, kHostB, sim_b, *a_from_b, kHostA, sim_a);
  auto with_c = quick_mode(*c_to_b, kHostC, sim_c, *b_from_c, kHostB, sim_b);
  ASSERT_TRUE(with_a.responder && with_c.responder) << failure;
  const auto b_in_a = with_a.initiator->inbound_spi();
  const auto b_in_c = with_c.responder->inbound_spi();
  EXPECT_NE(b_in_a, b_in_c);
  EXPECT_TRUE((b_in_a == 0x100 && b_in_c == 0x101) || (b_in_a == 0x101 && b_in_c == 0x100)) << b_in_a << " " << b_in_c;
  EXPECT_EQ(with_a.responder->outbound_spi(), b_in_a) << "A sends to B under the SPI B's engine gave";
  EXPECT_EQ(with_c.initiator->outbound_spi(), b_in_c);
  EXPECT_EQ(sim_b.counters().sas.size(), 4U);
  // Both peers' traffic reaches B under its own SA.
  for (const auto& [peer, dataplane] : {std::pair{kHostA, &sim_a}, std::pair{kHostC, &sim_c}}) {
    ASSERT_TRUE(dataplane->install_filter_table(ike::testing::negotiate_both_ways(ike::testing::kFilterId, IpPrefix::host(peer),
                                                                                    IpPrefix::host(kHostB), 32768))
                    .has_value());
    const auto sealed = dataplane->send(driver::testing::make_packet(peer, kHostB, 6, 40000, 445, 100));
    ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
    ASSERT_TRUE(sim_b.install_filter_table(ike::testing::negotiate_both_ways(ike::testing::kFilterId, IpPrefix::host(kHostB),
                                                                             IpPrefix::host(peer), 32768))
                    .has_value());
    EXPECT_EQ(sim_b.receive(sealed.bytes).disposition, driver::Disposition::AcceptModified) << peer.to_string();
  }
  // No SPI is left: a third quick mode with B fails before it sends anything, naming why.
  auto third = quick_mode(*b_to_a, kHostB, sim_b, *a_from_b, kHostA, sim_a);
  EXPECT_EQ(third.responder, nullptr);
  EXPECT_NE(failure.find("our inbound ESP SPI: no inbound ESP SPI for 10.20.1.10: all 2 SPIs of 256-257"), std::string::npos) << failure;
  failure.clear();
  auto answered = quick_mode(*a_from_b, kHostA, sim_a, *b_to_a, kHostB, sim_b);
  EXPECT_EQ(answered.responder, nullptr);
  EXPECT_NE(failure.find("our inbound ESP SPI"), std::string::npos) << failure;
}

TEST_F(QuickModeSpiTest, AFailedQuickModeGivesItsSpisBackAndAnUnchosenProtocolsGoesBackAtInstall) {
  auto [b_to_a, a_from_b] = main_mode(kHostB, kHostA);
  ASSERT_FALSE(HasFatalFailure());
  // B offers ESP, then AH alone: it reserves an SPI of each, which is all it has.
  methods = {EspProposal{Cipher::AesGcm256, Integrity::None}, ProtectionSuite(AhProposal{Integrity::HmacSha256_128}, std::nullopt)};
  auto unanswered = QuickModeExchange::initiate(*b_to_a, ike::testing::quick_config(kHostB, kHostA, methods), sim_b, clock());
  ASSERT_TRUE(unanswered->build_quick_mode_1().has_value());
  EXPECT_FALSE(sim_b.allocate_spi(SecurityProtocol::Esp, kHostC).has_value()) << "both SPIs are reserved";
  // A never answers: after the last retransmission the exchange fails and gives both back.
  for (int i = 0; i < 10 && unanswered->state() != QuickModeExchange::State::Failed; ++i) {
    now += 10s;
    unanswered->on_timer();
  }
  ASSERT_EQ(unanswered->state(), QuickModeExchange::State::Failed);
  auto with_a = quick_mode(*b_to_a, kHostB, sim_b, *a_from_b, kHostA, sim_a);
  ASSERT_TRUE(with_a.responder) << failure;
  EXPECT_TRUE(with_a.initiator->chosen().esp && !with_a.initiator->chosen().ah) << "A chose ESP, the first";
  // The AH SPI B offered went back when the ESP SA went in: one SPI is free, not zero.
  auto free = sim_b.allocate_spi(SecurityProtocol::Ah, kHostC);
  ASSERT_TRUE(free.has_value()) << free.error();
  EXPECT_NE(*free, with_a.initiator->inbound_spi());
  // An exchange dropped before it installs (its main mode went) gives its SPIs back too.
  ASSERT_TRUE(sim_b.release_spi(*free, SecurityProtocol::Ah).has_value());
  auto dropped = QuickModeExchange::initiate(*b_to_a, ike::testing::quick_config(kHostB, kHostA, {methods[0]}), sim_b, clock());
  ASSERT_TRUE(dropped->build_quick_mode_1().has_value());
  EXPECT_FALSE(sim_b.allocate_spi(SecurityProtocol::Esp, kHostC).has_value());
  dropped.reset();
  EXPECT_TRUE(sim_b.allocate_spi(SecurityProtocol::Esp, kHostC).has_value());
}

}  // namespace
}  // namespace ward::ike::sa
