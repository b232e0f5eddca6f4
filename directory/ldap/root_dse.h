// The root DSE: what kind of directory a session talks to, told apart at run time (never by
// configuration), and the facts about the server that callers need without knowing the kind.
//
// Active Directory (Windows, or Samba AD DC) lists LDAP_CAP_ACTIVE_DIRECTORY_OID in
// supportedCapabilities; OpenLDAP has no such attribute. Everything that differs between the two
// is decided from this one value inside directory/ (see store/directory_dialect.h), never by
// `if`s in callers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/ldap/ldap_error.h"

namespace ward::ldap {

class Session;

// [MS-ADTS] 3.1.1.3.4.3: the server is an Active Directory DC (AD DS).
inline constexpr std::string_view kActiveDirectoryCapabilityOid = "1.2.840.113556.1.4.800";

enum class DirectoryKind { kOpenLdap, kActiveDirectory };

std::string_view directory_kind_name(DirectoryKind kind);  // "OpenLDAP", "Active Directory"

struct RootDse {
  DirectoryKind kind = DirectoryKind::kOpenLdap;
  std::vector<std::string> naming_contexts;
  std::string default_naming_context;  // AD: the domain, e.g. "DC=example,DC=com"; else empty
  std::string dns_host_name;           // AD: the DC answering, e.g. "dc1.example.com"; else empty
  std::vector<std::string> supported_capabilities;
  std::vector<std::string> supported_controls;

  bool supports_control(std::string_view oid) const;
};

// One base search of "" (one round trip); works before or after any bind.
Expected<RootDse, LdapError> read_root_dse(Session& session);

}  // namespace ward::ldap
