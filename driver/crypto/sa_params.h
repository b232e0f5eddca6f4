// SaParams: everything the ESP/AH transforms need to know about one security association, as
// plain values. IKE (through the driver API) fills one per SA and per direction; the transforms
// check it once (make_esp_sa / make_ah_sa) and refuse it with a message naming the SPI.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "driver/crypto/constants.h"
#include "driver/crypto/secure_bytes.h"

namespace ward::driver::crypto {

enum class SecurityProtocol : std::uint8_t { Esp, Ah };
enum class Direction : std::uint8_t { Inbound, Outbound };
enum class Mode : std::uint8_t { Transport, Tunnel };

enum class Cipher : std::uint8_t {
  Null,          // RFC 2410: integrity only (needs an integrity algorithm)
  AesCbc128,     // RFC 3602
  AesCbc256,     // RFC 3602
  AesGcm128,     // RFC 4106, 16-byte ICV; key material is key || 4-byte salt
  AesGcm256,     // RFC 4106, 16-byte ICV; key material is key || 4-byte salt
  TripleDesCbc,  // RFC 2451; legacy, needs allow_legacy
};

enum class Integrity : std::uint8_t {
  None,            // only with an AEAD cipher (GCM)
  HmacSha1_96,     // RFC 2404
  HmacSha256_128,  // RFC 4868
  HmacMd5_96,      // RFC 2403; legacy, needs allow_legacy
};

enum class IpVersion : std::uint8_t { V4, V6 };

// An IP address in network byte order; an IPv4 address uses the first 4 bytes.
struct IpAddress {
  IpVersion version = IpVersion::V4;
  std::array<std::byte, kIpv6AddressLength> bytes{};

  static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept;
  static IpAddress v6(const std::array<std::uint8_t, kIpv6AddressLength>& address) noexcept;
  // From raw network-order bytes: 4 bytes give IPv4, 16 give IPv6.
  static std::optional<IpAddress> from_bytes(std::span<const std::byte> raw) noexcept;
  std::span<const std::byte> view() const noexcept {
    return std::span<const std::byte>(bytes).first(version == IpVersion::V4 ? kIpv4AddressLength : kIpv6AddressLength);
  }
  std::string to_string() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Tunnel mode endpoints as this host sees them: outbound packets go local -> remote, inbound
// packets must come remote -> local.
struct TunnelEndpoints {
  IpAddress local;
  IpAddress remote;
};

// RFC 3948 UDP encapsulation: the ports this host sends from and to (4500/4500 unless a NAT
// changed them). Inbound packets must arrive from remote_port to local_port.
struct UdpEncapsulation {
  std::uint16_t local_port = kNatTraversalPort;
  std::uint16_t remote_port = kNatTraversalPort;
};

struct SaParams {
  SecurityProtocol protocol = SecurityProtocol::Esp;
  std::uint32_t spi = 0;  // host order
  Direction direction = Direction::Outbound;
  Mode mode = Mode::Transport;
  std::optional<TunnelEndpoints> tunnel;  // required in tunnel mode
  Cipher cipher = Cipher::AesGcm128;      // ESP only; AH ignores it and must leave it Null
  Integrity integrity = Integrity::None;
  SecureBytes encryption_key;  // GCM: key || salt
  SecureBytes integrity_key;
  bool extended_sequence_numbers = false;  // RFC 4303 2.2.1: 64-bit counter, high half implicit
  std::uint32_t replay_window = kDefaultReplayWindow;  // inbound; 0 disables anti-replay
  std::optional<UdpEncapsulation> udp_encapsulation;  // ESP only
  bool allow_legacy = false;  // permits 3DES-CBC and HMAC-MD5-96
};

// Names, for logs and errors (never for dispatch).
std::string_view name_of(SecurityProtocol value) noexcept;
std::string_view name_of(Direction value) noexcept;
std::string_view name_of(Mode value) noexcept;
std::string_view name_of(Cipher value) noexcept;
std::string_view name_of(Integrity value) noexcept;

// "ESP SA 0x0000a5f8 (outbound)": how every SA error message starts.
std::string describe_sa(const SaParams& params);

// The key lengths an SA takes (SaParams::encryption_key, SaParams::integrity_key): what IKEv1
// and IKEv2 derive as KEYMAT per direction. GCM's encryption key is key || 4-byte salt
// (RFC 4106 8.1); NULL encryption and no integrity take none.
std::size_t encryption_key_length(Cipher cipher) noexcept;
std::size_t integrity_key_length(Integrity integrity) noexcept;

}  // namespace ward::driver::crypto

#include "common/expected.h"

namespace ward::driver::crypto {

// Checks what ESP and AH share: SPI range, tunnel endpoints, replay window size, the legacy
// integrity algorithm and the integrity key length. Messages start with describe_sa().
Expected<void, std::string> check_common_sa_params(const SaParams& params);

}  // namespace ward::driver::crypto
