// A string libldap allocated (ldap_get_dn, ldap_get_option, ...), freed with ldap_memfree.
#pragma once

#include <ldap.h>

#include <memory>

namespace ward::ldap {

struct LdapStringDeleter {
  void operator()(char* s) const { ldap_memfree(s); }
};
using LdapString = std::unique_ptr<char, LdapStringDeleter>;

}  // namespace ward::ldap
