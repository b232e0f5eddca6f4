// The host part of an LDAP URI, and what SASL/GSSAPI needs of it. Header-only (common/ip only),
// so that configuration parsers can check URIs without linking libldap.
//
// Kerberos builds the directory's service principal from the URI's host: ldap/<host>@REALM.
// An IP address there asks the KDC for ldap/10.0.0.1, which no directory has (AD answers
// "Server not found in Kerberos database"), so a GSSAPI URI must name the server's host name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/ip.h"

namespace ward::ldap {

// "ldap://dc1.example.com:389/" -> "dc1.example.com"; "ldaps://[::1]:636" -> "::1";
// ldapi:// (a Unix socket) and URIs without a host -> nullopt.
inline std::optional<std::string> uri_host(std::string_view uri) {
  for (std::string_view scheme : {"ldap://", "ldaps://"}) {
    if (uri.substr(0, scheme.size()) != scheme) continue;
    std::string_view rest = uri.substr(scheme.size());
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
    if (!rest.empty() && rest.front() == '[') {
      const auto close = rest.find(']');
      if (close == std::string_view::npos) return std::nullopt;
      return std::string(rest.substr(1, close - 1));
    }
    if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) rest = rest.substr(0, colon);
    if (rest.empty()) return std::nullopt;
    return std::string(rest);
  }
  return std::nullopt;
}

// Why `uri` cannot carry a SASL/GSSAPI bind, or nullopt when it can: its host is an IP address.
inline std::optional<std::string> gssapi_uri_problem(std::string_view uri) {
  const auto host = uri_host(uri);
  if (!host || !IpAddress::parse(*host)) return std::nullopt;
  return "'" + std::string(uri) + "' names the server by its IP address; Kerberos (GSSAPI) needs its host name: "
         "use the domain controller's host name (the service principal is ldap/<host>, here it would be ldap/" +
         *host + ")";
}

}  // namespace ward::ldap
