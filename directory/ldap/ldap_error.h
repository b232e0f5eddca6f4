// LdapError: what an LDAP operation against which server and entry failed with, and why.
#pragma once

#include <string>

namespace ward::ldap {

// LDAP result codes (RFC 4511) and libldap's client-side codes that callers compare against.
namespace result_code {
inline constexpr int kSuccess = 0;
inline constexpr int kNoSuchObject = 32;
inline constexpr int kInvalidCredentials = 49;
inline constexpr int kAlreadyExists = 68;
inline constexpr int kServerDown = -1;     // LDAP_SERVER_DOWN: cannot contact the server
inline constexpr int kLocalError = -2;     // LDAP_LOCAL_ERROR
inline constexpr int kTimeout = -5;        // LDAP_TIMEOUT
inline constexpr int kParamError = -9;     // LDAP_PARAM_ERROR
inline constexpr int kConnectError = -11;  // LDAP_CONNECT_ERROR (e.g. TLS handshake failed)
}  // namespace result_code

struct LdapError {
  std::string uri;        // the server, e.g. "ldap://dc1.example.com:389"
  std::string operation;  // "connect", "StartTLS", "simple bind", "SASL/GSSAPI bind", "search", ...
  std::string dn;         // the entry concerned (bind DN, search base, added DN); may be empty
  int result_code = 0;    // LDAP result code, or a negative libldap client code
  std::string message;    // result text plus the server's or TLS library's diagnostic message

  // "search of 'ou=x,dc=y' on ldap://h:389 failed: No such object (32): <diagnostic>"
  std::string to_string() const;
};

}  // namespace ward::ldap
