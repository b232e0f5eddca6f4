#include "agent/config/config.h"

#include "agent/config/secret_file.h"
#include "directory/ldap/uri.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>
#include <map>
#include <sstream>
#include <utility>

#include "agent/config/config_keys.h"
#include "agent/config/config_names.h"

namespace ward::agent::config {

using detail::key_table;
using detail::KeySpec;
using detail::known_section;
using detail::trim;

namespace {

// A config file larger than this is not a config file.
constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

}  // namespace

std::string_view name_of(DriverBackend backend) noexcept {
  for (const auto& [value, name] : detail::kBackendNames) {
    if (value == backend) return name;
  }
  return "?";
}

std::string_view name_of(IkeVersion version) noexcept {
  for (const auto& [value, name] : detail::kIkeVersionNames) {
    if (value == version) return name;
  }
  return "unknown";
}

unsigned ike_engines(const IkeSettings& settings) noexcept {
  if (settings.engines) return *settings.engines;
  return std::clamp(std::thread::hardware_concurrency(), 1U, kMaxIkeEngines);
}

std::string_view name_of(LegacyAlgorithms setting) noexcept {
  for (const auto& [value, name] : detail::kLegacyNames) {
    if (value == setting) return name;
  }
  return "?";
}

std::string_view name_of(BindMode mode) noexcept {
  for (const auto& [value, name] : detail::kBindModeNames) {
    if (value == mode) return name;
  }
  return "?";
}

std::string_view name_of(BootMode mode) noexcept {
  for (const auto& [value, name] : detail::kBootModeNames) {
    if (value == mode) return name;
  }
  return "?";
}

std::string to_string(const BootExemption& exemption) {
  return std::string(exemption.direction == BootExemption::Direction::Inbound ? "in " : "out ") +
         (exemption.protocol == 6 ? "tcp/" : "udp/") + std::to_string(exemption.port);
}

std::string_view name_of(LogLevel level) noexcept {
  for (const auto& [value, name] : detail::kLogLevelNames) {
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
