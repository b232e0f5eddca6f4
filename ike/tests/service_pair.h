// What the tests that run IkeServices over real sockets share (ike_service_test,
// nat_t_service_test, the strongSwan interop test, handshake_bench), beside exchange_support.h's
// NullDataplaneListener and negotiate_both_ways: a host-to-host acquire, a listener that records
// the services' events and waits for one, and waiting for a service's snapshot.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "driver/api/dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/service/ike_service.h"
#include "ike/tests/exchange_support.h"

namespace ward::ike::testing {

// One preshared key; an AES-256-CBC/SHA-256 main mode in `group` (8 hours); an AES-GCM-128
// host-to-host quick mode for `filter_id`, with PFS in `pfs` if set and lasting
// `quick_mode_lifetime` if set (else the service's default). Covers every peer and filter asked.
class HostToHostPskPolicy final : public service::PolicyLookup {
 public:
  HostToHostPskPolicy(std::string_view psk, std::uint32_t filter_id, IkeGroupDescription group,
                      std::optional<IkeGroupDescription> pfs, std::optional<std::chrono::seconds> quick_mode_lifetime = {})
      : psk_(std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(psk))),
        filter_id_(filter_id),
        group_(group),
        pfs_(pfs),
        quick_mode_lifetime_(quick_mode_lifetime) {}

  // Other offers than the defaults (Windows' 3DES/group 2 main mode, AH and AH+ESP quick modes);
  // `allow_legacy` goes with them into both policies. Set before the services start.
  HostToHostPskPolicy& offer(std::vector<sa::Phase1Proposal> phase1, std::vector<sa::ProtectionSuite> quick_mode,
                             bool allow_legacy) {
    phase1_ = std::move(phase1);
    quick_mode_ = std::move(quick_mode);
    allow_legacy_ = allow_legacy;
    return *this;
  }

  Expected<service::Phase1Policy, std::string> phase1_for(const IpAddress&, const IpAddress&,
                                                         std::optional<std::uint32_t>) const override {
    service::Phase1Policy p;
    p.auth = {psk_};
    p.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, group_, std::chrono::seconds(28800)}};
    if (!phase1_.empty()) p.proposals = phase1_;
    p.allow_legacy = allow_legacy_;
    return p;
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& a) const override {
    return quick(a.source, a.peer);
  }
  Expected<service::QuickModePolicy, service::PolicyRefusal> quick_mode_for_peer(const IpAddress& local, const IpAddress& peer,
                                                                      const sa::TrafficSelector&,
                                                                      const sa::TrafficSelector&) const override {
    return quick(local, peer);
  }

 private:
  service::QuickModePolicy quick(const IpAddress& local, const IpAddress& peer) const {
    service::QuickModePolicy q;
    q.proposals = {sa::EspProposal{driver::crypto::Cipher::AesGcm128, driver::crypto::Integrity::None}};
    if (!quick_mode_.empty()) q.proposals = quick_mode_;
    q.allow_legacy = allow_legacy_;
    q.pfs_group = pfs_;
    if (quick_mode_lifetime_) q.lifetime = *quick_mode_lifetime_;
    q.local = sa::TrafficSelector{IpPrefix::host(local)};
    q.remote = sa::TrafficSelector{IpPrefix::host(peer)};
    q.filter_id = filter_id_;
    return q;
  }

  std::shared_ptr<const auth::AuthProvider> psk_;
  std::uint32_t filter_id_;
  IkeGroupDescription group_;
  std::optional<IkeGroupDescription> pfs_;
  std::optional<std::chrono::seconds> quick_mode_lifetime_;
  std::vector<sa::Phase1Proposal> phase1_;
  std::vector<sa::ProtectionSuite> quick_mode_;
  bool allow_legacy_ = false;
};

// The acquire a dataplane raises for `filter_id` when this host (`from`) sends to the peer `to`
// directly (no tunnel): of `protocol` between the ports, 0 for any.
inline driver::Acquire acquire_for(std::uint32_t filter_id, const IpAddress& from, const IpAddress& to,
                                   std::uint8_t protocol = 0, std::uint16_t source_port = 0,
                                   std::uint16_t destination_port = 0) {
  return driver::Acquire{filter_id, to, from, to, protocol, source_port, destination_port};
}

// Records every event a service reports; the test thread waits for the one it expects.
class EventLog final : public service::IkeListener {
 public:
  static constexpr std::chrono::milliseconds kDefaultWait{5000};

  void on_ike_event(const service::IkeEvent& event) override {
    const std::lock_guard lock(mutex_);
    events_.push_back(event);
    changed_.notify_all();
  }
  // Waits up to `timeout` for the first event of one of `kinds`; returns it.
  std::optional<service::IkeEvent> wait_for(std::initializer_list<service::IkeEvent::Kind> kinds,
                                            std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<service::IkeEvent> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_) {
        if (std::find(kinds.begin(), kinds.end(), e.kind) != kinds.end()) {
          found = e;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::optional<service::IkeEvent> wait_for(service::IkeEvent::Kind kind, std::chrono::milliseconds timeout = kDefaultWait) {
    return wait_for({kind}, timeout);
  }
  std::size_t count(service::IkeEvent::Kind kind) {
    const std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(events_.begin(), events_.end(), [&](const auto& e) { return e.kind == kind; }));
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<service::IkeEvent> events_;
};

// Polls `ike`'s snapshot until it satisfies `ready` or `timeout` passes; returns the last one.
template <class Ready>
service::IkeSnapshot wait_snapshot(service::IkeService& ike, Ready ready, std::chrono::milliseconds timeout) {
  constexpr std::chrono::milliseconds kPoll{10};
  const auto until = std::chrono::steady_clock::now() + timeout;
  auto s = ike.snapshot();
  while (!ready(s) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(kPoll);
    s = ike.snapshot();
  }
  return s;
}

}  // namespace ward::ike::testing
