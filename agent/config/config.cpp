#include "agent/config/config.h"

#include "agent/config/secret_file.h"
#include "directory/ldap/uri.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <utility>

namespace ward::agent::config {

namespace {

constexpr std::array<std::pair<DriverBackend, std::string_view>, 4> kBackendNames{{
    {DriverBackend::Auto, "auto"},
    {DriverBackend::Nfqueue, "nfqueue"},
    {DriverBackend::Xfrm, "xfrm"},
    {DriverBackend::Sim, "sim"},
}};
constexpr std::array<std::pair<LogLevel, std::string_view>, 4> kLogLevelNames{{
    {LogLevel::Error, "error"},
    {LogLevel::Warning, "warning"},
    {LogLevel::Info, "info"},
    {LogLevel::Debug, "debug"},
}};
constexpr std::array<std::pair<BindMode, std::string_view>, 2> kBindModeNames{{
    {BindMode::Gssapi, "gssapi"},
    {BindMode::Simple, "simple"},
}};
constexpr std::array<std::pair<BootMode, std::string_view>, 2> kBootModeNames{{
    {BootMode::Block, "block"},
    {BootMode::Permit, "permit"},
}};
static_assert(kBootModeNames.size() == static_cast<std::size_t>(BootMode::Permit) + 1);
constexpr std::array<std::pair<LegacyAlgorithms, std::string_view>, 2> kLegacyNames{{
    {LegacyAlgorithms::Policy, "policy"},
    {LegacyAlgorithms::Never, "never"},
}};
static_assert(kBindModeNames.size() == static_cast<std::size_t>(BindMode::Simple) + 1);
static_assert(kLegacyNames.size() == static_cast<std::size_t>(LegacyAlgorithms::Never) + 1);
constexpr std::array<std::pair<IkeVersion, std::string_view>, 3> kIkeVersionNames{{
    {IkeVersion::Ikev2First, "ikev2-first"},
    {IkeVersion::Ikev1, "ikev1"},
    {IkeVersion::Ikev2, "ikev2"},
}};
static_assert(kIkeVersionNames.size() == static_cast<std::size_t>(IkeVersion::Ikev2) + 1);
static_assert(kBackendNames.size() == static_cast<std::size_t>(DriverBackend::Auto) + 1);
constexpr std::array<std::pair<CertificateIdentityKind, std::string_view>, 3> kCertificateIdentityNames{{
    {CertificateIdentityKind::Address, "address"},
    {CertificateIdentityKind::Dn, "dn"},
    {CertificateIdentityKind::Fqdn, "fqdn"},
}};
constexpr std::array<std::pair<RevocationMode, std::string_view>, 2> kRevocationNames{{
    {RevocationMode::IfPresent, "if-present"},
    {RevocationMode::Required, "required"},
}};
static_assert(kLogLevelNames.size() == static_cast<std::size_t>(LogLevel::Debug) + 1);

// A config file larger than this is not a config file.
constexpr std::size_t kMaxConfigBytes = 1024 * 1024;
constexpr std::size_t kMaxUris = 32;
constexpr unsigned kMaxDriverQueues = 64;  // one thread each; more than the cores buys nothing

template <class E, std::size_t N>
std::optional<E> lookup(const std::array<std::pair<E, std::string_view>, N>& names, std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <class E, std::size_t N>
std::string accepted(const std::array<std::pair<E, std::string_view>, N>& names) {
  std::string out;
  for (const auto& entry : names) out += (out.empty() ? "" : ", ") + std::string(entry.second);
  return out;
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

using Setter = std::function<std::optional<std::string>(Config&, std::string_view)>;  // error or nothing

struct KeySpec {
  std::string_view section;
  std::string_view key;
  bool repeatable;
  Setter set;
};


std::optional<std::string> non_empty(std::string_view value) {
  if (value.empty()) return "empty value";
  return std::nullopt;
}

std::optional<std::string> absolute_path(std::string_view value) {
  if (value.empty()) return "empty path";
  if (value.front() != '/') return "path '" + std::string(value) + "' is not absolute";
  return std::nullopt;
}

std::optional<std::string> parse_bool(std::string_view value, bool& out) {
  if (value == "yes" || value == "true" || value == "on") {
    out = true;
  } else if (value == "no" || value == "false" || value == "off") {
    out = false;
  } else {
    return "'" + std::string(value) + "' is not a boolean (yes/no, true/false, on/off)";
  }
  return std::nullopt;
}

// "30d", "12h", "90m", "3600s": a positive whole number and a unit.
std::optional<std::string> parse_duration(std::string_view value, std::chrono::seconds& out) {
  if (value.size() < 2) return "'" + std::string(value) + "' is not a duration (e.g. 30d, 12h, 90m, 3600s)";
  std::uint64_t number = 0;
  const auto digits = value.substr(0, value.size() - 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc{} || end != digits.data() + digits.size() || number == 0) {
    return "'" + std::string(value) + "' is not a duration (e.g. 30d, 12h, 90m, 3600s)";
  }
  std::uint64_t unit = 0;
  switch (value.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return "'" + std::string(value) + "' has unit '" + value.back() + "'; expected s, m, h or d";
  }
  constexpr std::uint64_t kMaxSeconds = 100ull * 365 * 86400;  // a century is enough retention
  if (number > kMaxSeconds / unit) return "duration '" + std::string(value) + "' is longer than 100 years";
  out = std::chrono::seconds(static_cast<std::int64_t>(number * unit));
  return std::nullopt;
}

// "in tcp/22", "out udp/123".
std::optional<std::string> parse_boot_exemption(std::string_view value, BootExemption& out) {
  const std::string expected = "'" + std::string(value) + "' is not an exemption: expected in|out tcp|udp/PORT (e.g. in tcp/22)";
  const auto blank = value.find(' ');
  if (blank == std::string_view::npos) return expected;
  const auto direction = value.substr(0, blank);
  const auto rest = trim(value.substr(blank + 1));
  if (direction == "in") {
    out.direction = BootExemption::Direction::Inbound;
  } else if (direction == "out") {
    out.direction = BootExemption::Direction::Outbound;
  } else {
    return expected;
  }
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return expected;
  const auto protocol = rest.substr(0, slash);
  if (protocol == "tcp") {
    out.protocol = 6;
  } else if (protocol == "udp") {
    out.protocol = 17;
  } else {
    return expected;
  }
  const auto digits = rest.substr(slash + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535) {
    return "'" + std::string(digits) + "' is not a port (1-65535)";
  }
  out.port = static_cast<std::uint16_t>(port);
  return std::nullopt;
}

// ldap://, ldaps:// or ldapi:// followed by something.
std::optional<std::string> check_uri(std::string_view value) {
  for (std::string_view scheme : {"ldap://", "ldaps://", "ldapi://"}) {
    if (value.substr(0, scheme.size()) == scheme && value.size() > scheme.size()) return std::nullopt;
  }
  return "'" + std::string(value) + "' is not an LDAP URI (ldap://, ldaps:// or ldapi://)";
}

const std::vector<KeySpec>& key_table() {
  static const std::vector<KeySpec> table = {
      {"directory", "uri", true,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         if (auto e = check_uri(v)) return e;
         if (c.directory.uris.size() >= kMaxUris) return "more than " + std::to_string(kMaxUris) + " directory URIs";
         c.directory.uris.emplace_back(v);
         return std::nullopt;
       }},
      {"directory", "realm", false,
       [](Config& c, std::string_view v) { c.directory.realm = v; return non_empty(v); }},
      {"directory", "keytab", false,
       [](Config& c, std::string_view v) { c.directory.keytab = std::string(v); return absolute_path(v); }},
      {"directory", "computer_name", false,
       [](Config& c, std::string_view v) { c.directory.computer_name = v; return non_empty(v); }},
      {"directory", "computer_dn", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         if (v.find('=') == std::string_view::npos) return "'" + std::string(v) + "' is not a DN";
         c.directory.computer_dn = v;
         return std::nullopt;
       }},
      {"directory", "site", false,
       [](Config& c, std::string_view v) { c.directory.site = v; return non_empty(v); }},
      {"directory", "bind", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto m = lookup(kBindModeNames, v);
         if (!m) return "unknown bind mode '" + std::string(v) + "'; expected one of " + accepted(kBindModeNames);
         c.directory.bind = *m;
         return std::nullopt;
       }},
      {"directory", "principal", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         if (v.find('@') == std::string_view::npos) return "'" + std::string(v) + "' is not a principal (name@REALM)";
         c.directory.principal = v;
         return std::nullopt;
       }},
      {"directory", "bind_dn", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         if (v.find('=') == std::string_view::npos) return "'" + std::string(v) + "' is not a DN";
         c.directory.bind_dn = v;
         return std::nullopt;
       }},
      {"directory", "password_file", false,
       [](Config& c, std::string_view v) { c.directory.password_file = std::string(v); return absolute_path(v); }},
      {"directory", "tls_ca", false,
       [](Config& c, std::string_view v) { c.directory.tls_ca = std::string(v); return absolute_path(v); }},
      {"driver", "backend", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto b = lookup(kBackendNames, v);
         if (!b) return "unknown driver backend '" + std::string(v) + "'; expected one of " + accepted(kBackendNames);
         c.driver = *b;
         return std::nullopt;
       }},
      {"driver", "queues", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         unsigned queues = 0;
         const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), queues);
         if (ec != std::errc{} || end != v.data() + v.size() || queues == 0 || queues > kMaxDriverQueues) {
           return "'" + std::string(v) + "' is not a queue count (1.." + std::to_string(kMaxDriverQueues) + ")";
         }
         c.driver_queues = static_cast<std::uint16_t>(queues);
         return std::nullopt;
       }},
      {"driver", "fast_path", false, [](Config& c, std::string_view v) { return parse_bool(v, c.driver_fast_path); }},
      {"driver", "sa_lifetime_limit", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         std::chrono::seconds d{0};
         if (auto bad = parse_duration(v, d)) return bad;
         if (d.count() < 3) return "'" + std::string(v) + "' is shorter than 3s (the soft expiry and a rekey need time)";
         c.driver_sa_lifetime_limit = d;
         return std::nullopt;
       }},
      {"ike", "fallback_delay", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         std::chrono::seconds d{0};
         if (auto bad = parse_duration(v, d)) return bad;
         c.ike.fallback_delay = d;
         return std::nullopt;
       }},
      {"ike", "soft_association_lifetime", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         std::chrono::seconds d{0};
         if (auto bad = parse_duration(v, d)) return bad;
         c.ike.soft_association_lifetime = d;
         return std::nullopt;
       }},
      {"ike", "udp_encapsulation", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         if (v == "auto") {
           c.ike.force_udp_encapsulation = false;
         } else if (v == "force") {
           c.ike.force_udp_encapsulation = true;
         } else {
           return "'" + std::string(v) + "' is not a UDP encapsulation mode; expected auto or force";
         }
         return std::nullopt;
       }},
      {"ike", "dpd_idle", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         std::chrono::seconds d{0};
         if (auto bad = parse_duration(v, d)) return bad;
         c.ike.dpd_idle = d;
         return std::nullopt;
       }},
      {"ike", "dpd_retry", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         std::chrono::seconds d{0};
         if (auto bad = parse_duration(v, d)) return bad;
         c.ike.dpd_retry = d;
         return std::nullopt;
       }},
      {"ike", "dpd_probes", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         constexpr unsigned kMaxDpdProbes = 10;   // the 10th goes 2^9 retries after the first
         unsigned probes = 0;
         const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), probes);
         if (ec != std::errc{} || end != v.data() + v.size() || probes == 0 || probes > kMaxDpdProbes) {
           return "'" + std::string(v) + "' is not a probe count (1.." + std::to_string(kMaxDpdProbes) + ")";
         }
         c.ike.dpd_probes = probes;
         return std::nullopt;
       }},
      {"ike", "fragmentation", false,
       [](Config& c, std::string_view v) { return parse_bool(v, c.ike.fragmentation); }},
      {"ike", "fragment_size", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         // An IP datagram: 128 bytes still leave an SKF fragment room for content with every suite.
         constexpr unsigned kMinFragmentSize = 128;
         unsigned size = 0;
         const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), size);
         if (ec != std::errc{} || end != v.data() + v.size() || size < kMinFragmentSize || size > 65535) {
           return "'" + std::string(v) + "' is not a fragment size in bytes (" + std::to_string(kMinFragmentSize) + "..65535)";
         }
         c.ike.fragment_size = size;
         return std::nullopt;
       }},
      {"control", "socket", false,
       [](Config& c, std::string_view v) { c.control_socket = std::string(v); return absolute_path(v); }},
      {"monitor", "enabled", false,
       [](Config& c, std::string_view v) { return parse_bool(v, c.monitor.enabled); }},
      {"monitor", "listen", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto colon = v.rfind(':');
         if (colon == std::string_view::npos || colon == 0 || colon + 1 == v.size()) {
           return "'" + std::string(v) + "' is not host:port";
         }
         unsigned port = 0;
         const auto p = v.substr(colon + 1);
         const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
         if (ec != std::errc{} || end != p.data() + p.size() || port == 0 || port > 65535) {
           return "port '" + std::string(p) + "' is not 1..65535";
         }
         c.monitor.listen = v;
         return std::nullopt;
       }},
      {"monitor", "tls_cert", false,
       [](Config& c, std::string_view v) { c.monitor.tls_cert = std::string(v); return absolute_path(v); }},
      {"monitor", "tls_key", false,
       [](Config& c, std::string_view v) { c.monitor.tls_key = std::string(v); return absolute_path(v); }},
      {"monitor", "tls_ca", false,
       [](Config& c, std::string_view v) { c.monitor.tls_ca = std::string(v); return absolute_path(v); }},
      {"certificates", "certificate", false,
       [](Config& c, std::string_view v) { c.certificates.certificate = std::string(v); return absolute_path(v); }},
      {"certificates", "private_key", false,
       [](Config& c, std::string_view v) { c.certificates.private_key = std::string(v); return absolute_path(v); }},
      {"certificates", "trust", false,
       [](Config& c, std::string_view v) { c.certificates.trust = std::string(v); return absolute_path(v); }},
      {"certificates", "identity", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto kind = lookup(kCertificateIdentityNames, v);
         if (!kind) return "unknown identity '" + std::string(v) + "'; expected one of " + accepted(kCertificateIdentityNames);
         c.certificates.identity = *kind;
         return std::nullopt;
       }},
      {"certificates", "fqdn", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const bool valid = !v.empty() && v.size() <= 253 && v.front() != '.' && v.back() != '.' &&
                            std::all_of(v.begin(), v.end(), [](unsigned char ch) { return std::isalnum(ch) || ch == '-' || ch == '.'; });
         if (!valid) return "'" + std::string(v) + "' is not a DNS name";
         c.certificates.fqdn = std::string(v);
         return std::nullopt;
       }},
      {"certificates", "revocation", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto mode = lookup(kRevocationNames, v);
         if (!mode) return "unknown revocation '" + std::string(v) + "'; expected one of " + accepted(kRevocationNames);
         c.certificates.revocation = *mode;
         return std::nullopt;
       }},
      {"cache", "path", false,
       [](Config& c, std::string_view v) { c.cache_path = std::string(v); return absolute_path(v); }},
      {"cache", "event_retention", false,
       [](Config& c, std::string_view v) { return parse_duration(v, c.event_retention); }},
      {"log", "level", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto l = lookup(kLogLevelNames, v);
         if (!l) return "unknown log level '" + std::string(v) + "'; expected one of " + accepted(kLogLevelNames);
         c.log_level = *l;
         return std::nullopt;
       }},
      {"ike", "legacy_algorithms", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto l = lookup(kLegacyNames, v);
         if (!l) return "'" + std::string(v) + "' is not a setting; expected one of " + accepted(kLegacyNames);
         c.legacy_algorithms = *l;
         return std::nullopt;
       }},
      {"ike", "version", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto version = lookup(kIkeVersionNames, v);
         if (!version) return "'" + std::string(v) + "' is not an IKE version setting; expected one of " + accepted(kIkeVersionNames);
         c.ike.version = *version;
         return std::nullopt;
       }},
      {"privsep", "user", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         if (v.empty() || v == "root") return std::string("the IKE process needs a user of its own, not '") + std::string(v) + "'";
         c.privsep_user = std::string(v);
         return std::nullopt;
       }},
      {"policy", "local_file", false,
       [](Config& c, std::string_view v) { c.local_policy = std::string(v); return absolute_path(v); }},
      {"policy", "boot_mode", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         const auto m = lookup(kBootModeNames, v);
         if (!m) return "unknown boot mode '" + std::string(v) + "'; expected one of " + accepted(kBootModeNames);
         c.boot_mode = *m;
         return std::nullopt;
       }},
      {"policy", "boot_exemption", true,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         BootExemption exemption;
         if (auto e = parse_boot_exemption(v, exemption)) return e;
         c.boot_exemptions.push_back(exemption);
         return std::nullopt;
       }},
  };
  return table;
}

bool known_section(std::string_view section) {
  const auto& table = key_table();
  return std::any_of(table.begin(), table.end(), [&](const KeySpec& k) { return k.section == section; });
}

}  // namespace

std::string_view name_of(DriverBackend backend) noexcept {
  for (const auto& [value, name] : kBackendNames) {
    if (value == backend) return name;
  }
  return "?";
}

std::string_view name_of(IkeVersion version) noexcept {
  for (const auto& [value, name] : kIkeVersionNames) {
    if (value == version) return name;
  }
  return "unknown";
}

std::string_view name_of(LegacyAlgorithms setting) noexcept {
  for (const auto& [value, name] : kLegacyNames) {
    if (value == setting) return name;
  }
  return "?";
}

std::string_view name_of(BindMode mode) noexcept {
  for (const auto& [value, name] : kBindModeNames) {
    if (value == mode) return name;
  }
  return "?";
}

std::string_view name_of(BootMode mode) noexcept {
  for (const auto& [value, name] : kBootModeNames) {
    if (value == mode) return name;
  }
  return "?";
}

std::string to_string(const BootExemption& exemption) {
  return std::string(exemption.direction == BootExemption::Direction::Inbound ? "in " : "out ") +
         (exemption.protocol == 6 ? "tcp/" : "udp/") + std::to_string(exemption.port);
}

std::string_view name_of(LogLevel level) noexcept {
  for (const auto& [value, name] : kLogLevelNames) {
    if (value == level) return name;
  }
  return "?";
}

std::string ConfigError::to_string() const {
  return line == 0 ? file + ": " + message : file + ":" + std::to_string(line) + ": " + message;
}

Expected<Config, ConfigError> parse_config(std::string_view text, std::string_view name) noexcept {
  const std::string file(name);
  const auto fail = [&](std::size_t line, std::string message) {
    return unexpected(ConfigError{file, line, std::move(message)});
  };
  try {
    if (text.size() > kMaxConfigBytes) {
      return fail(0, "file is " + std::to_string(text.size()) + " bytes; the limit is " + std::to_string(kMaxConfigBytes));
    }
    Config config;
    std::string section;
    std::map<std::string, std::size_t> seen;  // "section.key" -> line of its (first) occurrence
    std::size_t line_number = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
      const auto newline = text.find('\n', start);
      const auto raw = text.substr(start, newline == std::string_view::npos ? std::string_view::npos : newline - start);
      start = newline == std::string_view::npos ? text.size() + 1 : newline + 1;
      ++line_number;
      const auto line = trim(raw);
      if (line.empty() || line.front() == '#' || line.front() == ';') continue;
      if (line.find('\0') != std::string_view::npos) return fail(line_number, "NUL byte in line");
      if (line.front() == '[') {
        if (line.back() != ']') return fail(line_number, "section header without closing ']'");
        section = std::string(trim(line.substr(1, line.size() - 2)));
        if (!known_section(section)) return fail(line_number, "unknown section [" + section + "]");
        continue;
      }
      const auto equals = line.find('=');
      if (equals == std::string_view::npos) return fail(line_number, "expected 'key = value' or '[section]'");
      const std::string key(trim(line.substr(0, equals)));
      const auto value = trim(line.substr(equals + 1));
      if (key.empty()) return fail(line_number, "missing key before '='");
      if (section.empty()) return fail(line_number, "key '" + key + "' before any [section]");
      const auto& table = key_table();
      const auto spec = std::find_if(table.begin(), table.end(),
                                     [&](const KeySpec& k) { return k.section == section && k.key == key; });
      if (spec == table.end()) return fail(line_number, "unknown key '" + key + "' in [" + section + "]");
      const std::string qualified = section + "." + key;
      if (!spec->repeatable && seen.count(qualified)) {
        return fail(line_number, "key '" + key + "' in [" + section + "] repeats line " + std::to_string(seen[qualified]));
      }
      seen.emplace(qualified, line_number);
      if (auto error = spec->set(config, value)) return fail(line_number, key + ": " + *error);
    }

    // Settings that only make sense together.
    if (config.uses_directory()) {
      if (config.directory.realm.empty()) return fail(seen["directory.uri"], "[directory] has uri but no realm");
      const auto& d = config.directory;
      if (d.bind == BindMode::Gssapi) {
        for (const auto& uri : d.uris) {
          if (auto problem = ldap::gssapi_uri_problem(uri)) return fail(seen["directory.uri"], "uri: " + *problem);
        }
      }
      if (d.bind == BindMode::Simple) {
        const std::size_t at = seen["directory.bind"];
        if (d.bind_dn.empty() || d.password_file.empty()) {
          return fail(at, "[directory] bind = simple needs bind_dn and password_file");
        }
        const bool clear = std::any_of(d.uris.begin(), d.uris.end(), [](const std::string& u) { return u.rfind("ldap://", 0) == 0; });
        if (clear && d.tls_ca.empty()) {
          return fail(at, "[directory] bind = simple over ldap:// would send the password in clear: set tls_ca "
                          "(StartTLS) or use ldaps:// or ldapi:// URIs");
        }
      } else if (!d.bind_dn.empty() || !d.password_file.empty()) {
        return fail(seen.count("directory.bind_dn") ? seen["directory.bind_dn"] : seen["directory.password_file"],
                    "[directory] bind_dn and password_file go with bind = simple");
      }
    } else if (config.local_policy.empty()) {
      return fail(0, "no policy source: set [directory] uri (a domain member) or [policy] local_file (a standalone host)");
    }
    if (config.monitor.enabled) {
      const std::size_t at = seen["monitor.enabled"];
      if (config.monitor.listen.empty()) return fail(at, "[monitor] is enabled but has no listen address");
      if (config.monitor.tls_cert.empty() || config.monitor.tls_key.empty() || config.monitor.tls_ca.empty()) {
        return fail(at, "[monitor] is enabled but tls_cert, tls_key and tls_ca are not all set (the monitor only speaks mutual TLS)");
      }
    }
    {
      const auto& c = config.certificates;
      const bool any = !c.certificate.empty() || !c.private_key.empty() || !c.trust.empty();
      if (any && (c.certificate.empty() || c.private_key.empty() || c.trust.empty())) {
        const std::size_t at = seen.count("certificates.certificate")   ? seen["certificates.certificate"]
                               : seen.count("certificates.private_key") ? seen["certificates.private_key"]
                                                                        : seen["certificates.trust"];
        return fail(at, "[certificates] needs certificate, private_key and trust (the trusted CAs) together");
      }
      if (!c.fqdn.empty() && c.identity != CertificateIdentityKind::Fqdn) {
        return fail(seen["certificates.fqdn"], "[certificates] fqdn is set but identity is not fqdn");
      }
    }
    return config;
  } catch (const std::exception& e) {  // allocation failure: report, never crash
    return fail(0, std::string("cannot parse: ") + e.what());
  }
}

namespace {

// The secret files ward.conf names, checked before wardd reads any (secret_file.h). A keytab that
// does not exist yet (a host not joined) is left to the bind, which says so and falls back to the
// cache; every other named secret must exist.
Expected<void, std::string> check_secret_files(const Config& config) {
  const auto& directory = config.directory;
  const bool kerberos = (config.uses_directory() && directory.bind == BindMode::Gssapi) || !directory.realm.empty();
  if (kerberos) {
    std::error_code error;
    if (std::filesystem::exists(directory.keytab, error) || error) {
      if (auto ok = check_secret_file(directory.keytab, "[directory] keytab"); !ok) return ok;
    }
  }
  if (config.uses_directory() && directory.bind == BindMode::Simple) {
    if (auto ok = check_secret_file(directory.password_file, "[directory] password_file"); !ok) return ok;
  }
  if (config.certificates.enabled()) {
    if (auto ok = check_secret_file(config.certificates.private_key, "[certificates] private_key"); !ok) return ok;
  }
  if (config.monitor.enabled) {
    if (auto ok = check_secret_file(config.monitor.tls_key, "[monitor] tls_key"); !ok) return ok;
  }
  return {};
}

}  // namespace

Expected<Config, ConfigError> load_config(const std::filesystem::path& path) noexcept {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return unexpected(ConfigError{path.string(), 0, "cannot open: " + std::string(std::strerror(errno))});
    std::ostringstream text;
    text << in.rdbuf();
    auto config = parse_config(text.str(), path.string());
    if (config) {
      if (auto secrets = check_secret_files(*config); !secrets) {
        return unexpected(ConfigError{path.string(), 0, std::move(secrets).error()});
      }
    }
    return config;
  } catch (const std::exception& e) {
    return unexpected(ConfigError{path.string(), 0, std::string("cannot read: ") + e.what()});
  }
}

}  // namespace ward::agent::config
