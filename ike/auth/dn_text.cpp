#include "ike/auth/dn_text.h"

#include <openssl/objects.h>

#include <algorithm>
#include <cctype>

namespace ward::ike::auth {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::vector<DnComponent> components_of(const X509_NAME* name) {
  std::vector<DnComponent> out;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    unsigned char* utf8 = nullptr;
    const int size = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    std::string value = size >= 0 ? std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size)) : std::string();
    OPENSSL_free(utf8);
    out.push_back({OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)), lower(trim(value))});
  }
  return out;
}

bool same_components(const std::vector<DnComponent>& a, const std::vector<DnComponent>& b, bool reversed) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto& other = reversed ? b[b.size() - 1 - i] : b[i];
    if (a[i].nid != other.nid || a[i].value != other.value) return false;
  }
  return true;
}

}  // namespace

std::optional<std::vector<DnComponent>> parse_dn(std::string_view text) {
  std::vector<std::string> parts;
  std::string current;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      current += text[++i];
    } else if (c == '"') {
      quoted = !quoted;
    } else if ((c == ',' || c == ';') && !quoted) {
      parts.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(std::move(current));
  std::vector<DnComponent> out;
  for (const auto& part : parts) {
    const auto equals = part.find('=');
    if (equals == std::string::npos) return std::nullopt;
    const std::string type = trim(std::string_view(part).substr(0, equals));
    std::string upper = type;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    int nid = OBJ_sn2nid(type.c_str());                    // CN, DC, emailAddress
    if (nid == NID_undef) nid = OBJ_sn2nid(upper.c_str());   // cn, dc
    if (nid == NID_undef) nid = OBJ_ln2nid(type.c_str());    // commonName, domainComponent
    if (nid == NID_undef && lower(type) == "e") nid = NID_pkcs9_emailAddress;   // Windows writes E=
    if (nid == NID_undef && lower(type) == "s") nid = NID_stateOrProvinceName;   // and S=
    if (nid == NID_undef) return std::nullopt;
    out.push_back({nid, lower(trim(std::string_view(part).substr(equals + 1)))});
  }
  return out;
}

bool name_matches(const std::vector<DnComponent>& wanted, const X509_NAME* name) {
  const auto have = components_of(name);
  return same_components(wanted, have, false) || same_components(wanted, have, true);
}

}  // namespace ward::ike::auth
