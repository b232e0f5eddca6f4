// The in-process exchange fixture (strongSwan's test_child_rekey style) that exchange_test and
// legacy_exchange_test share: a Ward initiator and a Ward responder, each message handed across in
// memory and the state asserted after it; the quick mode SAs go into two SimDataplanes. Time is a
// variable. `proposals`, `esp`, `pfs` and `legacy` (allow legacy algorithms on both ends) are
// what a test changes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"
#include "ike/tests/exchange_support.h"

namespace ward::ike::sa::testing_fixture {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;
using State = Phase1Sa::State;
using QmState = QuickModeExchange::State;

using ike::testing::kFilterId;
using ike::testing::kHostA;
using ike::testing::kHostB;
using ike::testing::negotiate_table;
using ike::testing::NullDataplaneListener;

template <class T, class E>
inline T take(Expected<T, E>&& result) {
  EXPECT_TRUE(result.has_value());
  return std::move(*result);
}

inline bool contains(const std::vector<std::string>& lines, std::string_view text) {
  for (const auto& line : lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

class IkeExchangeTest : public ::testing::Test {
 protected:
  IkeExchangeTest()
      : psk_a(auth::preshared_key_from_text("correct horse battery staple")),
        psk_b(auth::preshared_key_from_text("correct horse battery staple")),
        sim_a(listener, {}, [this] { return now; }),
        sim_b(listener, {}, [this] { return now; }) {
    EXPECT_TRUE(sim_a.install_filter_table(negotiate_table()).has_value());
    EXPECT_TRUE(sim_b.install_filter_table(negotiate_table()).has_value());
  }

  Clock clock() { return [this] { return now; }; }

  Phase1Config phase1_config(const IpAddress& local, const IpAddress& peer, std::vector<std::string>& log) {
    auto c = ike::testing::phase1_config(local, peer, proposals, log);
    c.allow_legacy = legacy;
    return c;
  }

  QuickModeConfig quick_config(const IpAddress& local, const IpAddress& peer) {
    auto c = ike::testing::quick_config(local, peer, esp, pfs);
    c.allow_legacy = legacy;
    return c;
  }

  // Main mode, six messages, asserting the state after each.
  void run_main_mode() {
    initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
    //   HDR, SA  -->
    auto m1 = initiator->build_main_mode_1();
    ASSERT_TRUE(m1.has_value()) << m1.error();
    EXPECT_EQ(initiator->state(), State::MainMode1Sent);
    //            <--  HDR, SA
    std::vector<std::byte> m2;
    auto responded = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), psk_b, clock(), *m1, m2);
    ASSERT_TRUE(responded.has_value()) << responded.error();
    responder = std::move(*responded);
    EXPECT_EQ(responder->state(), State::MainMode2Sent);
    //   HDR, KE, Ni  -->
    const auto m3 = initiator->handle(m2);
    ASSERT_FALSE(m3.empty()) << initiator->failure();
    EXPECT_EQ(initiator->state(), State::MainMode3Sent);
    //            <--  HDR, KE, Nr
    const auto m4 = responder->handle(m3);
    ASSERT_FALSE(m4.empty()) << responder->failure();
    EXPECT_EQ(responder->state(), State::MainMode4Sent);
    //   HDR*, IDii, HASH_I  -->
    const auto m5 = initiator->handle(m4);
    ASSERT_FALSE(m5.empty()) << initiator->failure();
    EXPECT_EQ(initiator->state(), State::MainMode5Sent);
    //            <--  HDR*, IDir, HASH_R
    const auto m6 = responder->handle(m5);
    ASSERT_FALSE(m6.empty()) << responder->failure();
    EXPECT_EQ(responder->state(), State::MainMode6Sent);
    EXPECT_TRUE(responder->established());
    EXPECT_TRUE(initiator->handle(m6).empty());
    EXPECT_EQ(initiator->state(), State::MainMode6Received) << initiator->failure();
    EXPECT_TRUE(initiator->established());
    EXPECT_EQ(initiator->last_iv(), responder->last_iv()) << "both ends chain the same CBC IV";
  }

  // Quick mode, three messages; both sides install their SAs.
  void run_quick_mode() {
    qm_initiator = QuickModeExchange::initiate(*initiator, quick_config(kHostA, kHostB), sim_a, clock());
    //   HDR*, HASH(1), SA, Ni [, KE], IDci, IDcr  -->
    auto q1 = qm_initiator->build_quick_mode_1();
    ASSERT_TRUE(q1.has_value()) << q1.error();
    EXPECT_EQ(qm_initiator->state(), QmState::QuickMode1Sent);
    //            <--  HDR*, HASH(2), SA, Nr [, KE], IDci, IDcr
    std::vector<std::byte> q2;
    auto responded = QuickModeExchange::respond(*responder, quick_config(kHostB, kHostA), sim_b, clock(), *q1, q2);
    ASSERT_TRUE(responded.has_value()) << responded.error();
    qm_responder = std::move(*responded);
    EXPECT_EQ(qm_responder->state(), QmState::QuickMode2Sent);
    //   HDR*, HASH(3)  -->          (initiator installs)
    const auto q3 = qm_initiator->handle(q2);
    ASSERT_FALSE(q3.empty()) << qm_initiator->failure();
    EXPECT_EQ(qm_initiator->state(), QmState::QuickMode3Sent);
    EXPECT_EQ(sim_a.counters().sas.size(), 2u);
    //                               (responder installs)
    EXPECT_TRUE(qm_responder->handle(q3).empty());
    EXPECT_EQ(qm_responder->state(), QmState::QuickMode3Received) << qm_responder->failure();
    EXPECT_EQ(sim_b.counters().sas.size(), 2u);
    EXPECT_EQ(qm_initiator->inbound_spi(), qm_responder->outbound_spi());
    EXPECT_EQ(qm_initiator->outbound_spi(), qm_responder->inbound_spi());
  }

  // A TCP packet A -> B protected by A's outbound SA and accepted by B's inbound SA, and back.
  void expect_traffic_flows() {
    const auto request = driver::testing::make_packet(kHostA, kHostB, 6, 40000, 445, 300);
    const auto sealed = sim_a.send(request);
    ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
    const auto opened = sim_b.receive(sealed.bytes);
    ASSERT_EQ(opened.disposition, driver::Disposition::AcceptModified) << "B's inbound SA must open A's packet";
    EXPECT_EQ(opened.bytes, request);
    const auto reply = driver::testing::make_packet(kHostB, kHostA, 6, 445, 40000, 1200);
    const auto sealed_reply = sim_b.send(reply);
    ASSERT_EQ(sealed_reply.disposition, driver::Disposition::AcceptModified);
    const auto opened_reply = sim_a.receive(sealed_reply.bytes);
    ASSERT_EQ(opened_reply.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(opened_reply.bytes, reply);
  }

  std::chrono::steady_clock::time_point now{};
  std::vector<Phase1Proposal> proposals{{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256,
                                         IkeGroupDescription::Ecp256, 28800s}};
  std::vector<ProtectionSuite> esp{EspProposal{Cipher::AesGcm256, Integrity::None}};
  std::optional<IkeGroupDescription> pfs;
  bool legacy = false;
  std::vector<std::string> log_a, log_b;
  auth::PresharedKeyProvider psk_a, psk_b;
  NullDataplaneListener listener;
  driver::SimDataplane sim_a, sim_b;
  std::unique_ptr<Phase1Sa> initiator, responder;
  std::unique_ptr<QuickModeExchange> qm_initiator, qm_responder;
};

}  // namespace ward::ike::sa::testing_fixture
