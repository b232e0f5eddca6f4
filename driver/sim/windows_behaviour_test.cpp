// Windows' negotiate behaviours in the userspace dataplane, two sim hosts exchanging real packets:
// inbound pass-through ("accept unsecured communication, but always respond using IPsec"), soft
// associations ("allow fallback to unsecured communication"), and the dynamic filters of default
// response SAs (a host without filters answers a peer that asks for security).
#include <gtest/gtest.h>

#include "driver/crypto/esp.h"
#include "driver/crypto/test_sas.h"
#include "driver/packet/packet_summary.h"
#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"

namespace ward::driver {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kServer = ip("10.20.1.10");
const IpAddress kClient = ip("10.20.2.30");
constexpr std::uint32_t kAllIp = 7;     // the server's "All IP Traffic" (negotiate)
constexpr std::uint32_t kAllIcmp = 8;   // its "All ICMP Traffic" (permit)
constexpr std::uint32_t kDefaultResponse = 9;
constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kIcmp = 1;

struct RecordingListener : DataplaneListener {
  void on_acquire(const Acquire& acquire) override { acquires.push_back(acquire); }
  void on_expiry(const SaExpiry& expiry) override { expiries.push_back(expiry); }
  std::vector<Acquire> acquires;
  std::vector<SaExpiry> expiries;
};

DriverFilter filter(std::uint32_t id, const IpPrefix& from, const IpPrefix& to, std::uint8_t protocol, FilterAction action,
                    std::uint32_t weight, bool accept_unsecured = false) {
  return DriverFilter{id, from, to, protocol, PortRange::any(), PortRange::any(), action, weight, {}, accept_unsecured};
}

// The Windows default server policies on the server: ICMP permitted (more specific), all other IP
// traffic negotiated; mirrored, one id per filter.
FilterTable server_table(bool accept_unsecured) {
  const auto me = IpPrefix::host(kServer);
  const auto any = IpPrefix::any(IpFamily::V4);
  return {{filter(kAllIcmp, me, any, kIcmp, FilterAction::Permit, 33000), filter(kAllIcmp, any, me, kIcmp, FilterAction::Permit, 33000),
           filter(kAllIp, me, any, 0, FilterAction::Negotiate, 32768, accept_unsecured),
           filter(kAllIp, any, me, 0, FilterAction::Negotiate, 32768, accept_unsecured)}};
}

SaInstall sa(std::uint32_t spi, crypto::Direction direction, std::uint32_t filter_id, const IpAddress& peer, SaLifetime lifetime = {}) {
  auto params = crypto::testing::outbound_params(crypto::testing::SaShape{}, spi);  // AES-GCM-128, transport
  if (direction == crypto::Direction::Inbound) params = crypto::fuzzing::inbound_of(params);
  return SaInstall{std::move(params), filter_id, peer, lifetime};
}

// What a default response quick mode with the server installs on the client.
SaInstall dynamic_sa(std::uint32_t spi, crypto::Direction direction, SaLifetime lifetime = {}) {
  auto install = sa(spi, direction, kDefaultResponse, kServer, lifetime);
  install.dynamic = DynamicSelector{kClient, kServer, 0, 0, 0};
  return install;
}

std::vector<std::byte> tcp(const IpAddress& from, const IpAddress& to, std::uint16_t sport = 40000, std::uint16_t dport = 445) {
  return testing::make_packet(from, to, kTcp, sport, dport, 100);
}
std::vector<std::byte> icmp(const IpAddress& from, const IpAddress& to) { return testing::make_packet(from, to, kIcmp, 0, 0, 56); }

class WindowsBehaviourTest : public ::testing::Test {
 protected:
  WindowsBehaviourTest() : server(server_events, {}, [this] { return now; }), client(client_events, {}, [this] { return now; }) {}

  std::chrono::steady_clock::time_point now{};
  RecordingListener server_events, client_events;
  SimDataplane server, client;
};

// "Accept unsecured communication, but always respond using IPsec": the client's clear SYN gets in,
// the server's reply asks IKE for an SA. Without the option the same SYN is dropped.
TEST_F(WindowsBehaviourTest, InboundPassThroughAcceptsClearAndTheReplyNegotiates) {
  ASSERT_TRUE(server.install_filter_table(server_table(true)));
  EXPECT_EQ(server.receive(tcp(kClient, kServer)).disposition, Disposition::Accept);
  EXPECT_EQ(server.counters().unsecured_accepted, 1u);
  EXPECT_EQ(server.counters().unsecured_dropped, 0u);
  EXPECT_EQ(server.send(tcp(kServer, kClient, 445, 40000)).disposition, Disposition::Held);
  ASSERT_EQ(server_events.acquires.size(), 1u);
  EXPECT_EQ(server_events.acquires[0].filter_id, kAllIp);
  EXPECT_EQ(server_events.acquires[0].peer, kClient);

  ASSERT_TRUE(server.install_filter_table(server_table(false)));
  EXPECT_EQ(server.receive(tcp(kClient, kServer)).disposition, Disposition::Drop);
  EXPECT_EQ(server.counters().unsecured_dropped, 1u);
  // ICMP is permitted in clear whatever the negotiate filter says.
  EXPECT_EQ(server.receive(icmp(kClient, kServer)).disposition, Disposition::Accept);
}

// Fallback to clear: the held packets go out in clear, the pair's traffic passes both ways, traffic
// keeps the association alive; idle for its lifetime it ends, and the next packet asks IKE again.
TEST_F(WindowsBehaviourTest, ASoftAssociationReleasesTheHeldPacketsInClearUntilItIsIdleForItsLifetime) {
  ASSERT_TRUE(server.install_filter_table(server_table(false)));
  const auto syn = tcp(kServer, kClient, 50000, 80);
  ASSERT_EQ(server.send(syn).disposition, Disposition::Held);
  ASSERT_EQ(server_events.acquires.size(), 1u);

  now += 3s;
  ASSERT_TRUE(server.add_soft_association(SoftAssociation{kAllIp, kClient, 300s}));
  const auto released = server.take_released();
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0], syn) << "released in clear, unchanged";
  EXPECT_EQ(server.send(syn).disposition, Disposition::Accept);
  EXPECT_EQ(server.receive(tcp(kClient, kServer, 80, 50000)).disposition, Disposition::Accept) << "the reply comes in clear";
  EXPECT_EQ(server.receive(tcp(ip("10.20.2.31"), kServer)).disposition, Disposition::Drop) << "another peer has no association";

  auto counters = server.counters();
  ASSERT_EQ(counters.soft_associations.size(), 1u);
  EXPECT_EQ(counters.soft_associations[0].peer, kClient);
  EXPECT_EQ(counters.soft_associations[0].filter_id, kAllIp);
  EXPECT_EQ(counters.soft_associations[0].packets, 3u);
  EXPECT_EQ(counters.soft_associations[0].expires_in, 300s);

  now += 299s;  // traffic at 299 s restarts the idle lifetime
  EXPECT_EQ(server.send(syn).disposition, Disposition::Accept);
  now += 299s;
  server.tick();
  ASSERT_EQ(server.counters().soft_associations.size(), 1u);
  now += 1s;
  server.tick();
  EXPECT_TRUE(server.counters().soft_associations.empty());
  EXPECT_EQ(server.send(syn).disposition, Disposition::Held);
  EXPECT_EQ(server_events.acquires.size(), 2u) << "negotiation is retried after the soft association ended";
}

TEST_F(WindowsBehaviourTest, AnSaEndsTheSoftAssociationAndOnlyNegotiateFiltersMayHaveOne) {
  ASSERT_TRUE(server.install_filter_table(server_table(false)));
  EXPECT_FALSE(server.add_soft_association(SoftAssociation{kAllIcmp, kClient, 300s})) << "a permit filter";
  EXPECT_FALSE(server.add_soft_association(SoftAssociation{99, kClient, 300s})) << "no such filter";
  ASSERT_TRUE(server.add_soft_association(SoftAssociation{kAllIp, kClient, 300s}));
  EXPECT_EQ(server.send(tcp(kServer, kClient)).disposition, Disposition::Accept);
  ASSERT_TRUE(server.add_sa(sa(0x3001, crypto::Direction::Outbound, kAllIp, kClient)));
  EXPECT_TRUE(server.counters().soft_associations.empty());
  EXPECT_EQ(server.send(tcp(kServer, kClient)).disposition, Disposition::AcceptModified) << "protected now";

  ASSERT_TRUE(server.add_soft_association(SoftAssociation{kAllIp, ip("10.20.2.31"), 300s}));
  ASSERT_TRUE(server.delete_soft_association(kAllIp, ip("10.20.2.31")));
  EXPECT_FALSE(server.delete_soft_association(kAllIp, ip("10.20.2.31")));
  ASSERT_TRUE(server.add_soft_association(SoftAssociation{kAllIp, ip("10.20.2.31"), 300s}));
  ASSERT_TRUE(server.install_filter_table(FilterTable{}));  // the filter went away: so does its association
  EXPECT_TRUE(server.counters().soft_associations.empty());
}

// Respond Only: the client has no filters. The server's SYN-ACK brings SAs with a dynamic filter;
// the client's traffic to the server is protected from then on, clear copies are dropped, and the
// filter goes with the last SA.
TEST_F(WindowsBehaviourTest, ADefaultResponseSaProtectsItsDynamicFilterUntilItsLastSaIsGone) {
  ASSERT_TRUE(server.install_filter_table(server_table(true)));
  // Before any SA: clear both ways (the client has no policy for the server).
  EXPECT_EQ(client.send(tcp(kClient, kServer)).disposition, Disposition::Accept);

  // Quick mode 2 on the client: its inbound SA, and with it the dynamic filter.
  ASSERT_TRUE(client.add_sa(dynamic_sa(0x5001, crypto::Direction::Inbound)));
  auto counters = client.counters();
  ASSERT_EQ(counters.dynamic_filters.size(), 1u);
  const auto dynamic_id = counters.dynamic_filters[0].id;
  EXPECT_GE(dynamic_id, kFirstDynamicFilterId);
  EXPECT_EQ(counters.dynamic_filters[0].filter_id, kDefaultResponse);
  EXPECT_EQ(counters.dynamic_filters[0].sas, 1u);
  // Until the outbound SA comes with quick mode 3 the client's reply waits, and nobody is asked.
  const auto ack = tcp(kClient, kServer);
  EXPECT_EQ(client.send(ack).disposition, Disposition::Held);
  EXPECT_TRUE(client_events.acquires.empty()) << "the responder never negotiates for a dynamic filter";

  ASSERT_TRUE(client.add_sa(dynamic_sa(0x6001, crypto::Direction::Outbound)));
  ASSERT_TRUE(server.add_sa(sa(0x5001, crypto::Direction::Outbound, kAllIp, kClient)));
  ASSERT_TRUE(server.add_sa(sa(0x6001, crypto::Direction::Inbound, kAllIp, kClient)));
  const auto released = client.take_released();
  ASSERT_EQ(released.size(), 1u);
  const auto delivered = server.receive(released[0]);
  ASSERT_EQ(delivered.disposition, Disposition::AcceptModified);
  EXPECT_EQ(delivered.bytes, ack);
  const auto from_server = server.send(tcp(kServer, kClient, 445, 40000));
  ASSERT_EQ(from_server.disposition, Disposition::AcceptModified);
  EXPECT_EQ(client.receive(from_server.bytes).disposition, Disposition::AcceptModified) << "the dynamic filter covers it";
  // What the server sends in clear under it (its own policy's choice) passes, counted.
  EXPECT_EQ(client.receive(tcp(kServer, kClient, 445, 40000)).disposition, Disposition::Accept) << "a clear packet";
  EXPECT_EQ(client.counters().unsecured_accepted, 1u);
  EXPECT_EQ(client.counters().unsecured_dropped, 0u);
  // Other peers are not covered.
  EXPECT_EQ(client.send(tcp(kClient, ip("10.20.1.11"))).disposition, Disposition::Accept);
  EXPECT_EQ(client.receive(tcp(ip("10.20.1.11"), kClient)).disposition, Disposition::Accept);

  counters = client.counters();
  ASSERT_EQ(counters.dynamic_filters.size(), 1u);
  EXPECT_EQ(counters.dynamic_filters[0].sas, 2u);
  for (const auto& s : counters.sas) EXPECT_EQ(s.dynamic_filter_id, dynamic_id);

  // The initiator rekeys: the new pair keeps the same filter, the outbound traffic takes the new SA.
  ASSERT_TRUE(client.add_sa(dynamic_sa(0x5002, crypto::Direction::Inbound)));
  ASSERT_TRUE(client.add_sa(dynamic_sa(0x6002, crypto::Direction::Outbound)));
  ASSERT_EQ(client.counters().dynamic_filters.size(), 1u);
  EXPECT_EQ(client.counters().dynamic_filters[0].sas, 4u);
  const auto rekeyed = client.send(ack);
  ASSERT_EQ(rekeyed.disposition, Disposition::AcceptModified);
  EXPECT_EQ(summarize_ip_packet(rekeyed.bytes)->esp_spi, 0x6002u);

  for (const auto spi : {0x5001u, 0x5002u}) ASSERT_TRUE(client.delete_sa(spi, crypto::Direction::Inbound));
  ASSERT_TRUE(client.delete_sa(0x6001, crypto::Direction::Outbound));
  EXPECT_EQ(client.counters().dynamic_filters.size(), 1u) << "one SA still keeps it";
  ASSERT_TRUE(client.delete_sa(0x6002, crypto::Direction::Outbound));
  EXPECT_TRUE(client.counters().dynamic_filters.empty());
  EXPECT_EQ(client.send(ack).disposition, Disposition::Accept) << "back to clear, as before the negotiation";
  EXPECT_EQ(client.receive(tcp(kServer, kClient, 445, 40000)).disposition, Disposition::Accept);
}

// Ping between a Secure Server and a Respond Only client while their default response SAs last:
// the client's dynamic filter (every protocol: the server negotiated for "All IP Traffic") protects
// its ICMP, which the server accepts under its "All ICMP Traffic" permit rule; the server answers in
// clear, as that rule says, and the client takes it. Both ways round.
TEST_F(WindowsBehaviourTest, PingPassesBothWaysWhileADefaultResponseSaLasts) {
  ASSERT_TRUE(server.install_filter_table(server_table(true)));
  for (const auto& install : {dynamic_sa(0x5001, crypto::Direction::Inbound), dynamic_sa(0x6001, crypto::Direction::Outbound)}) {
    ASSERT_TRUE(client.add_sa(install));
  }
  ASSERT_TRUE(server.add_sa(sa(0x5001, crypto::Direction::Outbound, kAllIp, kClient)));
  ASSERT_TRUE(server.add_sa(sa(0x6001, crypto::Direction::Inbound, kAllIp, kClient)));

  const auto request = client.send(icmp(kClient, kServer));
  ASSERT_EQ(request.disposition, Disposition::AcceptModified) << "protected under the dynamic filter";
  EXPECT_EQ(summarize_ip_packet(request.bytes)->esp_spi, 0x6001u);
  const auto delivered = server.receive(request.bytes);
  ASSERT_EQ(delivered.disposition, Disposition::AcceptModified) << "a permitted protocol may come protected";
  EXPECT_EQ(delivered.bytes, icmp(kClient, kServer));
  EXPECT_EQ(server.counters().policy_mismatch, 0u);
  const auto reply = server.send(icmp(kServer, kClient));
  ASSERT_EQ(reply.disposition, Disposition::Accept) << "the permit rule sends it in clear";
  EXPECT_EQ(client.receive(icmp(kServer, kClient)).disposition, Disposition::Accept);

  // The server pings: clear out, and the client's protected answer is accepted.
  EXPECT_EQ(server.send(icmp(kServer, kClient)).disposition, Disposition::Accept);
  EXPECT_EQ(client.receive(icmp(kServer, kClient)).disposition, Disposition::Accept);
  const auto answer = client.send(icmp(kClient, kServer));
  ASSERT_EQ(answer.disposition, Disposition::AcceptModified);
  EXPECT_EQ(server.receive(answer.bytes).disposition, Disposition::AcceptModified);
  EXPECT_EQ(client.counters().unsecured_accepted, 2u);
  EXPECT_EQ(client.counters().unsecured_dropped, 0u);
}

// What a default response SA decrypts must parse and fall under its dynamic filter: a TCP packet too
// short for its ports is dropped as a policy mismatch (and never read past its end).
TEST_F(WindowsBehaviourTest, ADynamicSaDropsWhatDoesNotParseAfterDecryption) {
  ASSERT_TRUE(client.add_sa(dynamic_sa(0x5001, crypto::Direction::Inbound)));
  auto sender = crypto::EspSa::create(crypto::testing::outbound_params(crypto::testing::SaShape{}, 0x5001));
  ASSERT_TRUE(sender.has_value()) << sender.error();
  auto stub = testing::make_packet(kServer, kClient, 99, 0, 0, 2);
  stub[9] = std::byte{kTcp};  // TCP, but only 2 bytes where the ports should be
  stub[10] = stub[11] = std::byte{0};
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2) sum += std::to_integer<std::uint32_t>(stub[i]) << 8 | std::to_integer<std::uint32_t>(stub[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  stub[10] = std::byte(~sum >> 8 & 0xff);
  stub[11] = std::byte(~sum & 0xff);
  std::vector<std::byte> esp;
  const auto sealed = sender->encapsulate(stub, esp);
  ASSERT_TRUE(sealed.has_value()) << crypto::name_of(sealed.error());
  EXPECT_EQ(client.receive(esp).disposition, Disposition::Drop);
  EXPECT_EQ(client.counters().policy_mismatch, 1u);
}

// The static rule wins: where a filter of the table matches, the dynamic filter is not consulted.
TEST_F(WindowsBehaviourTest, TheStaticTableWinsOverADynamicFilter) {
  const auto me = IpPrefix::host(kClient);
  const auto any = IpPrefix::any(IpFamily::V4);
  ASSERT_TRUE(client.install_filter_table({{filter(1, me, any, kIcmp, FilterAction::Permit, 33000),
                                             filter(1, any, me, kIcmp, FilterAction::Permit, 33000),
                                             filter(2, me, any, 17, FilterAction::Block, 33000),
                                             filter(2, any, me, 17, FilterAction::Block, 33000)}}));
  ASSERT_TRUE(client.add_sa(dynamic_sa(0x5001, crypto::Direction::Inbound)));
  ASSERT_TRUE(client.add_sa(dynamic_sa(0x6001, crypto::Direction::Outbound)));
  EXPECT_EQ(client.send(icmp(kClient, kServer)).disposition, Disposition::Accept);
  EXPECT_EQ(client.receive(icmp(kServer, kClient)).disposition, Disposition::Accept);
  EXPECT_EQ(client.send(testing::make_packet(kClient, kServer, 17, 5000, 53)).disposition, Disposition::Drop);
  EXPECT_EQ(client.send(tcp(kClient, kServer)).disposition, Disposition::AcceptModified);
}

TEST_F(WindowsBehaviourTest, AHardExpiredDefaultResponseSaTakesItsDynamicFilterAlong) {
  const SaLifetime lifetime{0s, 60s, 0, 0};
  ASSERT_TRUE(client.add_sa(dynamic_sa(0x5001, crypto::Direction::Inbound, lifetime)));
  ASSERT_TRUE(client.add_sa(dynamic_sa(0x6001, crypto::Direction::Outbound, lifetime)));
  ASSERT_EQ(client.counters().dynamic_filters.size(), 1u);
  now += 61s;
  client.tick();
  EXPECT_TRUE(client.counters().sas.empty());
  EXPECT_TRUE(client.counters().dynamic_filters.empty());
  EXPECT_EQ(client.send(tcp(kClient, kServer)).disposition, Disposition::Accept);
}

}  // namespace
}  // namespace ward::driver
