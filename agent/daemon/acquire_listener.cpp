#include "agent/daemon/acquire_listener.h"

#include <cstdio>

namespace ward::agent::daemon {
namespace {

std::string spi_text(std::uint32_t spi) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", spi);
  return text;
}

std::string_view role_name(ike::auth::Role role) { return role == ike::auth::Role::Initiator ? "initiator" : "responder"; }

}  // namespace

void AcquireRecorder::attach_ike(IkeHooks hooks) {
  const std::lock_guard lock(mutex_);
  hooks_ = std::move(hooks);
}

bool AcquireRecorder::due(std::map<std::pair<IpAddress, std::string>, TimePoint>& seen, const IpAddress& peer,
                          std::string key) {
  const auto now = clock_.now();
  const std::lock_guard lock(mutex_);
  auto [it, added] = seen.try_emplace({peer, std::move(key)}, now);
  if (added) return true;
  if (now - it->second < kAcquireEventInterval) return false;
  it->second = now;
  return true;
}

void AcquireRecorder::record(cache::EventKind kind, const IpAddress& peer, std::string_view auth_method,
                             std::string_view reason) {
  auto recorded = cache_.with([&](cache::Cache& c) { return c.record_event(kind, peer.to_string(), auth_method, reason); });
  if (!recorded) {
    log_.error("event-not-recorded", {{"kind", std::string(cache::name_of(kind))}, {"why", recorded.error().message}});
  }
}

void AcquireRecorder::on_acquire(const driver::Acquire& acquire) {
  std::function<void(const driver::Acquire&)> forward;
  {
    const std::lock_guard lock(mutex_);
    forward = hooks_.acquire;
  }
  if (forward) forward(acquire);
  if (!due(last_acquire_logged_, acquire.peer, std::to_string(acquire.filter_id))) return;
  log_.warning("acquire", {{"peer", acquire.peer.to_string()},
                           {"filter_id", std::to_string(acquire.filter_id)},
                           {"source", acquire.source.to_string()},
                           {"destination", acquire.destination.to_string()},
                           {"protocol", std::to_string(acquire.protocol)},
                           {"destination_port", std::to_string(acquire.destination_port)},
                           {"result", forward ? std::string("negotiating") : std::string(kNoIkeReason)}});
  if (!forward) record(cache::EventKind::IkeFailure, acquire.peer, "", kNoIkeReason);
}

void AcquireRecorder::on_expiry(const driver::SaExpiry& expiry) {
  log_.info("sa-expiry", {{"spi", std::to_string(expiry.spi)},
                          {"kind", expiry.kind == driver::ExpiryKind::Soft ? "soft" : "hard"},
                          {"peer", expiry.peer.to_string()},
                          {"filter_id", std::to_string(expiry.filter_id)}});
  std::function<void(const driver::SaExpiry&)> forward;
  {
    const std::lock_guard lock(mutex_);
    forward = hooks_.expiry;
  }
  if (forward) forward(expiry);
}

void AcquireRecorder::on_ike_event(const ike::service::IkeEvent& event) {
  using Kind = ike::service::IkeEvent::Kind;
  const std::string what(ike::service::name(event.kind));
  const std::string peer = event.peer.to_string();
  switch (event.kind) {
    case Kind::MainModeEstablished:
      log_.info("ike-main-mode", {{"peer", peer}, {"role", std::string(role_name(event.role))}, {"auth", event.auth_method}});
      record(cache::EventKind::IkeSuccess, event.peer, event.auth_method, what + " (" + std::string(role_name(event.role)) + ")");
      return;
    case Kind::QuickModeEstablished: {
      const std::string reason = what + " for filter " + std::to_string(event.filter_id) + ": SPI in " +
                                 spi_text(event.inbound_spi) + ", out " + spi_text(event.outbound_spi);
      log_.info("ike-quick-mode", {{"peer", peer},
                                   {"filter_id", std::to_string(event.filter_id)},
                                   {"spi_in", spi_text(event.inbound_spi)},
                                   {"spi_out", spi_text(event.outbound_spi)}});
      record(cache::EventKind::IkeSuccess, event.peer, event.auth_method, reason);
      return;
    }
    case Kind::MainModeFailed:
    case Kind::QuickModeFailed: {
      const std::string words(ike::service::helpdesk_words(event.failure));
      log_.warning("ike-failure", {{"peer", peer},
                                   {"what", what},
                                   {"role", std::string(role_name(event.role))},
                                   {"auth", event.auth_method},
                                   {"filter_id", std::to_string(event.filter_id)},
                                   {"failure", std::string(ike::service::name(event.failure))},
                                   {"reason", event.reason}});
      if (due(last_failure_recorded_, event.peer, what + event.reason)) {
        record(cache::EventKind::IkeFailure, event.peer, event.auth_method, what + ": " + words + " (" + event.reason + ")");
      }
      return;
    }
    case Kind::SoftAssociation:
      log_.warning("ike-soft-association", {{"peer", peer}, {"filter_id", std::to_string(event.filter_id)}, {"reason", event.reason}});
      record(cache::EventKind::IkeFailure, event.peer, event.auth_method,
             what + ": " + std::string(ike::service::helpdesk_words(ike::service::NegotiationState::Soft)) + "; " + event.reason);
      return;
    case Kind::SasDeleted:
      log_.info("ike-sas-deleted", {{"peer", peer},
                                    {"filter_id", std::to_string(event.filter_id)},
                                    {"spi_in", spi_text(event.inbound_spi)},
                                    {"spi_out", spi_text(event.outbound_spi)},
                                    {"reason", event.reason}});
      return;
  }
}

}  // namespace ward::agent::daemon
