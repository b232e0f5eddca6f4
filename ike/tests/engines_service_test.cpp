// Several engines in one IkeService (IkeServiceOptions::engines, ike/net/reuseport.h): a hub with
// two engines on one port and eight peers whose addresses hash to both. Every peer's handshake
// completes whichever side starts it, IKEv1 and IKEv2: the peer's datagrams reach the engine that
// owns it (the BPF program) and the hub's acquires go to that engine too (peer_engine), so no
// answer lands on an engine that does not know the exchange (unknown_sa stays 0). The snapshot
// merges the engines (and names each main mode's); retain_filters and shutdown reach every one. Without the BPF program, half
// of the answers to the hub's acquires land on the other engine and those handshakes never finish.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

#include "driver/sim/sim_dataplane.h"
#include "ike/net/reuseport.h"
#include "ike/service/ike_service.h"
#include "ike/tests/service_hosts.h"
#include "ike/tests/service_pair.h"

namespace ward::ike {
namespace {

using namespace std::chrono_literals;
using service::IkeEvent;
using service_test::kFilterId;
using service_test::test_port;

constexpr unsigned kEngines = 2;
constexpr unsigned kPeers = 8;
const IpAddress kHub = IpAddress::v4(0x7f000002u);
IpAddress peer_address(unsigned k) { return IpAddress::v4(0x7f000000u | (20 + k)); }

struct Node {
  explicit Node(const IpAddress& address) : local(address), sim(dataplane_listener) {}
  void start(unsigned engines, service::IkeVersionPolicy version) {
    service::IkeServiceOptions o;
    o.local = local;
    o.port = test_port();
    o.engines = engines;
    o.ike_version = version;
    o.retransmit = sa::RetransmitPolicy{std::chrono::milliseconds(200), 2, 3};
    auto started = service::IkeService::start(std::move(o), sim, policy, events);
    ASSERT_TRUE(started.has_value()) << started.error();
    ike = std::move(*started);
  }
  IpAddress local;
  testing::HostToHostPskPolicy policy{"engines secret", kFilterId, IkeGroupDescription::Ecp256, IkeGroupDescription::Ecp256};
  testing::NullDataplaneListener dataplane_listener;
  driver::SimDataplane sim;
  testing::EventLog events;
  std::unique_ptr<service::IkeService> ike;   // last: stops first
};

class IkeEngines : public ::testing::TestWithParam<service::IkeVersionPolicy> {
 protected:
  void SetUp() override {
    std::set<std::size_t> owners;
    for (unsigned k = 0; k < kPeers; ++k) owners.insert(net::peer_engine(peer_address(k), kEngines));
    ASSERT_EQ(owners.size(), kEngines) << "the peers' addresses should hash to every engine";
    hub = std::make_unique<Node>(kHub);
    hub->start(kEngines, GetParam());
    ASSERT_TRUE(hub->ike);
    ASSERT_EQ(hub->ike->engines(), kEngines);
    for (unsigned k = 0; k < kPeers; ++k) {
      peers.push_back(std::make_unique<Node>(peer_address(k)));
      peers.back()->start(1, GetParam());
      ASSERT_TRUE(peers.back()->ike);
    }
  }

  // Every pair established: the hub's merged snapshot has a main mode and an SA pair per peer, and
  // no datagram reached an engine that did not know its exchange.
  void expect_all_established() {
    const auto all = testing::wait_snapshot(*hub->ike, [](const auto& snap) { return snap.quick_modes.size() == kPeers; }, 10000ms);
    ASSERT_EQ(all.quick_modes.size(), kPeers) << "handshakes done: " << all.counters.quick_modes_established;
    std::set<IpAddress> seen;
    for (const auto& qm : all.quick_modes) seen.insert(qm.peer);
    EXPECT_EQ(seen.size(), kPeers);
    EXPECT_EQ(all.main_modes.size(), kPeers);
    // The snapshot says how many engines run and which one holds each main mode: its peer's owner.
    EXPECT_EQ(all.engines, kEngines);
    for (const auto& mm : all.main_modes) EXPECT_EQ(mm.engine, net::peer_engine(mm.peer, kEngines)) << mm.peer.to_string();
    EXPECT_EQ(all.counters.main_modes_established, kPeers);
    EXPECT_EQ(all.counters.quick_modes_established, kPeers);
    EXPECT_EQ(all.counters.unknown_sa, 0U);
    EXPECT_EQ(all.counters.main_modes_failed + all.counters.quick_modes_failed, 0U);
    for (const auto& p : peers) {
      EXPECT_TRUE(p->events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value()) << p->local.to_string();
    }
  }

  std::unique_ptr<Node> hub;
  std::vector<std::unique_ptr<Node>> peers;
};

TEST_P(IkeEngines, TheHubsAcquiresAreAnsweredToTheEngineThatSentThem) {
  for (unsigned k = 0; k < kPeers; ++k) hub->ike->initiate(testing::acquire_for(kFilterId, kHub, peer_address(k)));
  expect_all_established();
}

TEST_P(IkeEngines, PeersReachTheEngineOwningThemAndFiltersGoingAwayReachEveryEngine) {
  for (auto& p : peers) p->ike->initiate(testing::acquire_for(kFilterId, p->local, kHub));
  expect_all_established();
  // A filter going away on the hub deletes every engine's SAs, and each peer is told.
  hub->ike->retain_filters({});
  for (const auto& p : peers) {
    EXPECT_TRUE(p->events.wait_for(IkeEvent::Kind::SasDeleted).has_value()) << p->local.to_string();
  }
  const auto gone = testing::wait_snapshot(*hub->ike, [](const auto& s) { return s.quick_modes.empty(); }, 5000ms);
  EXPECT_TRUE(gone.quick_modes.empty());
  EXPECT_EQ(gone.counters.deletes_sent, kPeers);
}

INSTANTIATE_TEST_SUITE_P(Versions, IkeEngines,
                         ::testing::Values(service::IkeVersionPolicy::Ikev1, service::IkeVersionPolicy::Ikev2),
                         [](const auto& version) { return version.param == service::IkeVersionPolicy::Ikev1 ? "Ikev1" : "Ikev2"; });

}  // namespace
}  // namespace ward::ike
