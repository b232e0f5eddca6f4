// DeadPeerDetector (RFC 3706, on demand) with time passed in: quiet peers are left alone, silence
// after our traffic is probed with back-off, an ACK of any probe of the round ends it, three
// unanswered probes make the peer dead; with the totals sampled every second, a peer that dies
// under traffic is probed `idle` after its last packet and dead at the nominal time.
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
  d.traffic(0, 3, true, kT0 + 1s);   // our traffic, never answered
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
  d.traffic(0, 3, true, kT0 + 1s);   // our traffic, never answered
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

// Sampled every second, as IkeService does: the peer's last packet is seen within a second of it.
// It dies at 25.5 s under steady traffic; the first R-U-THERE goes idle (10 s) after the sample
// that last saw its packets (26 s) and it is dead 10 + 2 + 4 + 8 s after that, not an idle period
// later (sampling only when the detector was due put the first probe 10-20 s after the death).
TEST(DeadPeerDetector, APeerThatDiesUnderTrafficIsProbedIdleAfterItsLastPacket) {
  DeadPeerDetector d(policy(), 1, kT0);
  std::uint64_t in = 0, out = 0;
  std::optional<sa::TimePoint> first_probe, dead;
  for (auto t = kT0 + 1s; t <= kT0 + 60s && !dead; t += 1s) {
    out += 10;
    if (t <= kT0 + 25s) in += 10;
    if (t == kT0 + 26s) in += 5;   // the packets of its last half second
    d.traffic(in, out, true, t);
    while (const auto due = d.due()) {
      if (*due > t) break;
      const auto action = d.on_timer(*due);
      if (action == Action::Probe && !first_probe) first_probe = *due;
      if (action == Action::Dead) dead = *due;
      if (action == Action::None) break;
    }
  }
  ASSERT_TRUE(first_probe.has_value());
  ASSERT_TRUE(dead.has_value());
  EXPECT_EQ(*first_probe, kT0 + 36s);
  EXPECT_EQ(*dead, kT0 + 50s);
}

// A peer quiet both ways for minutes is not probed the moment we send again: its answer gets
// `retry` to arrive; the probe goes only if it does not.
TEST(DeadPeerDetector, AfterAQuietSpellOurFirstPacketGetsRetryToBeAnswered) {
  DeadPeerDetector d(policy(), 1, kT0);
  EXPECT_EQ(d.on_timer(kT0 + 10s), Action::None);
  d.traffic(0, 1, true, kT0 + 300s);
  EXPECT_EQ(d.due(), kT0 + 302s);
  d.traffic(1, 2, true, kT0 + 301s);   // answered
  EXPECT_EQ(d.on_timer(kT0 + 302s), Action::None);
  EXPECT_EQ(d.due(), kT0 + 311s);

  d.traffic(1, 3, true, kT0 + 320s);   // sent again, never answered
  EXPECT_EQ(d.due(), kT0 + 322s);
  EXPECT_EQ(d.on_timer(kT0 + 322s), Action::Probe);
}

TEST(DeadPeerDetector, HearingThePeerWhileProbingEndsTheRound) {
  DeadPeerDetector d(policy(), 1, kT0);
  d.traffic(0, 3, true, kT0 + 1s);   // our traffic, never answered
  ASSERT_EQ(d.on_timer(kT0 + 10s), Action::Probe);
  d.traffic(1, 3, true, kT0 + 11s);   // an inbound ESP packet
  EXPECT_FALSE(d.probing());
  EXPECT_EQ(d.on_timer(kT0 + 12s), Action::None);
  EXPECT_EQ(name(Action::Dead), "dead");
}

}  // namespace
}  // namespace ward::ike::service
