// An LDAP connection owned by unique_ptr: unbound (ldap_unbind_ext_s) when it goes.
#pragma once

#include <ldap.h>

#include <memory>

namespace ward::test {

struct LdapDeleter {
  void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using LdapPtr = std::unique_ptr<LDAP, LdapDeleter>;

}  // namespace ward::test
