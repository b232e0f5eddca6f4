#include "agent/daemon/acquire_listener.h"

namespace ward::agent::daemon {

void AcquireRecorder::on_acquire(const driver::Acquire& acquire) {
  const auto now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    auto [it, added] = last_recorded_.try_emplace({acquire.peer, acquire.filter_id}, now);
    if (!added) {
      if (now - it->second < kAcquireEventInterval) return;
      it->second = now;
    }
  }
  log_.warning("acquire", {{"peer", acquire.peer.to_string()},
                           {"filter_id", std::to_string(acquire.filter_id)},
                           {"source", acquire.source.to_string()},
                           {"destination", acquire.destination.to_string()},
                           {"protocol", std::to_string(acquire.protocol)},
                           {"destination_port", std::to_string(acquire.destination_port)},
                           {"result", std::string(kNoIkeReason)}});
  auto recorded = cache_.with([&](cache::Cache& c) {
    return c.record_event(cache::EventKind::IkeFailure, acquire.peer.to_string(), "", kNoIkeReason);
  });
  if (!recorded) log_.error("event-not-recorded", {{"kind", "ike-failure"}, {"why", recorded.error().message}});
}

void AcquireRecorder::on_expiry(const driver::SaExpiry& expiry) {
  log_.info("sa-expiry", {{"spi", std::to_string(expiry.spi)},
                          {"kind", expiry.kind == driver::ExpiryKind::Soft ? "soft" : "hard"},
                          {"peer", expiry.peer.to_string()},
                          {"filter_id", std::to_string(expiry.filter_id)}});
}

}  // namespace ward::agent::daemon
