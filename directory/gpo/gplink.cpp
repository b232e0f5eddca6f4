#include "directory/gpo/gplink.h"

#include <charconv>

namespace ward::gpo {
namespace {

constexpr std::string_view kLdapPrefix = "LDAP://";

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = text[i];
    char b = prefix[i];
    if (a >= 'a' && a <= 'z') a = static_cast<char>(a - 'a' + 'A');
    if (a != b) return false;
  }
  return true;
}

std::string quote(std::string_view text) {
  constexpr std::size_t kMaxShown = 80;
  std::string shown(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) shown += "...";
  return "'" + shown + "'";
}

// A decimal u32 in `text` (the whole of it; surrounding spaces allowed).
std::optional<std::uint32_t> parse_decimal(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Expected<std::vector<GpLink>, GpoError> parse_gplink(std::string_view value, std::string_view som_dn) {
  auto error = [&](std::size_t offset, const std::string& what) {
    return unexpected(GpoError{std::string(som_dn), kGpLinkAttribute,
                               what + " at offset " + std::to_string(offset) + " in " + quote(value)});
  };
  std::vector<GpLink> links;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value[pos] == ' ') {
      ++pos;
      continue;
    }
    if (value[pos] != '[') return error(pos, std::string("expected '[' but found '") + value[pos] + "'");
    const std::size_t open = pos;
    std::size_t close = value.find(']', open + 1);
    if (close == std::string_view::npos) return error(open, "link has no closing ']'");
    std::string_view body = value.substr(open + 1, close - open - 1);
    if (!iequals_prefix(body, kLdapPrefix)) return error(open + 1, "link does not start with 'LDAP://'");
    std::size_t semicolon = body.rfind(';');
    if (semicolon == std::string_view::npos || semicolon < kLdapPrefix.size()) {
      return error(open + 1, "link has no ';<options>'");
    }
    std::string_view dn = body.substr(kLdapPrefix.size(), semicolon - kLdapPrefix.size());
    while (!dn.empty() && dn.front() == ' ') dn.remove_prefix(1);
    if (dn.empty()) return error(open + 1 + kLdapPrefix.size(), "link has an empty GPO DN");
    auto options = parse_decimal(body.substr(semicolon + 1));
    if (!options) {
      return error(open + 1 + semicolon + 1,
                   "link options " + quote(body.substr(semicolon + 1)) + " are not a decimal number");
    }
    links.push_back(GpLink{std::string(dn), *options});
    pos = close + 1;
  }
  return links;
}

Expected<bool, GpoError> parse_gpoptions(std::string_view value, std::string_view som_dn) {
  auto number = parse_decimal(value);
  if (!number) {
    return unexpected(GpoError{std::string(som_dn), kGpOptionsAttribute, quote(value) + " is not a decimal number"});
  }
  return (*number & kGpOptionsBlockInheritance) != 0;
}

Expected<std::uint32_t, GpoError> parse_gpo_flags(std::string_view value, std::string_view gpo_dn) {
  auto number = parse_decimal(value);
  if (!number) {
    return unexpected(GpoError{std::string(gpo_dn), kGpoFlagsAttribute, quote(value) + " is not a decimal number"});
  }
  return *number;
}

}  // namespace ward::gpo
