#include "agent/config/config_keys.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "agent/config/config_names.h"
#include "directory/ldap/uri.h"

namespace ward::agent::config::detail {

namespace {

constexpr std::size_t kMaxUris = 32;
constexpr unsigned kMaxDriverQueues = 64;  // one thread each; more than the cores buys nothing

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

}  // namespace

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
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
      {"directory", "request_timeout", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         std::chrono::seconds d{0};
         if (auto bad = parse_duration(v, d)) return bad;
         if (d.count() > 600) return "'" + std::string(v) + "' is longer than 600s";
         c.directory.request_timeout = d;
         return std::nullopt;
       }},
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
      {"ike", "engines", false,
       [](Config& c, std::string_view v) -> std::optional<std::string> {
         if (v == "auto") {
           c.ike.engines.reset();
           return std::nullopt;
         }
         unsigned engines = 0;
         const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), engines);
         if (ec != std::errc{} || end != v.data() + v.size() || engines == 0 || engines > kMaxIkeEngines) {
           return "'" + std::string(v) + "' is not an engine count (1.." + std::to_string(kMaxIkeEngines) + " or auto)";
         }
         c.ike.engines = engines;
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


}  // namespace ward::agent::config::detail
