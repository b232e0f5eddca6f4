// GpoError: what was wrong with which directory object's attribute while scoping GPOs.
#pragma once

#include <string>

namespace ward::gpo {

struct GpoError {
  std::string dn;         // the object whose attribute was wrong (SOM, GPO, computer)
  std::string attribute;  // e.g. "gPLink", "gPOptions", "flags"; empty for directory errors
  std::string message;    // what was wrong, with the offending text and its position

  std::string to_string() const {
    std::string text = attribute.empty() ? std::string() : attribute + " of ";
    return text + "'" + dn + "': " + message;
  }
};

}  // namespace ward::gpo
