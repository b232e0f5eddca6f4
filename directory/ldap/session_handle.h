// Internal to ward_ldap: the libldap handle behind a Session, shared by session.cpp and
// sync_watch.cpp. Not installed, not for other components.
#pragma once

#include <ldap.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "directory/ldap/session.h"

namespace ward::ldap {

struct LdapDeleter {
  void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using LdapPtr = std::unique_ptr<LDAP, LdapDeleter>;

namespace internal {
// Bytes through a connection's socket, counted by a sockbuf layer just above TCP
// (wire_counter.cpp), installed by a connection callback when libldap connects.
struct WireCounters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> sent{0};
};
// Registers the counting layer on `ld` (LDAP_OPT_CONNECT_CB); `counters` and the returned
// callback record must outlive `ld`.
std::unique_ptr<ldap_conncb> count_wire_bytes(LDAP* ld, WireCounters& counters);
}  // namespace internal

// Declared in this order so that the connection goes first: libldap calls the callback and the
// counting layer until it is closed.
struct Session::Handle {
  std::unique_ptr<internal::WireCounters> wire = std::make_unique<internal::WireCounters>();
  std::unique_ptr<ldap_conncb> connect_callback;
  LdapPtr ld;
};

namespace internal {
struct MessageDeleter {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using MessagePtr = std::unique_ptr<LDAPMessage, MessageDeleter>;

struct ControlDeleter {
  void operator()(LDAPControl* c) const { ldap_control_free(c); }
};
using ControlPtr = std::unique_ptr<LDAPControl, ControlDeleter>;

struct ControlsDeleter {
  void operator()(LDAPControl** c) const { ldap_controls_free(c); }
};
using ControlsPtr = std::unique_ptr<LDAPControl*, ControlsDeleter>;

timeval to_timeval(std::chrono::milliseconds ms);
int to_ldap_scope(Scope scope);
// An LdapError from libldap's state after a failed call returned `rc` (result text plus the
// server's or TLS layer's diagnostic message).
LdapError make_error(LDAP* ld, int rc, std::string uri, std::string operation, std::string dn);
// One search result entry: its DN and attribute values.
Entry entry_of(LDAP* ld, LDAPMessage* message);
}  // namespace internal

}  // namespace ward::ldap
