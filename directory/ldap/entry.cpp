#include "directory/ldap/entry.h"

#include <algorithm>

namespace ward::ldap {
namespace {
char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const noexcept {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return lower(x) < lower(y); });
}

const std::vector<std::string>* Entry::values(std::string_view name) const {
  auto it = attributes.find(name);
  return it == attributes.end() ? nullptr : &it->second;
}

std::optional<std::string> Entry::first(std::string_view name) const {
  const auto* v = values(name);
  if (v == nullptr || v->empty()) return std::nullopt;
  return v->front();
}

bool Entry::has_object_class(std::string_view wanted) const {
  const auto* classes = values("objectClass");
  if (classes == nullptr) return false;
  const CaseInsensitiveLess less;
  return std::any_of(classes->begin(), classes->end(),
                     [&](const std::string& name) { return !less(name, wanted) && !less(wanted, name); });
}

}  // namespace ward::ldap
