#include "agent/daemon/schedule.h"

#include <algorithm>

namespace ward::agent::daemon {

TimePoint next_refresh(TimePoint now, std::uint32_t polling_minutes, std::mt19937_64& random) {
  const std::chrono::seconds interval =
      polling_minutes == 0 ? kDefaultPollingInterval
                           : std::max<std::chrono::minutes>(std::chrono::minutes(polling_minutes), kMinPollingInterval);
  const std::chrono::seconds max_jitter = std::min<std::chrono::seconds>(interval / 10, kMaxRefreshJitter);
  std::uniform_int_distribution<std::int64_t> jitter(0, max_jitter.count());
  return now + interval + std::chrono::seconds(jitter(random));
}

}  // namespace ward::agent::daemon

namespace ward::agent::daemon {

std::chrono::seconds retry_delay(unsigned consecutive_failures) {
  std::chrono::seconds delay = kFirstRetry;
  for (unsigned i = 1; i < consecutive_failures && delay < kMaxRetry; ++i) delay *= 2;
  return std::min<std::chrono::seconds>(delay, kMaxRetry);
}

TimePoint RefreshSchedule::refreshed(TimePoint now, std::uint32_t polling_minutes, bool failed) {
  const TimePoint poll = next_refresh(now, polling_minutes, random_);
  if (!failed) {
    failures_ = 0;
    return poll;
  }
  return std::min(poll, now + retry_delay(++failures_));
}

}  // namespace ward::agent::daemon
