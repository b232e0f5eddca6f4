#include "directory/ldap/ldap_error.h"

namespace ward::ldap {

std::string LdapError::to_string() const {
  std::string text = operation;
  if (!dn.empty()) text += " of '" + dn + "'";
  if (!uri.empty()) text += " on " + uri;
  text += " failed (result " + std::to_string(result_code) + ")";
  if (!message.empty()) text += ": " + message;
  return text;
}

}  // namespace ward::ldap
