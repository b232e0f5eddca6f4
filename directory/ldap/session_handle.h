// Internal to ward_ldap: the libldap handle behind a Session, shared by session.cpp and
// sync_watch.cpp. Not installed, not for other components.
#pragma once

#include <ldap.h>

#include <chrono>
#include <memory>
#include <string>

#include "directory/ldap/session.h"

namespace ward::ldap {

struct LdapDeleter {
  void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using LdapPtr = std::unique_ptr<LDAP, LdapDeleter>;

struct Session::Handle {
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
}  // namespace internal

}  // namespace ward::ldap
