// Dead peer detection (RFC 3706) between two IkeServices on loopback: the vendor IDs, probes after
// silence that follows our traffic, a peer declared dead and its SAs removed, and the timing on the
// service's own clock.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>

#include "driver/packet/test_packets.h"
#include "ike/tests/service_hosts.h"

namespace ward::ike {
namespace {

using namespace service_test;
using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Direction;
using driver::crypto::Integrity;
using service::IkeEvent;

service::IkeServiceOptions dpd_options(const Host& h) {
  auto o = h.options();
  o.dpd = service::DpdPolicy{true, 300ms, 100ms, 3, 50ms};
  return o;
}

// Starts both, negotiates A -> B; true when the SAs are up on both sides.
bool establish(Host& a, Host& b, service::IkeServiceOptions oa, service::IkeServiceOptions ob) {
  a.start(std::move(oa));
  b.start(std::move(ob));
  if (!a.ike || !b.ike) return false;
  a.ike->initiate(acquire_to(kA, kB));
  return a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value() &&
         b.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value();
}

// A's outbound traffic to B (protected, never delivered): what makes B's silence worth a probe.
void send_outbound(Host& a) {
  const auto packet = driver::testing::make_packet(kA, kB, 17, 5000, 53, 64);
  EXPECT_EQ(a.sim.send(packet).disposition, driver::Disposition::AcceptModified);
}

TEST(IkeServiceDpd, VendorIdsAreExchangedAndAQuietPeerIsNotProbed) {
  Host a(kA, "dpd"), b(kB, "dpd");
  ASSERT_TRUE(establish(a, b, dpd_options(a), dpd_options(b)));
  a.ike->sync();
  b.ike->sync();
  ASSERT_EQ(a.ike->snapshot().main_modes.size(), 1U);
  EXPECT_TRUE(a.ike->snapshot().main_modes[0].dpd);
  EXPECT_TRUE(b.ike->snapshot().main_modes[0].dpd);
  std::this_thread::sleep_for(700ms);   // more than two idle periods, no traffic either way
  EXPECT_EQ(a.ike->snapshot().counters.dpd_probes_sent, 0U);
  EXPECT_EQ(b.ike->snapshot().counters.dpd_probes_sent, 0U);

  // A peer that does not announce DPD is never probed.
  Host c(kA, "dpd"), d(kB, "dpd");
  auto od = d.options();
  od.port = static_cast<std::uint16_t>(od.port + 1);
  auto oc = dpd_options(c);
  oc.port = od.port;
  od.dpd.enabled = false;
  ASSERT_TRUE(establish(c, d, oc, od));
  c.ike->sync();
  EXPECT_FALSE(c.ike->snapshot().main_modes.at(0).dpd);
}

TEST(IkeServiceDpd, SilenceAfterOurTrafficIsProbedAndTheAnswerKeepsTheSas) {
  Host a(kA, "dpd"), b(kB, "dpd");
  ASSERT_TRUE(establish(a, b, dpd_options(a), dpd_options(b)));
  send_outbound(a);
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.counters.dpd_acks_received >= 1; });
  EXPECT_GE(s.counters.dpd_probes_sent, 1U);
  EXPECT_GE(s.counters.dpd_acks_received, 1U);
  EXPECT_EQ(s.counters.dpd_acks_unexpected, 0U);
  EXPECT_EQ(s.counters.peers_dead, 0U);
  EXPECT_EQ(s.main_modes.size(), 1U);
  EXPECT_EQ(s.quick_modes.size(), 1U);
  EXPECT_EQ(a.sim.counters().sas.size(), 2U);
  b.ike->sync();
  EXPECT_GE(b.ike->snapshot().counters.dpd_acks_sent, 1U);
}

TEST(IkeServiceDpd, APeerThatStopsAnsweringIsDeclaredDeadAndItsSasRemoved) {
  Host a(kA, "dpd"), b(kB, "dpd");
  ASSERT_TRUE(establish(a, b, dpd_options(a), dpd_options(b)));
  struct Release {
    Stall& stall;
    ~Release() { stall.release(); }
  } release{b.policy.stall};
  b.policy.stall.hold();
  auto stuck = acquire_to(kB, kA);
  stuck.filter_id = kStallFilterId;
  b.ike->initiate(stuck);
  ASSERT_TRUE(b.policy.stall.wait_entered(2000ms)) << "B's event thread did not stop";

  const auto started = std::chrono::steady_clock::now();
  send_outbound(a);
  const auto gone = a.events.wait_for(IkeEvent::Kind::SasDeleted, 5000ms);
  ASSERT_TRUE(gone.has_value());
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::printf("peer declared dead after %lld ms (idle 300 ms after phase 1; probes at 300, 400, 600 ms; dead at 1000 ms)\n",
              static_cast<long long>(elapsed.count()));
  EXPECT_NE(gone->reason.find("peer-dead"), std::string::npos) << gone->reason;
  EXPECT_EQ(gone->peer, kB);
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.main_modes.empty(); });
  EXPECT_TRUE(s.main_modes.empty());
  EXPECT_TRUE(s.quick_modes.empty());
  EXPECT_EQ(s.counters.peers_dead, 1U);
  EXPECT_EQ(s.counters.dpd_probes_sent, 3U);
  EXPECT_EQ(s.counters.dpd_acks_received, 0U);
  EXPECT_EQ(s.counters.sas_deleted, 1U);
  EXPECT_TRUE(a.sim.counters().sas.empty()) << "the dataplane lost the pair";
  // Two SasDeleted events: the quick mode pair and the phase 1 SA (the snapshot is published
  // before the first, so the second may still be on its way).
  const auto until = std::chrono::steady_clock::now() + 2000ms;
  while (a.events.count(IkeEvent::Kind::SasDeleted) < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(a.events.count(IkeEvent::Kind::SasDeleted), 2U);
}

// The same on the service's own clock (IkeServiceOptions::clock), stepped by the test, so the
// times are exact whatever the machine's load: A and B exchange traffic every 100 ms; B dies
// (its event thread held, its packets no longer reach A) at 5.55 s while A keeps sending. With
// the dataplane's totals sampled every second (DpdPolicy::sample), A's first R-U-THERE goes idle
// (10 s) after the sample that last saw B's packets, and B is dead 10 + 1 + 2 + 4 s after that:
// at most one sample interval after the nominal times counted from the death. Before, the totals
// were read only when the detector was due, and the first probe came up to two idle periods late.
TEST(IkeServiceDpd, OnTheServicesClockAPeerIsProbedAndDeclaredDeadOnTime) {
  std::atomic<std::int64_t> elapsed_ms{0};   // before the hosts: A's event thread reads it until A stops
  const auto t0 = std::chrono::steady_clock::now();
  Host a(kA, "dpd"), b(kB, "dpd");
  auto oa = a.options();
  oa.clock = [&elapsed_ms, t0] { return t0 + std::chrono::milliseconds(elapsed_ms.load()); };
  oa.outbound_after_message_3 = 0ms;   // a timer on A's clock: it only moves when the test says
  oa.dpd = service::DpdPolicy{true, 10s, 1s, 3, 1s};
  auto ob = b.options();
  ob.dpd = service::DpdPolicy{true, 600s, 1s, 3};   // B never probes A here
  ASSERT_TRUE(establish(a, b, oa, ob));
  // The event thread runs its timers after each command: the second sync() returns after the
  // timers of the new time ran, and its snapshot is published after them.
  const auto step_to = [&](std::chrono::milliseconds t) {
    elapsed_ms = t.count();
    a.ike->sync();
    a.ike->sync();
  };
  const auto a_to_b = driver::testing::make_packet(kA, kB, 17, 5000, 53, 64);
  const auto b_to_a = driver::testing::make_packet(kB, kA, 17, 53, 5000, 64);
  struct Release {
    Stall& stall;
    ~Release() { stall.release(); }
  } release{b.policy.stall};

  constexpr auto kDeath = 5550ms;
  std::optional<std::chrono::milliseconds> first_probe, dead;
  for (auto t = 100ms; t <= 40s && !dead; t += 100ms) {
    ASSERT_EQ(a.sim.send(a_to_b).disposition, driver::Disposition::AcceptModified);
    if (t < kDeath) {
      const auto esp = b.sim.send(b_to_a);
      ASSERT_EQ(esp.disposition, driver::Disposition::AcceptModified);
      ASSERT_EQ(a.sim.receive(esp.bytes).disposition, driver::Disposition::AcceptModified);
    } else if (t - 100ms < kDeath) {
      // B stops answering anything: its event thread waits in a policy lookup.
      b.policy.stall.hold();
      auto stuck = acquire_to(kB, kA);
      stuck.filter_id = kStallFilterId;
      b.ike->initiate(stuck);
      ASSERT_TRUE(b.policy.stall.wait_entered(2000ms)) << "B's event thread did not stop";
    }
    step_to(t);
    const auto s = a.ike->snapshot();
    if (!first_probe && s.counters.dpd_probes_sent > 0) first_probe = t;
    if (s.counters.peers_dead > 0) dead = t;
  }
  ASSERT_TRUE(first_probe.has_value());
  ASSERT_TRUE(dead.has_value()) << "no peer-dead in 40 s";
  std::printf("B died at %lld ms: first R-U-THERE at %lld ms, peer-dead at %lld ms (nominal %lld and %lld ms)\n",
              static_cast<long long>(kDeath.count()), static_cast<long long>(first_probe->count()),
              static_cast<long long>(dead->count()), static_cast<long long>((kDeath + 10s).count()),
              static_cast<long long>((kDeath + 17s).count()));
  EXPECT_GE(*first_probe, kDeath + 10s - 1s);
  EXPECT_LE(*first_probe, kDeath + 10s + 1s);
  EXPECT_GE(*dead, kDeath + 17s - 1s);
  EXPECT_LE(*dead, kDeath + 17s + 1s);
  const auto s = a.ike->snapshot();
  EXPECT_EQ(s.counters.dpd_probes_sent, 3U);
  EXPECT_EQ(s.counters.dpd_acks_received, 0U);
  EXPECT_TRUE(a.sim.counters().sas.empty()) << "the dataplane lost the pair";
}

}  // namespace
}  // namespace ward::ike
