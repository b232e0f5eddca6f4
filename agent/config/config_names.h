// The words ward.conf uses for each enumerated setting of config.h, shared by the key table
// (config_keys.cpp) and name_of() (config.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "agent/config/config.h"

namespace ward::agent::config::detail {

inline constexpr std::array<std::pair<DriverBackend, std::string_view>, 4> kBackendNames{{
    {DriverBackend::Auto, "auto"},
    {DriverBackend::Nfqueue, "nfqueue"},
    {DriverBackend::Xfrm, "xfrm"},
    {DriverBackend::Sim, "sim"},
}};
inline constexpr std::array<std::pair<LogLevel, std::string_view>, 4> kLogLevelNames{{
    {LogLevel::Error, "error"},
    {LogLevel::Warning, "warning"},
    {LogLevel::Info, "info"},
    {LogLevel::Debug, "debug"},
}};
inline constexpr std::array<std::pair<BindMode, std::string_view>, 2> kBindModeNames{{
    {BindMode::Gssapi, "gssapi"},
    {BindMode::Simple, "simple"},
}};
inline constexpr std::array<std::pair<BootMode, std::string_view>, 2> kBootModeNames{{
    {BootMode::Block, "block"},
    {BootMode::Permit, "permit"},
}};
static_assert(kBootModeNames.size() == static_cast<std::size_t>(BootMode::Permit) + 1);
inline constexpr std::array<std::pair<LegacyAlgorithms, std::string_view>, 2> kLegacyNames{{
    {LegacyAlgorithms::Policy, "policy"},
    {LegacyAlgorithms::Never, "never"},
}};
static_assert(kBindModeNames.size() == static_cast<std::size_t>(BindMode::Simple) + 1);
static_assert(kLegacyNames.size() == static_cast<std::size_t>(LegacyAlgorithms::Never) + 1);
inline constexpr std::array<std::pair<IkeVersion, std::string_view>, 3> kIkeVersionNames{{
    {IkeVersion::Ikev2First, "ikev2-first"},
    {IkeVersion::Ikev1, "ikev1"},
    {IkeVersion::Ikev2, "ikev2"},
}};
static_assert(kIkeVersionNames.size() == static_cast<std::size_t>(IkeVersion::Ikev2) + 1);
static_assert(kBackendNames.size() == static_cast<std::size_t>(DriverBackend::Auto) + 1);
inline constexpr std::array<std::pair<CertificateIdentityKind, std::string_view>, 3> kCertificateIdentityNames{{
    {CertificateIdentityKind::Address, "address"},
    {CertificateIdentityKind::Dn, "dn"},
    {CertificateIdentityKind::Fqdn, "fqdn"},
}};
inline constexpr std::array<std::pair<RevocationMode, std::string_view>, 2> kRevocationNames{{
    {RevocationMode::IfPresent, "if-present"},
    {RevocationMode::Required, "required"},
}};
static_assert(kLogLevelNames.size() == static_cast<std::size_t>(LogLevel::Debug) + 1);

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

}  // namespace ward::agent::config::detail
