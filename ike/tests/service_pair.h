// What the tests that run IkeServices over real sockets share (ike_service_test,
// nat_t_service_test, the strongSwan interop test, handshake_bench), beside exchange_support.h's
// NullDataplaneListener and negotiate_both_ways: a listener that records the services' events and
// waits for one, and waiting for a service's snapshot.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "driver/api/dataplane.h"
#include "ike/service/ike_service.h"
#include "ike/tests/exchange_support.h"

namespace ward::ike::testing {

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
