// Acquires and SA expiries from the dataplane. There is no IKE module yet, so an acquire cannot be
// answered: it is logged and recorded as an ike-failure event ("ike unavailable"), at most once per
// peer and filter per kAcquireEventInterval so a busy flow does not flood the event log.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <utility>

#include "agent/cache/clock.h"
#include "agent/daemon/log.h"
#include "agent/daemon/shared_cache.h"
#include "driver/api/dataplane.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::seconds kAcquireEventInterval{60};
inline constexpr std::string_view kNoIkeReason = "ike unavailable: no IKE module yet";

class AcquireRecorder final : public driver::DataplaneListener {
 public:
  AcquireRecorder(SharedCache& cache, Logger& log, const Clock& clock) : cache_(cache), log_(log), clock_(clock) {}

  void on_acquire(const driver::Acquire& acquire) override;
  void on_expiry(const driver::SaExpiry& expiry) override;

 private:
  SharedCache& cache_;
  Logger& log_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::pair<IpAddress, std::uint32_t>, TimePoint> last_recorded_;
};

}  // namespace ward::agent::daemon
