// What ike_service_test, refusal_service_test and dpd_service_test share: two hosts on loopback
// (127.0.0.1 and 127.0.0.2, one UDP port per test process), each an IkeService over its own
// SimDataplane with a fixed PSK policy (FixedPolicy) whose acquire for kStallFilterId can hold the
// event thread (Stall: a peer that stopped answering).
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/service/ike_service.h"
#include "ike/tests/service_pair.h"

namespace ward::ike::service_test {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Direction;
using driver::crypto::Integrity;
using service::IkeEvent;

inline IpAddress ip(const char* text) { return *IpAddress::parse(text); }
inline const IpAddress kA = ip("127.0.0.1");
inline const IpAddress kB = ip("127.0.0.2");
inline constexpr std::uint32_t kFilterId = 3;
// A second filter to the same peer (UDP only), for a second CHILD_SA.
inline constexpr std::uint32_t kUdpFilterId = 4;

inline std::uint16_t test_port() { return static_cast<std::uint16_t>(20000 + ::getpid() % 20000); }

using testing::NullDataplaneListener;

inline constexpr std::uint32_t kStallFilterId = 99;

// Holds the thread that calls wait() until release(): a service whose event thread is stuck
// stands for a peer that stopped answering (its socket stays bound, nothing is answered).
class Stall {
 public:
  void hold() {
    const std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    const std::lock_guard lock(mutex_);
    held_ = false;
    changed_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
  }
  bool wait_entered(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return entered_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool entered_ = false;
};

// A fixed policy: one PSK, AES-256/SHA-256/ECP-256 main mode, AES-GCM-128 + PFS host-to-host
// quick mode for filter 3 between the two addresses.
class FixedPolicy final : public service::PolicyLookup {
 public:
  explicit FixedPolicy(std::string_view psk)
      : psk_(std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(psk))) {}

  std::chrono::seconds phase1_lifetime{28800};
  IkeGroupDescription phase1_group = IkeGroupDescription::Ecp256;
  std::vector<sa::ProtectionSuite> esp{sa::EspProposal{Cipher::AesGcm128, Integrity::None}};
  bool refuse_quick_modes = false;   // as responder: no filter covers the peer's IDs
  std::optional<service::PolicyRefusal> quick_mode_error;   // as responder: the lookup refuses so
  std::chrono::seconds quick_mode_lifetime{3600};
  mutable Stall stall;                // an acquire for kStallFilterId waits on it
  std::uint32_t quick_mode_limit = 0;
  std::shared_ptr<const auth::AuthProvider> method;   // in place of the PSK (a certificate provider)

  Expected<service::Phase1Policy, std::string> phase1_for(const IpAddress&, const IpAddress& peer,
                                                         std::optional<std::uint32_t>) const override {
    if (!IpPrefix::parse("127.0.0.0/8")->contains(peer)) return unexpected("no rule covers " + peer.to_string());
    service::Phase1Policy p;
    p.auth = {method ? method : psk_};
    p.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, phase1_group, phase1_lifetime}};
    p.quick_mode_limit = quick_mode_limit;
    return p;
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& a) const override {
    if (a.filter_id == kStallFilterId) stall.wait();
    if (a.filter_id == kUdpFilterId) {
      auto q = quick(a.source, a.peer);
      q.filter_id = kUdpFilterId;
      q.local.protocol = q.remote.protocol = 17;
      return q;
    }
    if (a.filter_id != kFilterId) return unexpected("no filter " + std::to_string(a.filter_id));
    return quick(a.source, a.peer);
  }
  Expected<service::QuickModePolicy, service::PolicyRefusal> quick_mode_for_peer(const IpAddress& local, const IpAddress& peer,
                                                                      const sa::TrafficSelector& peer_side,
                                                                      const sa::TrafficSelector& our_side) const override {
    if (quick_mode_error) return unexpected(*quick_mode_error);
    if (refuse_quick_modes || !peer_side.prefix.contains(peer) || !our_side.prefix.contains(local)) {
      return unexpected(service::PolicyRefusal{NotifyMessageType::InvalidIdInformation,
                                               "no filter covers " + peer_side.prefix.to_string() + " -> " + our_side.prefix.to_string()});
    }
    return quick(local, peer);
  }

 private:
  service::QuickModePolicy quick(const IpAddress& local, const IpAddress& peer) const {
    service::QuickModePolicy q;
    q.proposals = esp;
    q.pfs_group = IkeGroupDescription::Ecp256;
    q.lifetime = quick_mode_lifetime;
    q.local = sa::TrafficSelector{IpPrefix::host(local)};
    q.remote = sa::TrafficSelector{IpPrefix::host(peer)};
    q.filter_id = kFilterId;
    return q;
  }
  std::shared_ptr<const auth::AuthProvider> psk_;
};

using testing::EventLog;

struct Host {
  Host(const IpAddress& address, std::string_view psk) : local(address), policy(psk), sim(dataplane_listener) {
    EXPECT_TRUE(sim.install_filter_table(testing::negotiate_both_ways(kFilterId, IpPrefix::host(kA), IpPrefix::host(kB), 1))
                    .has_value());
  }

  service::IkeServiceOptions options() const {
    service::IkeServiceOptions o;
    o.local = local;
    o.port = test_port();
    o.retransmit = sa::RetransmitPolicy{std::chrono::milliseconds(100), 2, 3};
    o.half_open_timeout = 1000ms;
    return o;
  }
  void start(service::IkeServiceOptions o) {
    auto started = service::IkeService::start(std::move(o), sim, policy, events);
    ASSERT_TRUE(started.has_value()) << started.error();
    ike = std::move(*started);
  }
  // Waits until the service's snapshot satisfies `ready`.
  template <class Ready>
  service::IkeSnapshot wait_snapshot(Ready ready, std::chrono::milliseconds timeout = 5000ms) {
    return testing::wait_snapshot(*ike, ready, timeout);
  }

  IpAddress local;
  FixedPolicy policy;
  NullDataplaneListener dataplane_listener;
  driver::SimDataplane sim;
  EventLog events;
  std::unique_ptr<service::IkeService> ike;   // last: stops before the rest goes
};

// A UDP packet from port 5000 to 53 (what expect_traffic_both_ways sends).
inline driver::Acquire acquire_to(const IpAddress& from, const IpAddress& to) {
  return testing::acquire_for(kFilterId, from, to, 17, 5000, 53);
}

inline const driver::SaCounters* find_sa(const driver::DataplaneCounters& c, std::uint32_t spi, Direction direction) {
  for (const auto& sa : c.sas) {
    if (sa.spi == spi && sa.direction == direction) return &sa;
  }
  return nullptr;
}

// The keys match: what A protects, B opens, and back (a UDP packet each way through the sims).
inline void expect_traffic_both_ways(Host& a, Host& b) {
  const auto packet = driver::testing::make_packet(kA, kB, 17, 5000, 53, 64);
  const auto sealed = a.sim.send(packet);
  ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
  const auto opened = b.sim.receive(sealed.bytes);
  ASSERT_EQ(opened.disposition, driver::Disposition::AcceptModified);
  EXPECT_EQ(opened.bytes, packet);
  const auto reply = driver::testing::make_packet(kB, kA, 17, 53, 5000, 64);
  const auto sealed_reply = b.sim.send(reply);
  ASSERT_EQ(sealed_reply.disposition, driver::Disposition::AcceptModified);
  EXPECT_EQ(a.sim.receive(sealed_reply.bytes).bytes, reply);
}

}  // namespace ward::ike::service_test
