// Repeated events become one: one row in the event store and one log line, with a count. The
// first event of its kind (its key) within kAggregationWindow is stored and logged at once; the
// events like it that follow are only counted in memory, and flush() (once a second, from the
// main loop) writes each key's count with one UPDATE (`count`, `last_at` of the row) and one log
// line ("more_like_this=N"). So a flood of refused packets costs at most one SQLite write and one
// log line per key per second, not one per packet.
//
// Keys are the caller's: they must not grow with attacker-chosen values (an unverified IKE
// failure's key leaves the peer's address out, acquire_listener.h). Whatever keys come, at most
// kMaxAggregationKeys are tracked: a new key beyond that flushes and forgets the one seen least
// recently. Thread-safe (the dataplane's, IKE's and the refresh threads record).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/cache/cache.h"
#include "agent/cache/clock.h"
#include "agent/daemon/log.h"
#include "agent/daemon/shared_cache.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::seconds kAggregationWindow{60};
inline constexpr std::size_t kMaxAggregationKeys = 256;

struct EventOccurrence {
  std::string key;                 // events with equal keys are "alike"
  config::LogLevel level = config::LogLevel::Warning;
  std::string log_event;           // the log line's event name
  std::vector<std::pair<std::string, std::string>> fields;   // the log line's fields
  bool store = true;               // also an event in the store (false: log only)
  cache::EventKind kind = cache::EventKind::IkeFailure;
  std::string peer;
  std::string auth_method;
  std::string reason;
};

struct AggregatorCounters {
  std::uint64_t recorded = 0;     // occurrences seen
  std::uint64_t aggregated = 0;   // of them, counted into an earlier one
  std::uint64_t keys_evicted = 0;
};

class EventAggregator {
 public:
  EventAggregator(SharedCache& cache, Logger& log, const Clock& clock) : cache_(cache), log_(log), clock_(clock) {}

  // Stores and logs `occurrence` when it is the first like it within the window; otherwise
  // counts it. `count` occurrences alike (at least 1) count as that many, the first of them
  // stored when none like it is. Returns true when it was stored and logged now.
  bool record(EventOccurrence occurrence, std::uint64_t count = 1);
  // Writes and logs the repeats counted since the last flush.
  void flush();
  AggregatorCounters counters() const;
  std::size_t keys() const;

 private:
  struct Tracked {
    EventOccurrence first;
    std::int64_t row = 0;                // 0: not stored
    TimePoint window_start{};
    TimePoint last{};
    std::uint64_t pending = 0;           // repeats not yet flushed
    std::list<std::string>::iterator recency;
  };
  void flush_one(Tracked& tracked);     // mutex_ held

  SharedCache& cache_;
  Logger& log_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Tracked> tracked_;
  std::list<std::string> recency_;   // least recently seen first
  AggregatorCounters counters_;
};

}  // namespace ward::agent::daemon
