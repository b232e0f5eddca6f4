// When the next policy refresh is due: the policy's polling interval (Windows' default of 180
// minutes when there is no policy) plus a random jitter of up to a tenth of it, at most
// kMaxRefreshJitter, so that hosts started together do not poll the directory together.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "agent/cache/clock.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::minutes kDefaultPollingInterval{180};
inline constexpr std::chrono::minutes kMaxRefreshJitter{10};
inline constexpr std::chrono::minutes kMinPollingInterval{1};

// `polling_minutes` 0 means the default. `random` is the jitter source (injected for tests).
TimePoint next_refresh(TimePoint now, std::uint32_t polling_minutes, std::mt19937_64& random);

}  // namespace ward::agent::daemon

namespace ward::agent::daemon {

// After a refresh that failed (source unavailable, policy rejected) the next try comes sooner
// than the next poll: kFirstRetry, doubling up to kMaxRetry (and never later than the poll), so
// that a host left on its cached or boot policy gets the real one soon after the directory is back
// even where no change notification tells it.
inline constexpr std::chrono::seconds kFirstRetry{30};
inline constexpr std::chrono::minutes kMaxRetry{10};

// `consecutive_failures` >= 1.
std::chrono::seconds retry_delay(unsigned consecutive_failures);

// When the next refresh is due after one that just ended, whatever started it (the timer, SIGHUP,
// `wardctl refresh`, a change notification): a poll is one interval (+ jitter) after the last time
// the policy was read, never sooner; after a failed refresh, the retry back-off above. Used by the
// refresh thread alone (refresh_loop.h), so not thread-safe.
class RefreshSchedule {
 public:
  explicit RefreshSchedule(std::uint64_t seed) : random_(seed) {}
  // The due time of the next refresh, for a refresh that ended at `now` under a policy polling
  // every `polling_minutes` (0: the default).
  TimePoint refreshed(TimePoint now, std::uint32_t polling_minutes, bool failed);

 private:
  std::mt19937_64 random_;
  unsigned failures_ = 0;
};

}  // namespace ward::agent::daemon
