// When the next policy refresh is due: the policy's polling interval (Windows' default of 180
// minutes when there is no policy) plus a random jitter of up to a tenth of it, at most
// kMaxRefreshJitter, so that hosts started together do not poll the directory together.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

#include "agent/cache/clock.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::minutes kDefaultPollingInterval{180};
inline constexpr std::chrono::minutes kMaxRefreshJitter{10};
inline constexpr std::chrono::minutes kMinPollingInterval{1};

// `polling_minutes` 0 means the default. `random` is the jitter source (injected for tests).
TimePoint next_refresh(TimePoint now, std::uint32_t polling_minutes, std::mt19937_64& random);

// When the next poll is due, moved after every refresh whatever started it (the timer, SIGHUP,
// `wardctl refresh`, a change notification): a poll is one interval after the last time the
// policy was read, never sooner. Thread-safe: the main loop reads it, the control socket and the
// change watcher move it.
class RefreshSchedule {
 public:
  explicit RefreshSchedule(std::uint64_t seed) : random_(seed) {}
  void refreshed(TimePoint now, std::uint32_t polling_minutes);
  TimePoint due() const;

 private:
  mutable std::mutex mutex_;
  std::mt19937_64 random_;
  TimePoint due_{TimePoint::max()};  // no poll before the first refresh
};

}  // namespace ward::agent::daemon
