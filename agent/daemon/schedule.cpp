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

void RefreshSchedule::refreshed(TimePoint now, std::uint32_t polling_minutes) {
  std::lock_guard lock(mutex_);
  due_ = next_refresh(now, polling_minutes, random_);
}

TimePoint RefreshSchedule::due() const {
  std::lock_guard lock(mutex_);
  return due_;
}

}  // namespace ward::agent::daemon
