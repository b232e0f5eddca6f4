// ipsecData of an ipsecISAKMPPolicy object (MS-GPIPSEC 2.2.1.2.1): IKE main mode settings and an
// ordered list of 64-byte security methods. Every field the spec names, including the "Zero"
// ones, is kept as found: Windows leaves uninitialised 0xCD fill in some of them (FINDINGS.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"
#include "directory/model/guid.h"

namespace ward::adblob {

namespace isakmp_code {
// Encryption-Algorithm-ID (Windows numbers, not RFC 2409's).
inline constexpr std::uint32_t kCipherNone = 0;
inline constexpr std::uint32_t kCipherDes = 1;
inline constexpr std::uint32_t kCipher3DesAlt = 2;  // the spec lists 2 and 3 as 3DES
inline constexpr std::uint32_t kCipher3Des = 3;     // what Windows writes (FINDINGS.md)
// Hash-Algorithm-ID.
inline constexpr std::uint32_t kHashNone = 0;
inline constexpr std::uint32_t kHashMd5 = 1;
inline constexpr std::uint32_t kHashSha1 = 2;
// Oakley-Group.
inline constexpr std::uint32_t kGroup1 = 1;
inline constexpr std::uint32_t kGroup2 = 2;
inline constexpr std::uint32_t kGroup14 = 0x10000001;
// The second u32 of the 8-byte algorithm IDs in Windows blobs (FINDINGS.md).
inline constexpr std::uint32_t kWindowsAlgorithmHigh = 64;
inline constexpr std::uint32_t kWindowsCipherZero4 = 8;
}  // namespace isakmp_code

struct IsakmpSecurityMethod {
  static constexpr std::size_t kSize = 64;

  std::uint8_t major_version = 0;
  std::uint8_t minor_version = 0;
  std::uint16_t zero3 = 0;
  std::uint32_t encryption_algorithm = 0;       // Encryption-Algorithm-ID, low u32
  std::uint32_t encryption_algorithm_high = 0;  // Encryption-Algorithm-ID, high u32
  std::uint32_t zero4 = 0;
  std::uint32_t hash_algorithm = 0;             // Hash-Algorithm-ID, low u32
  std::uint32_t hash_algorithm_high = 0;
  std::uint32_t zero5 = 0;
  std::uint64_t zero6 = 0;
  std::uint8_t random_function = 0;             // 0 = no override
  std::array<std::uint8_t, 7> zero7{};
  std::uint32_t oakley_group = 0;
  std::uint32_t quick_mode_limit = 0;
  std::uint32_t lifetime_kilobytes = 0;
  std::uint32_t lifetime_seconds = 0;
  std::uint32_t pfs_identity_required = 0;

  friend bool operator==(const IsakmpSecurityMethod&, const IsakmpSecurityMethod&) = default;
};

struct IsakmpBlob {
  static constexpr std::uint32_t kDefaultLifetimeSeconds = 28800;  // what MM-Lifetime 0 means

  model::Guid instance;                  // ISAKMP-Policy-Instance
  std::uint32_t zero1 = 0;
  std::uint32_t master_pfs_required = 0;
  std::uint32_t isakmp_options = 0;      // 1 cert-to-account mapping, 2 no CRP
  std::array<std::uint8_t, 4> new_dh{};  // New-DH-1..4
  std::uint32_t quick_mode_limit = 0;
  std::uint32_t main_mode_lifetime_seconds = 0;
  std::array<std::uint8_t, 20> zero2{};
  std::vector<IsakmpSecurityMethod> methods;
  std::optional<std::uint32_t> data_length_as_found;
  std::vector<std::byte> trailer = {std::byte{0}};

  friend bool operator==(const IsakmpBlob&, const IsakmpBlob&) = default;
};

Expected<IsakmpBlob, ParseError> decode_isakmp_blob(std::span<const std::byte> data) noexcept;
std::vector<std::byte> encode_isakmp_blob(const IsakmpBlob& blob);

}  // namespace ward::adblob
