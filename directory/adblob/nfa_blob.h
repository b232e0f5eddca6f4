// ipsecData of an ipsecNFA object (MS-GPIPSEC 2.2.1.3.1): a rule's authentication methods,
// interface type, IPv4 tunnel endpoint and flags, then an optional tail (alternate authentication
// list, per-method flags, IPv6 tunnel endpoint), each part introduced by its marker GUID.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"
#include "directory/model/guid.h"

namespace ward::adblob {

namespace nfa_code {
inline constexpr std::uint32_t kAuthPresharedKey = 1;
inline constexpr std::uint32_t kAuthCertificate = 3;
inline constexpr std::uint32_t kAuthKerberos = 5;
inline constexpr std::uint32_t kInterfaceRemoteAccess = 0xFFFFFFFF;
inline constexpr std::uint32_t kInterfaceLan = 0xFFFFFFFE;
inline constexpr std::uint32_t kInterfaceAll = 0xFFFFFFFD;
}  // namespace nfa_code

// Markers of the optional tail; the spec prints them malformed, these are 15 x 0x01 then 01/02/03.
namespace nfa_marker {
extern const model::Guid kAltAuthMethods;   // Alt-Auth-Method-Id1
extern const model::Guid kAltAuthFlags;     // Alt-Auth-Method-Id2
extern const model::Guid kIpv6Tunnel;       // IPv6-Tunnel-Mode-ID
}  // namespace nfa_marker

// Auth-Method-Data is NUL-terminated UTF-16LE for all three known types (Kerberos: just the NUL);
// it is kept as raw bytes so that unknown types survive.
struct NfaAuthMethod {
  std::uint32_t type = nfa_code::kAuthKerberos;
  std::vector<std::byte> data;

  friend bool operator==(const NfaAuthMethod&, const NfaAuthMethod&) = default;
};

struct NfaAltAuthFlags {
  std::uint32_t zero1 = 0;
  std::vector<std::uint32_t> flags;  // one per Auth-Method-Count

  friend bool operator==(const NfaAltAuthFlags&, const NfaAltAuthFlags&) = default;
};

struct NfaBlob {
  std::vector<NfaAuthMethod> auth_methods;
  std::uint32_t interface_type = nfa_code::kInterfaceAll;
  std::u16string interface_name = std::u16string(1, u'\0');
  std::array<std::uint8_t, 4> tunnel_address{};  // network byte order
  std::uint32_t is_tunnel = 0;
  std::uint32_t is_active = 1;
  std::u16string tunnel_end_point_name = std::u16string(1, u'\0');
  // The tail. Data-Length does not count it (spec); a reader also accepts one pad byte before it.
  std::optional<std::uint8_t> pad_before_tail;
  std::optional<std::vector<NfaAuthMethod>> alt_auth_methods;
  std::optional<NfaAltAuthFlags> alt_auth_flags;
  std::optional<std::array<std::uint8_t, 16>> ipv6_tunnel_address;
  std::optional<std::uint32_t> data_length_as_found;
  std::vector<std::byte> trailer = {std::byte{0}};

  friend bool operator==(const NfaBlob&, const NfaBlob&) = default;
};

Expected<NfaBlob, ParseError> decode_nfa_blob(std::span<const std::byte> data, std::size_t base_offset = 0) noexcept;
std::vector<std::byte> encode_nfa_blob(const NfaBlob& blob);

}  // namespace ward::adblob
