// One directory connection shared by a host's change watch and its policy fetches: the watch's
// sync search stays outstanding on it while fetches run their searches (Session serialises
// them), so a refresh costs no new connection, no bind and no root DSE read. A broken connection
// is replaced by the next acquire(), which walks the URIs starting at the one that last worked
// (failover without knocking at a dead first server every time).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "directory/ldap/session.h"

namespace ward::ldap {

class SharedSession {
 public:
  explicit SharedSession(SessionOptions options) : options_(std::move(options)) {}

  struct Acquired {
    std::shared_ptr<Session> session;
    bool fresh = false;  // connected (and bound) by this call
  };
  // The open session, or a new one when there is none or it broke.
  Expected<Acquired, LdapError> acquire();
  // Drops `session` if it is still the current one (it broke, or its server ended our search).
  void discard(const std::shared_ptr<Session>& session);
  // The URIs tried first next time: the one after the current server (used when it failed).
  void prefer_next();
  const SessionOptions& options() const { return options_; }
  std::uint64_t connects() const;  // successful connects so far
  // LDAP round trips and bytes on the wire of every session this object has held.
  struct Traffic {
    std::uint64_t round_trips = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t bytes_sent = 0;
  };
  Traffic traffic() const;

 private:
  SessionOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<Session> current_;
  std::uint64_t connects_ = 0;
  Traffic retired_;  // of the sessions no longer held
  void retire_current();  // mutex_ held
};

}  // namespace ward::ldap
