// The userspace dataplane end to end in one process: two sim hosts exchange real ESP packets.
#include "driver/sim/sim_dataplane.h"

#include <gtest/gtest.h>

#include "driver/crypto/test_sas.h"
#include "driver/packet/packet_summary.h"
#include "driver/packet/test_packets.h"

namespace ward::driver {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kHostA = ip("10.20.1.10");
const IpAddress kHostB = ip("10.20.2.30");

struct RecordingListener : DataplaneListener {
  void on_acquire(const Acquire& acquire) override { acquires.push_back(acquire); }
  void on_expiry(const SaExpiry& expiry) override { expiries.push_back(expiry); }
  std::vector<Acquire> acquires;
  std::vector<SaExpiry> expiries;
};

// A filter and its mirror share one id: an SA protects both directions of its filter.
FilterTable table(std::uint32_t id, FilterAction action, std::uint8_t protocol = 0) {
  const auto a = IpPrefix::host(kHostA);
  const auto b = IpPrefix::host(kHostB);
  return {{DriverFilter{id, a, b, protocol, PortRange::any(), PortRange::any(), action, 32768, {}},
           DriverFilter{id, b, a, protocol, PortRange::any(), PortRange::any(), action, 32768, {}}}};
}

SaInstall sa(std::uint32_t spi, crypto::Direction direction, std::uint32_t filter, const IpAddress& peer, SaLifetime lifetime = {}) {
  crypto::testing::SaShape shape;  // AES-GCM-128, transport
  auto params = crypto::testing::outbound_params(shape, spi);
  if (direction == crypto::Direction::Inbound) params = crypto::fuzzing::inbound_of(params);
  return SaInstall{std::move(params), filter, peer, lifetime};
}

std::vector<std::byte> tcp(const IpAddress& from, const IpAddress& to, std::size_t payload = 100) {
  return testing::make_packet(from, to, 6, 40000, 445, payload);
}

class SimDataplaneTest : public ::testing::Test {
 protected:
  SimDataplaneTest()
      : a(listener_a, {}, [this] { return now; }), b(listener_b, {}, [this] { return now; }) {}

  void install_pair(std::uint32_t filter = 1, SaLifetime lifetime = {}) {
    ASSERT_TRUE(a.add_sa(sa(0x1001, crypto::Direction::Outbound, filter, kHostB, lifetime)).has_value());
    ASSERT_TRUE(b.add_sa(sa(0x1001, crypto::Direction::Inbound, filter, kHostA, lifetime)).has_value());
    ASSERT_TRUE(b.add_sa(sa(0x2001, crypto::Direction::Outbound, filter, kHostA, lifetime)).has_value());
    ASSERT_TRUE(a.add_sa(sa(0x2001, crypto::Direction::Inbound, filter, kHostB, lifetime)).has_value());
  }

  std::chrono::steady_clock::time_point now{};
  RecordingListener listener_a, listener_b;
  SimDataplane a, b;
};

TEST_F(SimDataplaneTest, NegotiateTrafficWaitsForItsSaAndThenFlowsProtectedBothWays) {
  ASSERT_TRUE(a.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  ASSERT_TRUE(b.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  const auto request = tcp(kHostA, kHostB);

  EXPECT_EQ(a.send(request).disposition, Disposition::Held);
  ASSERT_EQ(listener_a.acquires.size(), 1u);
  EXPECT_EQ(listener_a.acquires[0].filter_id, 1u);
  EXPECT_EQ(listener_a.acquires[0].peer, kHostB);
  EXPECT_EQ(listener_a.acquires[0].destination_port, 445);

  install_pair();
  const auto released = a.take_released();
  ASSERT_EQ(released.size(), 1u);
  const auto on_wire = summarize_ip_packet(released[0]);
  ASSERT_TRUE(on_wire.has_value());
  EXPECT_EQ(on_wire->protocol, 50);
  EXPECT_EQ(on_wire->esp_spi, 0x1001u);

  const auto delivered = b.receive(released[0]);
  ASSERT_EQ(delivered.disposition, Disposition::AcceptModified);
  EXPECT_EQ(delivered.bytes, request);

  const auto reply = tcp(kHostB, kHostA, 1400);
  const auto protected_reply = b.send(reply);
  ASSERT_EQ(protected_reply.disposition, Disposition::AcceptModified);
  const auto reply_delivered = a.receive(protected_reply.bytes);
  ASSERT_EQ(reply_delivered.disposition, Disposition::AcceptModified);
  EXPECT_EQ(reply_delivered.bytes, reply);

  const auto counters = b.counters();
  ASSERT_EQ(counters.sas.size(), 2u);
  std::uint64_t sa_packets = 0;
  for (const auto& s : counters.sas) sa_packets += s.packets;
  EXPECT_EQ(sa_packets, 2u);
  EXPECT_EQ(counters.filters[0].packets + counters.filters[1].packets, 2u);
}

// An SA is named by (peer, SPI, direction): outbound SPIs are chosen by the peers, and two peers
// may choose the same one; an inbound SPI names one SA on this host.
TEST_F(SimDataplaneTest, TwoPeersMayChooseTheSameOutboundSpiButAnInboundSpiIsOneSas) {
  const IpAddress host_c = ip("10.20.3.40");
  const auto a_prefix = IpPrefix::host(kHostA);
  FilterTable both;
  for (const auto& [id, peer] : {std::pair{1U, kHostB}, std::pair{2U, host_c}}) {
    const auto other = IpPrefix::host(peer);
    both.filters.push_back(DriverFilter{id, a_prefix, other, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}});
    both.filters.push_back(DriverFilter{id, other, a_prefix, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}});
  }
  ASSERT_TRUE(a.install_filter_table(both).has_value());
  ASSERT_TRUE(a.add_sa(sa(0x3001, crypto::Direction::Outbound, 1, kHostB)).has_value());
  ASSERT_TRUE(a.add_sa(sa(0x3001, crypto::Direction::Outbound, 2, host_c)).has_value());
  for (const auto& peer : {kHostB, host_c}) {
    const auto sent = a.send(tcp(kHostA, peer));
    ASSERT_EQ(sent.disposition, Disposition::AcceptModified) << "to " << peer.to_string() << ": the second SA must not replace the first";
    EXPECT_EQ(summarize_ip_packet(sent.bytes)->esp_spi, 0x3001U);
  }
  std::vector<IpAddress> peers;
  for (const auto& row : a.counters().sas) {
    if (row.spi == 0x3001 && row.direction == crypto::Direction::Outbound) peers.push_back(row.peer);
  }
  EXPECT_EQ(peers.size(), 2U);

  const auto ambiguous = a.delete_sa(0x3001, crypto::Direction::Outbound);
  ASSERT_FALSE(ambiguous.has_value());
  EXPECT_NE(ambiguous.error().find("name the peer"), std::string::npos) << ambiguous.error();
  EXPECT_FALSE(a.delete_sa_of_peer(0x3001, crypto::Direction::Outbound, ip("10.20.9.9")).has_value());
  ASSERT_TRUE(a.delete_sa_of_peer(0x3001, crypto::Direction::Outbound, kHostB).has_value());
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::Held) << "B's SA is gone";
  EXPECT_EQ(a.send(tcp(kHostA, host_c)).disposition, Disposition::AcceptModified) << "C's SA stays";

  ASSERT_TRUE(a.add_sa(sa(0x4001, crypto::Direction::Inbound, 1, kHostB)).has_value());
  const auto collision = a.add_sa(sa(0x4001, crypto::Direction::Inbound, 2, host_c));
  ASSERT_FALSE(collision.has_value()) << "an inbound SPI names one SA";
  EXPECT_NE(collision.error().find("already the SA from 10.20.2.30"), std::string::npos) << collision.error();
  EXPECT_TRUE(a.add_sa(sa(0x4001, crypto::Direction::Inbound, 1, kHostB)).has_value()) << "the same peer's SA is replaced";
  EXPECT_FALSE(a.delete_sa_of_peer(0x4001, crypto::Direction::Inbound, host_c).has_value());
  EXPECT_TRUE(a.delete_sa_of_peer(0x4001, crypto::Direction::Inbound, kHostB).has_value());
}

TEST_F(SimDataplaneTest, TamperedAndReplayedPacketsAreDroppedAndCounted) {
  ASSERT_TRUE(a.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  ASSERT_TRUE(b.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  install_pair();
  const auto esp = a.send(tcp(kHostA, kHostB));
  ASSERT_EQ(esp.disposition, Disposition::AcceptModified);

  auto tampered = esp.bytes;
  tampered[tampered.size() - 20] ^= std::byte{0x01};
  EXPECT_EQ(b.receive(tampered).disposition, Disposition::Drop);
  EXPECT_EQ(b.receive(esp.bytes).disposition, Disposition::AcceptModified) << "a failed ICV must not move the window";
  EXPECT_EQ(b.receive(esp.bytes).disposition, Disposition::Drop) << "replay";

  auto unknown_spi = esp.bytes;
  unknown_spi[20 + 3] ^= std::byte{0x40};
  EXPECT_EQ(b.receive(unknown_spi).disposition, Disposition::Drop);

  const auto counters = b.counters();
  EXPECT_EQ(counters.drops_by_reason[static_cast<std::size_t>(crypto::DropReason::IcvMismatch)], 1u);
  EXPECT_EQ(counters.drops_by_reason[static_cast<std::size_t>(crypto::DropReason::Replay)], 1u);
  EXPECT_EQ(counters.unknown_spi, 1u);
}

TEST_F(SimDataplaneTest, BlockPermitAndClearTrafficForANegotiateFilter) {
  ASSERT_TRUE(a.install_filter_table(table(7, FilterAction::Block)).has_value());
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::Drop);
  EXPECT_EQ(a.counters().blocked, 1u);

  ASSERT_TRUE(a.install_filter_table(table(8, FilterAction::Permit)).has_value());
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::Accept);
  EXPECT_EQ(a.send(tcp(ip("10.9.9.9"), kHostB)).disposition, Disposition::Accept) << "no filter: clear, as on Windows";

  ASSERT_TRUE(b.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  EXPECT_EQ(b.receive(tcp(kHostA, kHostB)).disposition, Disposition::Drop) << "clear traffic where IPsec is required";
  EXPECT_EQ(b.counters().unsecured_dropped, 1u);

  EXPECT_EQ(b.receive(std::vector<std::byte>(3, std::byte{0x45})).disposition, Disposition::Drop);
  EXPECT_EQ(b.counters().malformed, 1u);
}

TEST_F(SimDataplaneTest, DecryptedTrafficOutsideTheSasFilterIsDropped) {
  ASSERT_TRUE(a.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  FilterTable narrower = table(1, FilterAction::Negotiate, 6);  // B: the SA's filter covers TCP only
  const auto any = table(5, FilterAction::Negotiate);
  narrower.filters.insert(narrower.filters.end(), any.filters.begin(), any.filters.end());
  ASSERT_TRUE(b.install_filter_table(narrower).has_value());
  install_pair();
  const auto udp = a.send(testing::make_packet(kHostA, kHostB, 17, 5000, 53));
  ASSERT_EQ(udp.disposition, Disposition::AcceptModified);
  EXPECT_EQ(b.receive(udp.bytes).disposition, Disposition::Drop);
  EXPECT_EQ(b.counters().policy_mismatch, 1u);
}

TEST_F(SimDataplaneTest, AFewPacketsWaitForIkeAndTheRestOrTheLateOnesDrop) {
  ASSERT_TRUE(a.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  for (int i = 0; i < 6; ++i) a.send(tcp(kHostA, kHostB));
  auto counters = a.counters();
  EXPECT_EQ(counters.held, 4u);
  EXPECT_EQ(counters.hold_dropped, 2u);
  EXPECT_EQ(counters.acquires, 1u) << "one acquire per flow";

  now += 31s;
  a.tick();
  EXPECT_EQ(a.counters().hold_dropped, 6u);
  install_pair();
  EXPECT_TRUE(a.take_released().empty()) << "packets that timed out are not sent later";
}

// The acquire is repeated every reacquire_interval (250 ms) while the flow's packets keep coming,
// also when they no longer fit in the hold: a negotiation that failed (a dead peer) is retried as
// soon as traffic wants it, not when the 30 s hold times out.
TEST_F(SimDataplaneTest, AHeldFlowWhosePacketsKeepComingAsksIkeAgainEveryQuarterSecond) {
  ASSERT_TRUE(a.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  for (int i = 0; i < 12; ++i) {   // a packet every 100 ms for 1.1 s
    a.send(tcp(kHostA, kHostB));
    now += 100ms;
  }
  EXPECT_EQ(listener_a.acquires.size(), 4u) << "at 0, 300, 600 and 900 ms";
  EXPECT_EQ(a.counters().acquires, 4u);
  EXPECT_EQ(a.counters().held, 4u);
  EXPECT_EQ(a.counters().hold_dropped, 8u);
  now += 2s;   // quiet: no packet, no acquire
  EXPECT_EQ(listener_a.acquires.size(), 4u);
  a.send(tcp(kHostA, kHostB));
  EXPECT_EQ(listener_a.acquires.size(), 5u) << "traffic again: asked at once";
  install_pair();
  EXPECT_EQ(a.take_released().size(), 4u) << "the held packets go out with the SA";
}

TEST_F(SimDataplaneTest, LifetimesRaiseSoftThenHardExpiryAndAHardExpiredSaIsGone) {
  ASSERT_TRUE(a.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  install_pair(1, SaLifetime{10s, 20s, 0, 0});
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::AcceptModified);

  now += 11s;
  a.tick();
  ASSERT_EQ(listener_a.expiries.size(), 2u);  // the inbound and the outbound SA
  EXPECT_EQ(listener_a.expiries[0].kind, ExpiryKind::Soft);
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::AcceptModified) << "soft expiry: still usable";

  now += 10s;
  a.tick();
  ASSERT_EQ(listener_a.expiries.size(), 4u);
  EXPECT_EQ(listener_a.expiries[3].kind, ExpiryKind::Hard);
  EXPECT_TRUE(a.counters().sas.empty());
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::Held) << "hard expiry: a new SA is needed";
  EXPECT_EQ(listener_a.acquires.size(), 1u);
}

// At a gigabit a 100 MB lifetime lasts under a second: soft and hard can both be crossed between two
// ticks. The engine then asks for a tick at once, and reports soft (which starts the rekey) before hard.
TEST_F(SimDataplaneTest, AByteLifetimeCrossedBetweenTicksAsksForATickAndReportsSoftBeforeHard) {
  ASSERT_TRUE(a.install_filter_table(table(1, FilterAction::Negotiate)).has_value());
  install_pair(1, SaLifetime{0s, 0s, 1000, 2000});
  EXPECT_FALSE(a.expiry_due());
  std::size_t sent = 0;
  while (sent < 1000) {
    const auto packet = tcp(kHostA, kHostB);
    ASSERT_EQ(a.send(packet).disposition, Disposition::AcceptModified);
    sent += packet.size();
  }
  EXPECT_TRUE(a.expiry_due()) << "past the soft byte lifetime";
  while (sent < 2000) {
    const auto packet = tcp(kHostA, kHostB);
    ASSERT_EQ(a.send(packet).disposition, Disposition::AcceptModified) << "usable until the tick removes it";
    sent += packet.size();
  }
  a.tick();
  EXPECT_FALSE(a.expiry_due());
  ASSERT_EQ(listener_a.expiries.size(), 2u);  // the outbound SA's: nothing came in
  EXPECT_EQ(listener_a.expiries[0].kind, ExpiryKind::Soft);
  EXPECT_EQ(listener_a.expiries[1].kind, ExpiryKind::Hard);
  EXPECT_EQ(listener_a.expiries[0].spi, 0x1001u);
  EXPECT_EQ(listener_a.expiries[1].spi, 0x1001u);
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::Held) << "hard expiry: a new SA is needed";
}

TEST_F(SimDataplaneTest, TrafficToGroupOrBroadcastAddressesIsDroppedWithoutANegotiation) {
  const auto any_v4 = IpPrefix::any(IpFamily::V4);
  const auto any_v6 = IpPrefix::any(IpFamily::V6);
  ASSERT_TRUE(a.install_filter_table(
                   {{DriverFilter{7, any_v4, any_v4, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}},
                     DriverFilter{7, any_v6, any_v6, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}}}})
                  .has_value());
  for (const char* group : {"224.0.0.5", "239.1.2.3", "255.255.255.255", "ff02::16", "ff05::1:3"}) {
    const IpAddress source = ip(group).family() == IpFamily::V4 ? kHostA : ip("fe80::1");
    EXPECT_EQ(a.send(testing::make_packet(source, ip(group), 17, 5000, 5000, 20)).disposition, Disposition::Drop) << group;
  }
  EXPECT_TRUE(listener_a.acquires.empty()) << "no IKE peer answers for a group address";
  EXPECT_EQ(a.counters().unsecured_dropped, 5u);
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::Held) << "unicast still negotiates";
  EXPECT_EQ(listener_a.acquires.size(), 1u);
}

TEST_F(SimDataplaneTest, BadSaParametersAreRefusedWithAReason) {
  auto bad = sa(0x10, crypto::Direction::Outbound, 1, kHostB);  // SPIs 1..255 are reserved
  const auto added = a.add_sa(std::move(bad));
  ASSERT_FALSE(added.has_value());
  EXPECT_NE(added.error().find("SPI"), std::string::npos) << added.error();
}

}  // namespace
}  // namespace ward::driver
