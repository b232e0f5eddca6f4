// The glue between the dataplane and IKE, both ways.
//
// Dataplane -> IKE: acquires and SA expiries. With IKE attached (attach_ike), every acquire goes
// to it (IKE coalesces several for one flow) and expiries too; without IKE (the xfrm backend, or
// IKE could not bind UDP 500) an acquire cannot be answered and is recorded as an ike-failure
// event ("ike unavailable").
//
// IKE -> cache: negotiation results (ike::service::IkeListener) become ike-success / ike-failure
// events with peer, auth method and reason.
//
// Everything goes through an EventAggregator (event_aggregator.h): the first of its kind within
// kAggregationWindow is logged and stored, the ones like it are counted and written once a
// second as "N more like this". An acquire is alike per peer and filter; an IKE result per peer,
// what and reason; an unverified IKE failure (a refused main mode 1: its source address may be
// forged) per what and reason with the address taken out, so a flood from a million forged
// addresses is one row and one key, not a million.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

#include "agent/cache/clock.h"
#include "agent/daemon/event_aggregator.h"
#include "agent/daemon/log.h"
#include "agent/daemon/shared_cache.h"
#include "driver/api/dataplane.h"
#include "ike/service/ike_service.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::seconds kAcquireEventInterval = kAggregationWindow;
inline constexpr std::string_view kNoIkeReason = "ike unavailable: no IKE module yet";

// Where acquires and expiries go when IKE runs (called on the dataplane's threads).
struct IkeHooks {
  std::function<void(const driver::Acquire&)> acquire;
  std::function<void(const driver::SaExpiry&)> expiry;
};

class AcquireRecorder final : public driver::DataplaneListener, public ike::service::IkeListener {
 public:
  AcquireRecorder(SharedCache& cache, Logger& log, const Clock& clock) : log_(log), events_(cache, log, clock) {}

  // Empty hooks detach (before the IKE services go away).
  void attach_ike(IkeHooks hooks);

  void on_acquire(const driver::Acquire& acquire) override;
  void on_expiry(const driver::SaExpiry& expiry) override;
  void on_ike_event(const ike::service::IkeEvent& event) override;
  // `count` events alike `event` (the IKE process counts unverified failures: agent/ikeproc/alike_events.h).
  void on_ike_events(const ike::service::IkeEvent& event, std::uint64_t count);

  // Writes the repeats counted since the last call (the main loop, once a second).
  void flush() { events_.flush(); }
  const EventAggregator& events() const { return events_; }

 private:
  Logger& log_;
  EventAggregator events_;
  std::mutex mutex_;
  IkeHooks hooks_;
};

}  // namespace ward::agent::daemon
