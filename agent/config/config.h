// The agent's configuration: /etc/ward/ward.conf, parsed once into typed values.
//
// Format (documented with every key in ward.conf.example): `[section]` headers and `key = value`
// lines; `#` or `;` starts a comment line; blank lines are ignored; a value runs to the end of the
// line with surrounding blanks trimmed (no quoting, no inline comments). `uri` may repeat: the URIs
// are tried in the order written. Unknown sections and keys, repeated single-valued keys and bad
// values are errors naming the file and line: "ward.conf:12: unknown key 'url' in [directory]".
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"

namespace ward::agent::config {

inline constexpr std::string_view kDefaultConfigPath = "/etc/ward/ward.conf";
inline constexpr std::string_view kDefaultControlSocket = "/run/ward/control.sock";
inline constexpr std::string_view kDefaultCachePath = "/var/lib/ward/ward.db";
inline constexpr std::string_view kDefaultKeytab = "/etc/krb5.keytab";
inline constexpr std::string_view kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";
inline constexpr std::chrono::hours kDefaultEventRetention{24 * 30};

// auto: xfrm where the kernel does ESP and AH (driver/xfrm/kernel_probe.h), nfqueue otherwise.
enum class DriverBackend : std::uint8_t { Nfqueue, Xfrm, Sim, Auto };
enum class LogLevel : std::uint8_t { Error, Warning, Info, Debug };

std::string_view name_of(DriverBackend backend) noexcept;
std::string_view name_of(LogLevel level) noexcept;

// What wardd enforces while it has no policy at all: neither a cached one nor one from its source
// (first start, the cache lost, the directory unreachable or serving a broken policy). Windows'
// IPsec driver calls this its computer startup mode (netsh ipsec dynamic set config bootmode).
//   Block  (default) everything is blocked except what the host needs to get its policy: DHCP,
//          IPv6 neighbour discovery, IKE, and for a domain member DNS, Kerberos and the LDAP ports
//          of its [directory] URIs; plus the `boot_exemption`s.
//   Permit nothing is blocked (Windows' "permit" mode, and wardd before the boot policy existed).
enum class BootMode : std::uint8_t { Block, Permit };
std::string_view name_of(BootMode mode) noexcept;

// A port the boot policy lets through (Windows' bootexemptions): `in tcp/22` lets peers reach
// this host's port 22 (and the replies out), `out udp/123` lets this host reach peers' port 123.
struct BootExemption {
  enum class Direction : std::uint8_t { Inbound, Outbound };
  Direction direction = Direction::Inbound;
  std::uint8_t protocol = 6;  // TCP (6) or UDP (17)
  std::uint16_t port = 0;

  friend bool operator==(const BootExemption&, const BootExemption&) = default;
};
std::string to_string(const BootExemption& exemption);  // "in tcp/22"
// Legacy algorithms (3DES, HMAC-MD5, DH group 2; directory/model/offer_strength.h) on this host:
// `policy` (the default) uses them where the applied policy allows them; `never` skips them
// whatever the policy says. DES and DH group 1 are never used either way.
enum class LegacyAlgorithms : std::uint8_t { Policy, Never };
std::string_view name_of(LegacyAlgorithms setting) noexcept;
// [ike] version: the IKE version this host initiates with (not part of the AD policy format).
// ikev2-first: IKEv2, IKEv1 when the peer does not speak it or the policy's method is Kerberos
// (Windows-era peers: IKEv1 / AuthIP only); ikev1:
// IKEv1 only, IKEv2 requests answered INVALID_MAJOR_VERSION; ikev2: IKEv2 without fallback
// (policies that need IKEv1 still use it). The responder accepts both unless ikev1.
enum class IkeVersion : std::uint8_t { Ikev2First, Ikev1, Ikev2 };
std::string_view name_of(IkeVersion version) noexcept;

// How wardd authenticates to the directory: SASL/GSSAPI with the host keytab (as a Windows
// member does), or, for labs without Kerberos, a simple bind with a password read from a file.
enum class BindMode : std::uint8_t { Gssapi, Simple };
std::string_view name_of(BindMode mode) noexcept;

struct DirectorySettings {
  std::vector<std::string> uris;  // failover order: the first that answers is used
  std::string realm;              // Kerberos realm, e.g. EXAMPLE.COM
  std::filesystem::path keytab{std::string(kDefaultKeytab)};
  // sAMAccountName, e.g. WS01$; empty: derived from the host name (computer_account_name).
  std::string computer_name;
  std::string computer_dn;        // the computer object's DN; empty: found by computer_name
  std::string site;               // AD site name; empty: the computer's msDS-SiteName
  BindMode bind = BindMode::Gssapi;
  // GSSAPI client principal; empty: <computer_name>@<realm> (a computer account's Kerberos name,
  // as `adcli join` / `realm join` put it in /etc/krb5.keytab).
  std::string principal;
  std::string bind_dn;            // simple bind only
  std::filesystem::path password_file;  // simple bind only: root-only file holding the password
  // CA bundle: when set, ldap:// is upgraded with StartTLS; ldaps:// without it uses kSystemCaBundle.
  std::filesystem::path tls_ca;
  // How long each LDAP request waits for its answer before the server counts as unreachable (a
  // directory that accepts connections and never answers); the next URI, then the cache, follow.
  std::chrono::seconds request_timeout{15};
};

struct MonitorSettings {
  bool enabled = false;  // off unless asked for
  std::string listen;    // host:port or [v6]:port
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  std::filesystem::path tls_ca;  // clients must present a certificate signed by this CA
};

// The ID this host sends in IKE main mode with its certificate: its address, the certificate's
// subject (ID_DER_ASN1_DN, as Windows does: the default) or a subjectAltName DNS name (ID_FQDN).
enum class CertificateIdentityKind : std::uint8_t { Address, Dn, Fqdn };
// Revocation of peers' certificate chains: checked against the CRLs the trust store holds, or a
// CRL required for every certificate of the chain.
enum class RevocationMode : std::uint8_t { IfPresent, Required };

// IKE certificate authentication (rules whose authentication method is a certificate from a CA).
struct CertificateSettings {
  std::filesystem::path certificate;  // PEM: this host's certificate, then any intermediate CAs
  std::filesystem::path private_key;  // PEM RSA or ECDSA key; must be root-only (no group/other permission bits)
  std::filesystem::path trust;        // a PEM file or a directory of PEM files: trusted CAs and their CRLs
  CertificateIdentityKind identity = CertificateIdentityKind::Dn;
  std::string fqdn;                   // identity = fqdn: the name to send; empty: the certificate's first DNS name
  RevocationMode revocation = RevocationMode::IfPresent;

  bool enabled() const noexcept { return !certificate.empty(); }
};

// Windows' fallback to clear ("Allow fallback to unsecured communication"), and dead peer
// detection (RFC 3706). Unset: IKE's defaults (ike/service/ike_service.h: Windows' 3 s and 5 min;
// ike/service/dead_peer_detection.h: 30 s, 5 s, 3 probes).
struct IkeSettings {
  std::optional<std::chrono::seconds> fallback_delay;             // no answer to main mode this long: clear
  std::optional<std::chrono::seconds> soft_association_lifetime;  // the clear lasts this long without traffic
  std::optional<std::chrono::seconds> dpd_idle;    // a peer we send to, unheard this long, gets R-U-THERE
  std::optional<std::chrono::seconds> dpd_retry;   // the first R-U-THERE retransmission (then doubling)
  std::optional<unsigned> dpd_probes;              // unanswered R-U-THEREs that make the peer dead
  IkeVersion version = IkeVersion::Ikev2First;     // [ike] version
  // [ike] udp_encapsulation = force: ESP in UDP 4500 (RFC 3948) with every peer, NAT or not, as
  // charon's `encap = yes` (IKE pretends this host is behind a NAT, IKEv1 and IKEv2); `auto`: only
  // where a NAT is detected. With [driver] fast_path, ESP in UDP crosses the kernel in superpackets
  // (UDP GSO; driver/nfqueue/README.md).
  bool force_udp_encapsulation = false;
  // IKEv2 fragmentation (RFC 7383): [ike] fragmentation = yes|no announces it (default yes);
  // [ike] fragment_size, the largest IP datagram an IKEv2 message goes out in whole or as one
  // fragment (unset: 576 for IPv4, 1280 for IPv6).
  bool fragmentation = true;
  std::optional<unsigned> fragment_size;
  // [ike] engines: IKE event threads per address, each with its own sockets on UDP 500/4500 and
  // its own peers (chosen by a hash of the peer's address, ike/net/reuseport.h). Unset (or
  // `auto`): the cores, at most kMaxIkeEngines. Under [privsep] user, the IKE process runs as
  // many, on socket groups wardd binds for it.
  std::optional<unsigned> engines;
};
inline constexpr unsigned kMaxIkeEngines = 16;
// [ike] engines resolved: the setting, or the cores (hardware_concurrency) up to kMaxIkeEngines.
unsigned ike_engines(const IkeSettings& settings) noexcept;

struct Config {
  DirectorySettings directory;
  IkeSettings ike;
  DriverBackend driver = DriverBackend::Auto;
  // nfqueue: how many queues (one thread each) share the queued flows; the kernel spreads flows
  // over them by a hash of addresses and ports (ESP from one peer always lands on one queue).
  std::uint16_t driver_queues = 1;
  // nfqueue: TCP taken unsegmented and cut by Ward, protected segments sent through a raw socket,
  // inbound ESP through a packet ring, decrypted packets through a TUN device (ward0, ...).
  bool driver_fast_path = false;
  // Every SA expires after at most this long whatever IKE negotiated (soft expiry at two thirds):
  // rekeying in seconds for tests, shorter-lived keys for a site. Unset: the negotiated lifetimes.
  std::optional<std::chrono::seconds> driver_sa_lifetime_limit;
  std::filesystem::path control_socket{std::string(kDefaultControlSocket)};
  MonitorSettings monitor;
  CertificateSettings certificates;
  std::filesystem::path cache_path{std::string(kDefaultCachePath)};
  std::chrono::seconds event_retention = kDefaultEventRetention;
  LogLevel log_level = LogLevel::Info;
  std::filesystem::path local_policy;  // JSON policy for hosts outside a domain; empty: none
  BootMode boot_mode = BootMode::Block;
  std::vector<BootExemption> boot_exemptions;
  LegacyAlgorithms legacy_algorithms = LegacyAlgorithms::Policy;   // [ike] legacy_algorithms
  // [privsep] user: IKE runs in a process of its own as this user, without capabilities (wardd
  // --privsep-child ike). Empty: IKE runs inside wardd.
  std::string privsep_user;

  bool uses_directory() const noexcept { return !directory.uris.empty(); }
};

struct ConfigError {
  std::string file;  // as given to the parser
  std::size_t line = 0;  // 1-based; 0 when the error concerns the whole file
  std::string message;

  std::string to_string() const;  // "ward.conf:12: unknown key 'url' in [directory]"
};

// `name` is what error messages call the text (normally the file's path).
Expected<Config, ConfigError> parse_config(std::string_view text, std::string_view name) noexcept;
// parse_config on the file, then the checks that need the file system: every secret file it names
// that wardd will read (the keytab when Kerberos is used and the file exists, the password_file of
// a simple bind, the [certificates] private_key, the [monitor] tls_key) must pass
// check_secret_file (secret_file.h: owned by this user or root, no group or other permission).
Expected<Config, ConfigError> load_config(const std::filesystem::path& path) noexcept;

}  // namespace ward::agent::config
