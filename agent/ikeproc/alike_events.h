// The IKE process's events on their way to wardd, with unverified failures counted.
//
// Anyone can send a main mode 1 from any address, so a flood of forged ones is a flood of
// unverified refusals (IkeEvent::unverified). One channel note each cost the IKE process about 29 %
// of its CPU under a 20,000/s flood (ike/bench/RESULTS.md), and wardd only counts them into the
// first one alike anyway (agent/daemon/event_aggregator.h). So the first unverified failure of a
// kind goes at once, as every other event does; its repeats within `interval` are counted and go
// as one kAlikeEvents note when the interval ends. "Alike": the same kind, role, failure, method,
// filter and reason but for the peer's address.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "agent/ikeproc/wire.h"

namespace ward::agent::ikeproc {

class AlikeEventBatcher {
 public:
  using SendEvent = std::function<void(const ike::service::IkeEvent&)>;
  using SendAlike = std::function<void(const AlikeEvents&)>;
  // Kinds of unverified failure counted at once; beyond, the counts go out before the interval ends.
  static constexpr std::size_t kMaxKinds = 256;

  AlikeEventBatcher(SendEvent send_event, SendAlike send_alike, std::chrono::milliseconds interval);
  ~AlikeEventBatcher();  // sends what it counted
  AlikeEventBatcher(const AlikeEventBatcher&) = delete;
  AlikeEventBatcher& operator=(const AlikeEventBatcher&) = delete;

  void on_event(const ike::service::IkeEvent& event);  // from any engine's thread
  void flush();  // sends the counts now and forgets the kinds (their next one goes at once)

 private:
  struct Counted {
    ike::service::IkeEvent last;
    std::uint32_t repeats = 0;  // since the first, which went at once
  };
  void run();

  SendEvent send_event_;
  SendAlike send_alike_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::map<std::string, Counted> counted_;
  std::thread flusher_;
};

}  // namespace ward::agent::ikeproc
