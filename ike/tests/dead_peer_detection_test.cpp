// DeadPeerDetector (RFC 3706, on demand) with time passed in: quiet peers are left alone, silence
// after our traffic is probed with back-off, an ACK of any probe of the round ends it, three
// unanswered probes make the peer dead.
#include <gtest/gtest.h>

#include "ike/service/dead_peer_detection.h"

namespace ward::ike::service {
namespace {

using namespace std::chrono_literals;
using Action = DeadPeerDetector::Action;

const sa::TimePoint kT0 = sa::TimePoint{} + 1000s;
DpdPolicy policy() { return DpdPolicy{true, 10s, 2s, 3}; }

TEST(DeadPeerDetector, QuietBothWaysSendsNothing) {
  DeadPeerDetector d(policy(), 100, kT0);
  EXPECT_EQ(d.due(), kT0 + 10s);
  d.traffic(0, 0, true, kT0 + 10s);
  EXPECT_EQ(d.on_timer(kT0 + 10s), Action::None);
  EXPECT_EQ(d.due(), kT0 + 20s);
  EXPECT_FALSE(d.probing());
}

TEST(DeadPeerDetector, InboundTrafficIsLife) {
  DeadPeerDetector d(policy(), 100, kT0);
  d.traffic(5, 5, true, kT0 + 9s);   // both ways: heard at 9 s
  d.traffic(5, 9, true, kT0 + 10s);   // then only outbound
  EXPECT_EQ(d.on_timer(kT0 + 10s), Action::None) << "heard 1 s ago";
  EXPECT_EQ(d.due(), kT0 + 19s);
  d.traffic(5, 12, true, kT0 + 19s);
  EXPECT_EQ(d.on_timer(kT0 + 19s), Action::Probe);
  EXPECT_EQ(d.sequence(), 101U);
}

TEST(DeadPeerDetector, NoCountersMeansIdleIsEnough) {
  DeadPeerDetector d(policy(), 7, kT0);
  d.traffic(0, 0, false, kT0 + 10s);
  EXPECT_EQ(d.on_timer(kT0 + 10s), Action::Probe);
}

TEST(DeadPeerDetector, ThreeUnansweredProbesWithBackOffMakeThePeerDead) {
  DeadPeerDetector d(policy(), 0xfffffffe, kT0);   // wraps during the round
  d.traffic(0, 3, true, kT0 + 10s);
  ASSERT_EQ(d.on_timer(kT0 + 10s), Action::Probe);
  EXPECT_EQ(d.sequence(), 0xffffffffU);
  EXPECT_EQ(d.due(), kT0 + 12s);
  EXPECT_EQ(d.on_timer(kT0 + 11s), Action::None);
  ASSERT_EQ(d.on_timer(kT0 + 12s), Action::Probe);
  EXPECT_EQ(d.sequence(), 0U);
  EXPECT_EQ(d.due(), kT0 + 16s);
  ASSERT_EQ(d.on_timer(kT0 + 16s), Action::Probe);
  EXPECT_EQ(d.unanswered(), 3U);
  EXPECT_EQ(d.due(), kT0 + 24s);
  EXPECT_EQ(d.on_timer(kT0 + 24s), Action::Dead);
  EXPECT_TRUE(d.dead());
  EXPECT_EQ(d.due(), std::nullopt);
  EXPECT_FALSE(d.acknowledged(0, kT0 + 25s)) << "too late";
}

TEST(DeadPeerDetector, AnAckOfAnyProbeOfTheRoundEndsIt) {
  DeadPeerDetector d(policy(), 0xfffffffe, kT0);
  d.traffic(0, 3, true, kT0 + 10s);
  ASSERT_EQ(d.on_timer(kT0 + 10s), Action::Probe);   // 0xffffffff
  ASSERT_EQ(d.on_timer(kT0 + 12s), Action::Probe);   // 0
  EXPECT_FALSE(d.acknowledged(1, kT0 + 13s)) << "not sent yet";
  EXPECT_FALSE(d.acknowledged(0xfffffffe, kT0 + 13s)) << "before the round";
  EXPECT_TRUE(d.acknowledged(0xffffffff, kT0 + 13s)) << "a late answer to the first probe";
  EXPECT_FALSE(d.probing());
  EXPECT_EQ(d.unanswered(), 0U);
  EXPECT_EQ(d.due(), kT0 + 23s);
  EXPECT_FALSE(d.acknowledged(0, kT0 + 14s)) << "the round is over";
}

TEST(DeadPeerDetector, HearingThePeerWhileProbingEndsTheRound) {
  DeadPeerDetector d(policy(), 1, kT0);
  d.traffic(0, 3, true, kT0 + 10s);
  ASSERT_EQ(d.on_timer(kT0 + 10s), Action::Probe);
  d.traffic(1, 3, true, kT0 + 11s);   // an inbound ESP packet
  EXPECT_FALSE(d.probing());
  EXPECT_EQ(d.on_timer(kT0 + 12s), Action::None);
  EXPECT_EQ(name(Action::Dead), "dead");
}

}  // namespace
}  // namespace ward::ike::service
