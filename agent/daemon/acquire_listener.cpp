#include "agent/daemon/acquire_listener.h"

namespace ward::agent::daemon {
namespace {

std::string_view role_name(ike::auth::Role role) { return role == ike::auth::Role::Initiator ? "initiator" : "responder"; }

}  // namespace

void AcquireRecorder::attach_ike(IkeHooks hooks) {
  const std::lock_guard lock(mutex_);
  hooks_ = std::move(hooks);
}

void AcquireRecorder::on_acquire(const driver::Acquire& acquire) {
  std::function<void(const driver::Acquire&)> forward;
  {
    const std::lock_guard lock(mutex_);
    forward = hooks_.acquire;
  }
  if (forward) forward(acquire);
  EventOccurrence occurrence;
  occurrence.key = "acquire " + acquire.peer.to_string() + " " + std::to_string(acquire.filter_id);
  occurrence.log_event = "acquire";
  occurrence.fields = {{"peer", acquire.peer.to_string()},
                       {"filter_id", std::to_string(acquire.filter_id)},
                       {"source", acquire.source.to_string()},
                       {"destination", acquire.destination.to_string()},
                       {"protocol", std::to_string(acquire.protocol)},
                       {"destination_port", std::to_string(acquire.destination_port)},
                       {"result", forward ? std::string("negotiating") : std::string(kNoIkeReason)}};
  occurrence.store = !forward;
  occurrence.kind = cache::EventKind::IkeFailure;
  occurrence.peer = acquire.peer.to_string();
  occurrence.reason = std::string(kNoIkeReason);
  (void)events_.record(std::move(occurrence));
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

void AcquireRecorder::on_ike_event(const ike::service::IkeEvent& event) { on_ike_events(event, 1); }

void AcquireRecorder::on_ike_events(const ike::service::IkeEvent& event, std::uint64_t count) {
  using Kind = ike::service::IkeEvent::Kind;
  const std::string what(ike::service::name(event.kind));
  const std::string peer = event.peer.to_string();
  EventOccurrence occurrence;
  occurrence.peer = peer;
  occurrence.auth_method = event.auth_method;
  switch (event.kind) {
    case Kind::MainModeEstablished:
      occurrence.level = config::LogLevel::Info;
      occurrence.log_event = "ike-main-mode";
      occurrence.fields = {{"peer", peer}, {"role", std::string(role_name(event.role))}, {"auth", event.auth_method}};
      occurrence.kind = cache::EventKind::IkeSuccess;
      occurrence.reason = what + " (" + std::string(role_name(event.role)) + ")";
      occurrence.key = "ike " + peer + " " + occurrence.reason;
      break;
    case Kind::QuickModeEstablished:
      occurrence.level = config::LogLevel::Info;
      occurrence.log_event = "ike-quick-mode";
      occurrence.fields = {{"peer", peer},
                           {"filter_id", std::to_string(event.filter_id)},
                           {"spi_in", spi_text(event.inbound_spi)},
                           {"spi_out", spi_text(event.outbound_spi)}};
      occurrence.kind = cache::EventKind::IkeSuccess;
      occurrence.reason = what + " for filter " + std::to_string(event.filter_id) + ": SPI in " + spi_text(event.inbound_spi) +
                          ", out " + spi_text(event.outbound_spi);
      occurrence.key = "ike " + peer + " " + occurrence.reason;
      break;
    case Kind::MainModeFailed:
    case Kind::QuickModeFailed: {
      occurrence.log_event = "ike-failure";
      occurrence.fields = {{"peer", peer},
                           {"what", what},
                           {"role", std::string(role_name(event.role))},
                           {"auth", event.auth_method},
                           {"filter_id", std::to_string(event.filter_id)},
                           {"failure", std::string(ike::service::name(event.failure))},
                           {"reason", event.reason}};
      occurrence.kind = cache::EventKind::IkeFailure;
      occurrence.reason = what + ": " + std::string(ike::service::helpdesk_words(event.failure)) + " (" + event.reason + ")";
      if (event.unverified) {
        // The source address may be forged: alike whatever address it names.
        occurrence.key = "unverified " + what + ": " + std::string(ike::service::helpdesk_words(event.failure)) + " (" +
                         ike::service::reason_without_peer(event) + ")";
        occurrence.fields.emplace_back("unverified", "yes");
        occurrence.reason += " (unverified source address)";
      } else {
        occurrence.key = "ike " + peer + " " + occurrence.reason;
      }
      break;
    }
    case Kind::SoftAssociation:
      occurrence.log_event = "ike-soft-association";
      occurrence.fields = {{"peer", peer}, {"filter_id", std::to_string(event.filter_id)}, {"reason", event.reason}};
      occurrence.kind = cache::EventKind::IkeFailure;
      occurrence.reason =
          what + ": " + std::string(ike::service::helpdesk_words(ike::service::NegotiationState::Soft)) + "; " + event.reason;
      occurrence.key = "ike " + peer + " " + occurrence.reason;
      break;
    case Kind::SasDeleted:
      log_.info("ike-sas-deleted", {{"peer", peer},
                                    {"filter_id", std::to_string(event.filter_id)},
                                    {"spi_in", spi_text(event.inbound_spi)},
                                    {"spi_out", spi_text(event.outbound_spi)},
                                    {"reason", event.reason}});
      return;
  }
  (void)events_.record(std::move(occurrence), count);
}

}  // namespace ward::agent::daemon
