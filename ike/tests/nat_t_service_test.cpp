// NAT traversal between two IkeServices on loopback (127.0.0.1 and 127.0.0.2), each with its own
// SimDataplane and two sockets (the IKE port and the NAT-T port): with the responder pretending
// a NAT (as charon with kernel-libipsec does), main mode floats to the NAT-T port from message 5
// on with the non-ESP marker, quick mode negotiates UDP-Encapsulated-Tunnel, the SAs carry the
// ports, a packet sealed by one dataplane is ESP-in-UDP between the gateways, and the side
// "behind the NAT" sends keepalives. Without a NAT nothing floats.
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/service/ike_service.h"
#include "ike/tests/service_pair.h"

namespace ward::ike {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;
using service::IkeEvent;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kA = ip("127.0.0.1");
const IpAddress kB = ip("127.0.0.2");
const IpPrefix kNetA = *IpPrefix::parse("192.168.1.0/24");
const IpPrefix kNetB = *IpPrefix::parse("192.168.2.0/24");
constexpr std::uint32_t kFilterId = 5;

// Distinct from ike_service_test's range so the two can run at once.
std::uint16_t ike_port() { return static_cast<std::uint16_t>(40000 + (::getpid() % 10000) * 2); }
std::uint16_t nat_t_port() { return static_cast<std::uint16_t>(ike_port() + 1); }

using testing::NullDataplaneListener;

// One PSK; tunnel mode between the two loopback gateways for kNetA <-> kNetB.
class TunnelPolicy final : public service::PolicyLookup {
 public:
  TunnelPolicy(const IpPrefix& local_net, const IpPrefix& remote_net)
      : psk_(std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text("nat-t secret"))),
        local_net_(local_net),
        remote_net_(remote_net) {}

  Expected<service::Phase1Policy, std::string> phase1_for(const IpAddress&, const IpAddress&,
                                                         std::optional<std::uint32_t>) const override {
    service::Phase1Policy p;
    p.auth = {psk_};
    p.proposals = {{IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Modp2048, 28800s}};
    return p;
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& a) const override {
    return quick(a.peer);
  }
  Expected<service::QuickModePolicy, service::PolicyRefusal> quick_mode_for_peer(const IpAddress&, const IpAddress& peer,
                                                                      const sa::TrafficSelector& peer_side,
                                                                      const sa::TrafficSelector& our_side) const override {
    if (!(peer_side.prefix == remote_net_) || !(our_side.prefix == local_net_)) {
      return unexpected(service::PolicyRefusal{NotifyMessageType::InvalidIdInformation,
                                               "no tunnel filter for " + peer_side.prefix.to_string() + " -> " + our_side.prefix.to_string()});
    }
    return quick(peer);
  }

 private:
  service::QuickModePolicy quick(const IpAddress& gateway) const {
    service::QuickModePolicy q;
    q.proposals = {sa::EspProposal{Cipher::AesCbc128, Integrity::HmacSha256_128}};
    q.lifetime = 3600s;
    q.local = sa::TrafficSelector{local_net_};
    q.remote = sa::TrafficSelector{remote_net_};
    q.filter_id = kFilterId;
    q.tunnel_endpoint = gateway;
    return q;
  }
  std::shared_ptr<const auth::AuthProvider> psk_;
  IpPrefix local_net_, remote_net_;
};

using testing::EventLog;

struct Gateway {
  Gateway(const IpAddress& address, const IpPrefix& local_net, const IpPrefix& remote_net, const IpAddress& peer)
      : local(address), policy(local_net, remote_net), sim(dataplane_listener) {
    EXPECT_TRUE(sim.install_filter_table(testing::negotiate_both_ways(kFilterId, local_net, remote_net, 1, peer)).has_value());
  }

  service::IkeServiceOptions options() {
    service::IkeServiceOptions o;
    o.local = local;
    o.port = ike_port();
    o.nat_traversal = true;
    o.nat_t_port = nat_t_port();
    o.retransmit = sa::RetransmitPolicy{std::chrono::milliseconds(200), 2, 3};
    o.log = [this](const std::string& line) {
      const std::lock_guard lock(log_mutex);
      log.push_back(line);
    };
    return o;
  }
  void start(service::IkeServiceOptions o) {
    auto started = service::IkeService::start(std::move(o), sim, policy, events);
    ASSERT_TRUE(started.has_value()) << started.error();
    ike = std::move(*started);
  }
  template <class Ready>
  service::IkeSnapshot wait_snapshot(Ready ready, std::chrono::milliseconds timeout = 3000ms) {
    return testing::wait_snapshot(*ike, ready, timeout);
  }
  bool logged(std::string_view text) {
    const std::lock_guard lock(log_mutex);
    return std::any_of(log.begin(), log.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }

  IpAddress local;
  TunnelPolicy policy;
  NullDataplaneListener dataplane_listener;
  driver::SimDataplane sim;
  EventLog events;
  std::mutex log_mutex;
  std::vector<std::string> log;
  std::unique_ptr<service::IkeService> ike;   // last: stops before the rest goes
};

driver::Acquire acquire_tunnel() {
  driver::Acquire a;
  a.filter_id = kFilterId;
  a.peer = kB;   // the tunnel endpoint
  a.source = ip("192.168.1.5");
  a.destination = ip("192.168.2.7");
  a.protocol = 17;
  a.source_port = 5000;
  a.destination_port = 53;
  return a;
}

std::uint16_t be16_at(const std::vector<std::byte>& b, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[at]) << 8 | std::to_integer<unsigned>(b[at + 1]));
}

TEST(IkeServiceNatT, APretendedNatFloatsToTheNatTPortAndTunnelsEspInUdp) {
  Gateway a(kA, kNetA, kNetB, kB), b(kB, kNetB, kNetA, kA);
  a.start(a.options());
  auto ob = b.options();
  ob.pretend_nat = true;                 // b's NAT-D for itself never matches
  ob.nat_keepalive_interval = 100ms;     // b thinks it is behind the NAT: it sends keepalives
  b.start(std::move(ob));
  ASSERT_TRUE(a.ike && b.ike);

  const auto started = std::chrono::steady_clock::now();
  a.ike->initiate(acquire_tunnel());
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  const auto qb = b.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  ASSERT_TRUE(qa.has_value() && qb.has_value()) << "initiator log has " << a.log.size() << " lines";
  std::printf("acquire -> NAT-T tunnel SAs on both sides: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()));

  const auto sa_ = a.ike->snapshot();
  ASSERT_EQ(sa_.main_modes.size(), 1U);
  EXPECT_TRUE(sa_.main_modes[0].nat_t);
  EXPECT_EQ(sa_.main_modes[0].peer_port, nat_t_port());
  EXPECT_GE(sa_.counters.nat_t_datagrams_received, 2U);   // main mode 6, quick mode 2
  EXPECT_GE(b.ike->snapshot().counters.nat_t_datagrams_received, 3U);   // main mode 5, quick mode 1 and 3
  EXPECT_TRUE(a.logged("the peer is behind a NAT, moved to UDP " + std::to_string(nat_t_port())));

  // A packet between the inner subnets: outer IPv4 127.0.0.1 -> 127.0.0.2, UDP to the NAT-T port.
  const auto inner = driver::testing::make_packet(ip("192.168.1.5"), ip("192.168.2.7"), 17, 5000, 53, 200);
  const auto sealed = a.sim.send(inner);
  ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
  constexpr std::size_t kProtocol = 9, kUdpSourcePort = 20, kUdpDestPort = 22;
  EXPECT_EQ(std::to_integer<unsigned>(sealed.bytes[kProtocol]), 17U);
  EXPECT_EQ(be16_at(sealed.bytes, kUdpSourcePort), nat_t_port());
  EXPECT_EQ(be16_at(sealed.bytes, kUdpDestPort), nat_t_port());
  // b's dataplane is not asked to open it: the packet engine takes ESP-in-UDP only on
  // destination port 4500 and checks the SA's ports, while this test's services use another
  // NAT-T port so parallel tests cannot collide. ike_nat_traversal_test opens such a packet with
  // SAs on port 4500.

  // Keepalives from b (one byte 0xFF on the NAT-T port) reach a.
  const auto with_keepalives = a.wait_snapshot([](const auto& s) { return s.counters.nat_keepalives_received >= 2; });
  EXPECT_GE(with_keepalives.counters.nat_keepalives_received, 2U);
  EXPECT_GE(b.ike->snapshot().counters.nat_keepalives_sent, 2U);
  EXPECT_EQ(a.ike->snapshot().counters.nat_keepalives_sent, 0U) << "a is not behind a NAT";
}

TEST(IkeServiceNatT, WithoutANatNothingFloats) {
  Gateway a(kA, kNetA, kNetB, kB), b(kB, kNetB, kNetA, kA);
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_tunnel());
  ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  ASSERT_TRUE(b.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  const auto s = a.ike->snapshot();
  ASSERT_EQ(s.main_modes.size(), 1U);
  EXPECT_FALSE(s.main_modes[0].nat_t);
  EXPECT_EQ(s.counters.nat_t_datagrams_received, 0U);
  EXPECT_TRUE(a.logged("NAT detection: no NAT between the peers"));
  // Plain ESP tunnel: outer protocol 50.
  const auto sealed = a.sim.send(driver::testing::make_packet(ip("192.168.1.5"), ip("192.168.2.7"), 17, 5000, 53, 64));
  ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
  EXPECT_EQ(std::to_integer<unsigned>(sealed.bytes[9]), 50U);
}

}  // namespace
}  // namespace ward::ike
