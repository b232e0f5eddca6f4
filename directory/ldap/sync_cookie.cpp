#include "directory/ldap/sync_cookie.h"

#include <cctype>
#include <vector>

namespace ward::ldap {
namespace {

constexpr std::string_view kCsnKey = "csn=";
constexpr std::size_t kCsnFields = 4;  // time#count#sid#mod

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto at = text.find(separator, start);
    out.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// The "csn=" field of a cookie (its values up to the next ',' field): "a;b".
std::optional<std::string_view> csn_field(std::string_view cookie) {
  for (auto field : split(cookie, ',')) {
    if (field.substr(0, kCsnKey.size()) == kCsnKey) return field.substr(kCsnKey.size());
  }
  return std::nullopt;
}

bool plausible_csn(std::string_view csn) {
  if (csn.empty() || csn.size() > 64) return false;
  for (char c : csn) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '#') return false;
  }
  return true;
}

}  // namespace

std::string csn_server_id(std::string_view csn) {
  const auto fields = split(csn, '#');
  if (fields.size() != kCsnFields || fields[2].empty()) return {};
  return std::string(fields[2]);
}

bool SyncCookie::merge(std::string_view server_cookie) {
  const auto field = csn_field(server_cookie);
  if (!field) return false;
  bool merged = false;
  for (auto csn : split(*field, ';')) {
    if (!plausible_csn(csn)) continue;
    const std::string sid = csn_server_id(csn);
    if (sid.empty()) continue;
    auto& kept = csns_[sid];
    // CSNs of one server compare as text: fixed-width time, then counter.
    if (kept.empty() || std::string_view(kept) < csn) kept = std::string(csn);
    merged = true;
  }
  return merged;
}

std::string SyncCookie::to_string() const {
  if (csns_.empty()) return {};
  std::string out = "rid=000,csn=";
  bool first = true;
  for (const auto& [sid, csn] : csns_) {
    if (!first) out += ';';
    out += csn;
    first = false;
  }
  return out;
}

std::optional<SyncCookie> SyncCookie::parse(std::string_view text) {
  SyncCookie cookie;
  if (text.empty()) return cookie;
  if (!cookie.merge(text)) return std::nullopt;
  return cookie;
}

}  // namespace ward::ldap
