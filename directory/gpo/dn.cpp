#include "directory/gpo/dn.h"

namespace ward::gpo {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && s[b] == ' ') ++b;
  // A trailing escaped space ("\ ") is part of the value.
  while (e > b && s[e - 1] == ' ' && !(e >= 2 && s[e - 2] == '\\')) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

std::optional<std::vector<std::string>> split_dn(std::string_view dn) {
  std::vector<std::string> rdns;
  if (trim(dn).empty()) return rdns;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < dn.size(); ++i) {
    char c = dn[i];
    if (c == '\\') {
      if (i + 1 >= dn.size()) return std::nullopt;
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if ((c == ',' || c == ';') && !quoted) {
      std::string rdn = trim(dn.substr(start, i - start));
      if (rdn.empty()) return std::nullopt;
      rdns.push_back(std::move(rdn));
      start = i + 1;
    }
  }
  if (quoted) return std::nullopt;
  std::string rdn = trim(dn.substr(start));
  if (rdn.empty()) return std::nullopt;
  rdns.push_back(std::move(rdn));
  return rdns;
}

std::string normalize_dn(std::string_view dn) {
  auto rdns = split_dn(dn);
  if (!rdns) {
    std::string out;
    for (char c : dn) out += lower(c);
    return out;
  }
  std::string out;
  for (const auto& rdn : *rdns) {
    if (!out.empty()) out += ',';
    auto eq = rdn.find('=');
    std::string part = eq == std::string::npos ? rdn : trim(rdn.substr(0, eq)) + "=" + trim(rdn.substr(eq + 1));
    for (char c : part) out += lower(c);
  }
  return out;
}

std::string parent_dn(std::string_view dn) {
  auto rdns = split_dn(dn);
  if (!rdns || rdns->size() < 2) return "";
  std::string out;
  for (std::size_t i = 1; i < rdns->size(); ++i) {
    if (!out.empty()) out += ',';
    out += (*rdns)[i];
  }
  return out;
}

std::string rdn_type(std::string_view rdn) {
  auto eq = rdn.find('=');
  std::string type = trim(rdn.substr(0, eq == std::string_view::npos ? rdn.size() : eq));
  for (char& c : type) c = lower(c);
  return type;
}

std::string domain_dn(std::string_view dn) {
  auto rdns = split_dn(dn);
  if (!rdns) return "";
  std::size_t first_dc = rdns->size();
  while (first_dc > 0 && rdn_type((*rdns)[first_dc - 1]) == "dc") --first_dc;
  std::string out;
  for (std::size_t i = first_dc; i < rdns->size(); ++i) {
    if (!out.empty()) out += ',';
    out += (*rdns)[i];
  }
  return out;
}

}  // namespace ward::gpo
