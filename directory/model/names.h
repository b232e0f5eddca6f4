// Names of the model's enumerations, declared once: used by JSON, the CLI and printed tables.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "directory/model/policy.h"

namespace ward::model {

template <class E>
struct EnumNames;  // specialised below with `entries`: every value and its name

template <>
struct EnumNames<Cipher> {
  static constexpr std::array<std::pair<Cipher, std::string_view>, 8> entries{{
      {Cipher::None, "null"},
      {Cipher::Des, "des"},
      {Cipher::TripleDes, "3des"},
      {Cipher::Aes128Cbc, "aes128-cbc"},
      {Cipher::Aes192Cbc, "aes192-cbc"},
      {Cipher::Aes256Cbc, "aes256-cbc"},
      {Cipher::Aes128Gcm, "aes128-gcm"},
      {Cipher::Aes256Gcm, "aes256-gcm"},
  }};
};

template <>
struct EnumNames<Integrity> {
  static constexpr std::array<std::pair<Integrity, std::string_view>, 5> entries{{
      {Integrity::None, "none"},
      {Integrity::Md5, "md5"},
      {Integrity::Sha1, "sha1"},
      {Integrity::Sha256, "sha256"},
      {Integrity::Sha384, "sha384"},
  }};
};

template <>
struct EnumNames<DhGroup> {
  static constexpr std::array<std::pair<DhGroup, std::string_view>, 5> entries{{
      {DhGroup::Modp768, "modp768"},
      {DhGroup::Modp1024, "modp1024"},
      {DhGroup::Modp2048, "modp2048"},
      {DhGroup::Ecp256, "ecp256"},
      {DhGroup::Ecp384, "ecp384"},
  }};
};

template <>
struct EnumNames<AddressKind> {
  static constexpr std::array<std::pair<AddressKind, std::string_view>, 9> entries{{
      {AddressKind::MyAddress, "me"},
      {AddressKind::Any, "any"},
      {AddressKind::Host, "host"},
      {AddressKind::Subnet, "subnet"},
      {AddressKind::DnsName, "dns"},
      {AddressKind::DnsServers, "dns-servers"},
      {AddressKind::WinsServers, "wins-servers"},
      {AddressKind::DhcpServer, "dhcp-server"},
      {AddressKind::DefaultGateway, "default-gateway"},
  }};
};

template <>
struct EnumNames<ActionKind> {
  static constexpr std::array<std::pair<ActionKind, std::string_view>, 3> entries{{
      {ActionKind::Permit, "permit"},
      {ActionKind::Block, "block"},
      {ActionKind::Negotiate, "negotiate"},
  }};
};

template <>
struct EnumNames<AuthKind> {
  static constexpr std::array<std::pair<AuthKind, std::string_view>, 3> entries{{
      {AuthKind::Kerberos, "kerberos"},
      {AuthKind::Certificate, "certificate"},
      {AuthKind::PresharedKey, "preshared-key"},
  }};
};

template <>
struct EnumNames<ConnectionType> {
  static constexpr std::array<std::pair<ConnectionType, std::string_view>, 3> entries{{
      {ConnectionType::All, "all"},
      {ConnectionType::Lan, "lan"},
      {ConnectionType::RemoteAccess, "remote-access"},
  }};
};

template <class E>
constexpr std::string_view name_of(E value) {
  for (const auto& [candidate, name] : EnumNames<E>::entries) {
    if (candidate == value) return name;
  }
  return "?";
}

template <class E>
constexpr std::optional<E> from_name(std::string_view name) {
  for (const auto& [candidate, candidate_name] : EnumNames<E>::entries) {
    if (candidate_name == name) return candidate;
  }
  return std::nullopt;
}

// "a, b, c": for error messages that list the accepted names.
template <class E>
std::string accepted_names() {
  std::string text;
  for (const auto& entry : EnumNames<E>::entries) {
    if (!text.empty()) text += ", ";
    text += entry.second;
  }
  return text;
}

// Every enumerator of the contiguous enums is named exactly once.
static_assert(EnumNames<Cipher>::entries.size() == static_cast<std::size_t>(Cipher::Aes256Gcm) + 1);
static_assert(EnumNames<Integrity>::entries.size() == static_cast<std::size_t>(Integrity::Sha384) + 1);
static_assert(EnumNames<AddressKind>::entries.size() == static_cast<std::size_t>(AddressKind::DefaultGateway) + 1);
static_assert(EnumNames<ActionKind>::entries.size() == static_cast<std::size_t>(ActionKind::Negotiate) + 1);
static_assert(EnumNames<AuthKind>::entries.size() == static_cast<std::size_t>(AuthKind::PresharedKey) + 1);
static_assert(EnumNames<ConnectionType>::entries.size() == static_cast<std::size_t>(ConnectionType::RemoteAccess) + 1);

}  // namespace ward::model
