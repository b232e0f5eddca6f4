// The glue between the dataplane and IKE, both ways.
//
// Dataplane -> IKE: acquires and SA expiries. With IKE attached (attach_ike), every acquire goes
// to it (IKE coalesces several for one flow) and expiries too; without IKE (the xfrm backend, or
// IKE could not bind UDP 500) an acquire cannot be answered and is recorded as an ike-failure
// event ("ike unavailable"). Either way the acquire is logged at most once per peer and filter
// per kAcquireEventInterval so a busy flow does not flood the log.
//
// IKE -> cache: negotiation results (ike::service::IkeListener) become ike-success / ike-failure
// events with peer, auth method and reason; failures at most once per peer and reason per
// kAcquireEventInterval.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "agent/cache/clock.h"
#include "agent/daemon/log.h"
#include "agent/daemon/shared_cache.h"
#include "driver/api/dataplane.h"
#include "ike/service/ike_service.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::seconds kAcquireEventInterval{60};
inline constexpr std::string_view kNoIkeReason = "ike unavailable: no IKE module yet";

// Where acquires and expiries go when IKE runs (called on the dataplane's threads).
struct IkeHooks {
  std::function<void(const driver::Acquire&)> acquire;
  std::function<void(const driver::SaExpiry&)> expiry;
};

class AcquireRecorder final : public driver::DataplaneListener, public ike::service::IkeListener {
 public:
  AcquireRecorder(SharedCache& cache, Logger& log, const Clock& clock) : cache_(cache), log_(log), clock_(clock) {}

  // Empty hooks detach (before the IKE services go away).
  void attach_ike(IkeHooks hooks);

  void on_acquire(const driver::Acquire& acquire) override;
  void on_expiry(const driver::SaExpiry& expiry) override;
  void on_ike_event(const ike::service::IkeEvent& event) override;

 private:
  // True when `key` was not seen within kAcquireEventInterval (and marks it seen now).
  bool due(std::map<std::pair<IpAddress, std::string>, TimePoint>& seen, const IpAddress& peer, std::string key);
  void record(cache::EventKind kind, const IpAddress& peer, std::string_view auth_method, std::string_view reason);

  SharedCache& cache_;
  Logger& log_;
  const Clock& clock_;
  std::mutex mutex_;
  IkeHooks hooks_;
  std::map<std::pair<IpAddress, std::string>, TimePoint> last_acquire_logged_;
  std::map<std::pair<IpAddress, std::string>, TimePoint> last_failure_recorded_;
};

}  // namespace ward::agent::daemon
