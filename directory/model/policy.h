// The IPsec policy model, as Windows defines it: a policy holds key exchange (main mode) settings
// and rules; each rule ties a filter list to a filter action and lists authentication methods.
// Filter lists and filter actions are shared objects: several rules may refer to the same one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "directory/model/guid.h"
#include "directory/model/ip.h"
#include "directory/model/secret.h"

namespace ward::model {

// ---- algorithms -------------------------------------------------------------------------------

enum class Cipher : std::uint8_t {
  None,          // ESP NULL encryption (integrity only)
  Des,           // broken; accepted only from legacy directories, never offered
  TripleDes,     // legacy, needs Policy::allow_legacy_algorithms
  Aes128Cbc,
  Aes192Cbc,
  Aes256Cbc,
  Aes128Gcm,     // ESP only: combined mode, integrity comes with it
  Aes256Gcm,
};

enum class Integrity : std::uint8_t {
  None,
  Md5,           // legacy, needs Policy::allow_legacy_algorithms
  Sha1,
  Sha256,
  Sha384,
};

// IKE Diffie-Hellman groups by their IANA numbers.
enum class DhGroup : std::uint16_t {
  Modp768 = 1,    // broken; never accepted
  Modp1024 = 2,   // legacy, needs Policy::allow_legacy_algorithms
  Modp2048 = 14,
  Ecp256 = 19,
  Ecp384 = 20,
};

// ---- key exchange (main mode) -----------------------------------------------------------------

struct KeyExchangeMethod {
  Cipher cipher = Cipher::Aes256Cbc;
  Integrity integrity = Integrity::Sha256;
  DhGroup dh_group = DhGroup::Ecp256;

  friend bool operator==(const KeyExchangeMethod&, const KeyExchangeMethod&) = default;
};

struct KeyExchangeSettings {
  Guid id;                                   // ipsecID of the ISAKMP policy object
  std::vector<KeyExchangeMethod> methods;    // in order of preference
  bool master_key_pfs = false;               // a new DH exchange for every quick mode
  std::uint32_t lifetime_minutes = 480;      // main mode SA lifetime
  std::uint32_t quick_mode_limit = 0;        // quick modes per main mode; 0 = unlimited

  friend bool operator==(const KeyExchangeSettings&, const KeyExchangeSettings&) = default;
};

// ---- filters ----------------------------------------------------------------------------------

enum class AddressKind : std::uint8_t {
  MyAddress,       // every address of the host the policy is applied on
  Any,
  Host,            // one address
  Subnet,          // a prefix
  DnsName,         // resolved when the policy is compiled
  DnsServers,      // the host's configured DNS servers
  WinsServers,
  DhcpServer,
  DefaultGateway,
};

struct AddressSpec {
  AddressKind kind = AddressKind::Any;
  std::optional<IpPrefix> prefix;  // Host (a full-length prefix) and Subnet only
  std::string dns_name;            // DnsName only

  static AddressSpec my_address() { return {AddressKind::MyAddress, std::nullopt, {}}; }
  static AddressSpec any() { return {AddressKind::Any, std::nullopt, {}}; }
  static AddressSpec host(const IpAddress& a) { return {AddressKind::Host, IpPrefix::host(a), {}}; }
  static AddressSpec subnet(const IpPrefix& p) { return {AddressKind::Subnet, p, {}}; }
  static AddressSpec dns(std::string name) { return {AddressKind::DnsName, std::nullopt, std::move(name)}; }

  friend bool operator==(const AddressSpec&, const AddressSpec&) = default;
};

namespace ip_protocol {
inline constexpr std::uint8_t kAny = 0;
inline constexpr std::uint8_t kIcmp = 1;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kIcmpV6 = 58;
}  // namespace ip_protocol

struct Filter {
  Guid id;
  std::string description;
  AddressSpec source;
  AddressSpec destination;
  std::uint8_t protocol = ip_protocol::kAny;
  PortRange source_ports = PortRange::any();       // TCP and UDP only
  PortRange destination_ports = PortRange::any();  // TCP and UDP only
  bool mirrored = true;                            // also match the reply direction

  friend bool operator==(const Filter&, const Filter&) = default;
};

struct FilterList {
  Guid id;
  std::string name;
  std::string description;
  std::vector<Filter> filters;

  friend bool operator==(const FilterList&, const FilterList&) = default;
};

// ---- filter actions (quick mode) --------------------------------------------------------------

enum class ActionKind : std::uint8_t { Permit, Block, Negotiate };

struct AhTransform {
  Integrity integrity = Integrity::Sha256;
  friend bool operator==(const AhTransform&, const AhTransform&) = default;
};

struct EspTransform {
  Cipher cipher = Cipher::Aes256Gcm;
  Integrity integrity = Integrity::None;  // None with GCM; required with CBC and NULL
  friend bool operator==(const EspTransform&, const EspTransform&) = default;
};

// One security method: AH and/or ESP, applied together, with the quick mode SA lifetimes.
struct SecurityMethod {
  std::optional<AhTransform> ah;
  std::optional<EspTransform> esp;
  std::uint32_t lifetime_kilobytes = 100000;
  std::uint32_t lifetime_seconds = 3600;

  friend bool operator==(const SecurityMethod&, const SecurityMethod&) = default;
};

struct FilterAction {
  Guid id;
  std::string name;
  std::string description;
  ActionKind kind = ActionKind::Negotiate;
  std::vector<SecurityMethod> security_methods;  // Negotiate only, in order of preference
  bool accept_unsecured = false;       // accept clear inbound traffic, answer with IPsec
  bool fallback_to_unsecured = false;  // talk in clear to peers that cannot do IPsec
  bool quick_mode_pfs = false;         // a fresh DH exchange for every quick mode key

  friend bool operator==(const FilterAction&, const FilterAction&) = default;
};

// ---- rules ------------------------------------------------------------------------------------

enum class AuthKind : std::uint8_t { Kerberos, Certificate, PresharedKey };

struct AuthMethod {
  AuthKind kind = AuthKind::Kerberos;
  std::string ca_name;      // Certificate: the trusted root CA's subject name
  Secret preshared_key;     // PresharedKey only

  static AuthMethod kerberos() { return {AuthKind::Kerberos, {}, {}}; }
  static AuthMethod certificate(std::string ca) { return {AuthKind::Certificate, std::move(ca), {}}; }
  static AuthMethod preshared(std::string key) { return {AuthKind::PresharedKey, {}, Secret(std::move(key))}; }

  friend bool operator==(const AuthMethod&, const AuthMethod&) = default;
};

enum class ConnectionType : std::uint8_t { All, Lan, RemoteAccess };

struct Rule {
  Guid id;
  std::string name;
  std::string description;
  std::optional<Guid> filter_list;   // absent only on the default response rule
  Guid filter_action;
  std::vector<AuthMethod> auth_methods;  // in order of preference
  std::optional<IpAddress> tunnel_endpoint;  // absent: transport mode
  ConnectionType connection_type = ConnectionType::All;
  bool active = true;
  bool default_response = false;

  friend bool operator==(const Rule&, const Rule&) = default;
};

// ---- the policy -------------------------------------------------------------------------------

// Windows leaves the default response rule and its filter action unnamed (no ipsecName); they are
// valid so, and messages call them by this name. The stored name stays empty.
inline constexpr std::string_view kDefaultResponseDisplayName = "<default response>";

struct Policy {
  Guid id;
  std::string name;
  std::string description;
  std::uint32_t polling_interval_minutes = 180;
  bool allow_legacy_algorithms = false;  // opt-in for 3DES, MD5 and DH group 2
  KeyExchangeSettings key_exchange;
  std::vector<FilterList> filter_lists;
  std::vector<FilterAction> filter_actions;
  std::vector<Rule> rules;

  const FilterList* find_filter_list(const Guid& wanted) const;
  const FilterAction* find_filter_action(const Guid& wanted) const;
  // An unnamed filter action that only default response rules use (Windows' own).
  bool is_default_response_action(const FilterAction& action) const;

  friend bool operator==(const Policy&, const Policy&) = default;
};

// The name messages use: the stored name, or kDefaultResponseDisplayName for an unnamed default
// response rule / an unnamed filter action only default response rules use.
std::string display_name(const Rule& rule);
std::string display_name(const Policy& policy, const FilterAction& action);

}  // namespace ward::model
