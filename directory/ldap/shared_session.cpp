#include "directory/ldap/shared_session.h"

namespace ward::ldap {

Expected<SharedSession::Acquired, LdapError> SharedSession::acquire() {
  std::lock_guard lock(mutex_);
  if (current_ && !current_->broken()) return Acquired{current_, false};
  if (current_ && !options_.uris.empty()) options_.first_uri = (current_->uri_index() + 1) % options_.uris.size();
  retire_current();
  auto session = Session::connect(options_);
  if (!session) return unexpected(session.error());
  current_ = std::shared_ptr<Session>(std::move(*session));
  options_.first_uri = current_->uri_index();
  ++connects_;
  return Acquired{current_, true};
}

void SharedSession::discard(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mutex_);
  if (current_ && current_ == session) {
    // The server that failed is tried last next time.
    if (!options_.uris.empty()) options_.first_uri = (current_->uri_index() + 1) % options_.uris.size();
    retire_current();
  }
}

void SharedSession::prefer_next() {
  std::lock_guard lock(mutex_);
  if (!options_.uris.empty()) options_.first_uri = (options_.first_uri + 1) % options_.uris.size();
}

void SharedSession::retire_current() {
  if (!current_) return;
  retired_.round_trips += current_->round_trips();
  retired_.bytes_received += current_->bytes_received();
  retired_.bytes_sent += current_->bytes_sent();
  current_.reset();
}

SharedSession::Traffic SharedSession::traffic() const {
  std::lock_guard lock(mutex_);
  Traffic out = retired_;
  if (current_) {
    out.round_trips += current_->round_trips();
    out.bytes_received += current_->bytes_received();
    out.bytes_sent += current_->bytes_sent();
  }
  return out;
}

std::uint64_t SharedSession::connects() const {
  std::lock_guard lock(mutex_);
  return connects_;
}

}  // namespace ward::ldap
