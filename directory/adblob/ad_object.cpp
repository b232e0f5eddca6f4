#include "directory/adblob/ad_object.h"

#include <cctype>

namespace ward::adblob {

namespace {
bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}
}  // namespace

std::string_view class_name(AdClass value) {
  for (const auto& [candidate, name] : kAdClassNames) {
    if (candidate == value) return name;
  }
  return "?";
}

std::optional<AdClass> class_from_name(std::string_view name) {
  for (const auto& [candidate, candidate_name] : kAdClassNames) {
    if (equal_ignoring_case(candidate_name, name)) return candidate;
  }
  return std::nullopt;
}

std::string ip_security_container(std::string_view domain_dn) {
  return "CN=IP Security,CN=System," + std::string(domain_dn);
}

std::string ipsec_dn(AdClass object_class, const model::Guid& id, std::string_view domain_dn) {
  return "CN=" + std::string(class_name(object_class)) + id.to_string() + "," + ip_security_container(domain_dn);
}

std::string normalized_dn(std::string_view dn) {
  std::string out;
  bool after_separator = false;
  for (const char c : dn) {
    if (after_separator && c == ' ') continue;
    after_separator = (c == ',' || c == '=');
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string MappingError::to_string() const {
  std::string text = dn + ": " + attribute;
  if (offset) text += " at byte offset " + std::to_string(*offset);
  return text + ": " + message;
}

}  // namespace ward::adblob
