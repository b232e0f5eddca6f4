#include "directory/ldap/root_dse.h"

#include <algorithm>

#include "directory/ldap/session.h"

namespace ward::ldap {

std::string_view directory_kind_name(DirectoryKind kind) {
  switch (kind) {
    case DirectoryKind::kOpenLdap: return "OpenLDAP";
    case DirectoryKind::kActiveDirectory: return "Active Directory";
  }
  return "unknown";
}

bool RootDse::supports_control(std::string_view oid) const {
  return std::find(supported_controls.begin(), supported_controls.end(), oid) != supported_controls.end();
}

Expected<RootDse, LdapError> read_root_dse(Session& session) {
  SearchRequest request{"", Scope::kBase, "(objectClass=*)",
                        {"namingContexts", "defaultNamingContext", "dnsHostName", "supportedCapabilities",
                         "supportedControl", "configurationNamingContext"},
                        0};
  auto entries = session.search(request);
  if (!entries) return unexpected(entries.error());
  RootDse out;
  if (entries->empty()) return out;
  const Entry& entry = entries->front();
  const auto all = [&](std::string_view name) {
    const auto* values = entry.values(name);
    return values != nullptr ? *values : std::vector<std::string>{};
  };
  out.naming_contexts = all("namingContexts");
  out.default_naming_context = entry.first("defaultNamingContext").value_or("");
  out.dns_host_name = entry.first("dnsHostName").value_or("");
  out.configuration_naming_context = entry.first("configurationNamingContext").value_or("");
  out.supported_capabilities = all("supportedCapabilities");
  out.supported_controls = all("supportedControl");
  const bool ad = std::find(out.supported_capabilities.begin(), out.supported_capabilities.end(),
                            kActiveDirectoryCapabilityOid) != out.supported_capabilities.end();
  out.kind = ad ? DirectoryKind::kActiveDirectory : DirectoryKind::kOpenLdap;
  return out;
}

std::string_view name_of(ChangeNotification notification) {
  switch (notification) {
    case ChangeNotification::kNone: return "none (polling)";
    case ChangeNotification::kSyncrepl: return "syncrepl (RFC 4533)";
    case ChangeNotification::kAdNotification: return "AD change notification";
  }
  return "unknown";
}

DirectoryTraits traits_of(const RootDse& root) {
  DirectoryTraits traits;
  traits.kind = root.kind;
  if (root.supports_control(kSyncRequestControlOid)) {
    traits.notification = ChangeNotification::kSyncrepl;
  } else if (root.supports_control(kAdNotificationControlOid)) {
    traits.notification = ChangeNotification::kAdNotification;
  }
  traits.security_filtering = root.kind == DirectoryKind::kActiveDirectory && root.supports_control(kSdFlagsControlOid);
  return traits;
}

}  // namespace ward::ldap
