// Entry: one directory object as returned by a search — its DN and attribute values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ward::ldap {

// Attribute names compare case-insensitively (ASCII), as LDAP descriptors do.
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};

struct Entry {
  std::string dn;
  // Values are raw octets (std::string as a byte container): binary attributes such as
  // ipsecData arrive unchanged; text attributes are UTF-8.
  std::map<std::string, std::vector<std::string>, CaseInsensitiveLess> attributes;

  // The values of `name`, or nullptr when the entry has none.
  const std::vector<std::string>* values(std::string_view name) const;
  // The first value of `name`, when there is one.
  std::optional<std::string> first(std::string_view name) const;
  // Whether objectClass lists `wanted`, compared as LDAP compares names (case-insensitively).
  bool has_object_class(std::string_view wanted) const;
};

}  // namespace ward::ldap
