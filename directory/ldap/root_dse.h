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
// LDAP_SERVER_NOTIFICATION_OID: AD's change notification (a search that stays open).
inline constexpr const char* kAdNotificationControlOid = "1.2.840.113556.1.4.528";
// LDAP_SERVER_SD_FLAGS_OID: which parts of nTSecurityDescriptor a search returns.
inline constexpr const char* kSdFlagsControlOid = "1.2.840.113556.1.4.801";

enum class DirectoryKind { kOpenLdap, kActiveDirectory };

std::string_view directory_kind_name(DirectoryKind kind);  // "OpenLDAP", "Active Directory"

struct RootDse {
  DirectoryKind kind = DirectoryKind::kOpenLdap;
  std::vector<std::string> naming_contexts;
  std::string default_naming_context;  // AD: the domain, e.g. "DC=example,DC=com"; else empty
  std::string dns_host_name;           // AD: the DC answering, e.g. "dc1.example.com"; else empty
  std::string configuration_naming_context;  // AD: "CN=Configuration,DC=example,DC=com"; else empty
  std::vector<std::string> supported_capabilities;
  std::vector<std::string> supported_controls;

  bool supports_control(std::string_view oid) const;
};

// One base search of "" (one round trip); works before or after any bind.
Expected<RootDse, LdapError> read_root_dse(Session& session);

// How the server reports changes: RFC 4533 syncrepl (OpenLDAP's syncprov), AD's notification
// control (filter (objectClass=*) only, base/one-level scope or subtree at a naming context's
// head, at most MaxNotificationPerConn = 5 per connection), or not at all (poll).
enum class ChangeNotification { kNone, kSyncrepl, kAdNotification };
std::string_view name_of(ChangeNotification notification);

// What the agent does differently per kind, decided here once.
struct DirectoryTraits {
  DirectoryKind kind = DirectoryKind::kOpenLdap;
  ChangeNotification notification = ChangeNotification::kNone;
  // AD keeps an nTSecurityDescriptor on every GPO and a tokenGroups on every account: GPO
  // security filtering is evaluated. Ward's OpenLDAP layout has neither: a GPO in scope applies
  // (slapd's ACLs decide what a host can read at all).
  bool security_filtering = false;
};
DirectoryTraits traits_of(const RootDse& root);

}  // namespace ward::ldap
