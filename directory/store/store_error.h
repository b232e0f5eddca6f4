// StoreError: which directory object and attribute a store operation failed on, and why.
#pragma once

#include <string>

namespace ward::store {

struct StoreError {
  std::string dn;         // the object concerned (may be empty for whole-request errors)
  std::string attribute;  // the attribute concerned; empty when the whole object is at fault
  std::string message;    // what went wrong, including the LDAP error text when there is one

  std::string to_string() const {
    std::string text = attribute.empty() ? std::string() : attribute + " of ";
    return text + "'" + dn + "': " + message;
  }
};

}  // namespace ward::store
