// Well-known Vendor ID payload contents (RFC 2408 3.16). Each is MD5 of a published string, as
// noted; tests recompute the MD5 ones.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ward::ike::vendor_id {

namespace detail {
template <std::size_t N>
constexpr std::array<std::byte, N> make(const std::uint8_t (&raw)[N]) {
  std::array<std::byte, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = std::byte{raw[i]};
  return out;
}
}  // namespace detail

// NAT-Traversal, RFC 3947 4: MD5("RFC 3947").
inline constexpr std::uint8_t kNatTRfc3947Raw[] = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
                                                   0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f};
inline constexpr auto kNatTRfc3947 = detail::make(kNatTRfc3947Raw);

// Dead Peer Detection, RFC 3706 7: the first 14 bytes identify DPD, the last two are the
// version (1.0).
inline constexpr std::uint8_t kDpdRaw[] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
                                           0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
inline constexpr auto kDpd = detail::make(kDpdRaw);

// IKE fragmentation (Microsoft / Cisco proprietary): MD5("FRAGMENTATION"), optionally followed by
// a 32-bit capability word; 0x80000000 = main/aggressive mode fragments. Windows sends the
// 16-byte form.
inline constexpr std::uint8_t kFragmentationRaw[] = {0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85,
                                                     0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3};
inline constexpr auto kFragmentation = detail::make(kFragmentationRaw);
inline constexpr std::uint32_t kFragmentationMainModeCapability = 0x80000000u;

// Windows: MD5("MS NT5 ISAKMPOAKLEY") followed by a 32-bit version number (e.g. 9 for Windows
// Vista/2008, higher for later releases). Match the 16-byte prefix.
inline constexpr std::uint8_t kMsNt5IsakmpOakleyRaw[] = {0x1e, 0x2b, 0x51, 0x69, 0x05, 0x99, 0x1c, 0x7d,
                                                         0x7c, 0x96, 0xfc, 0xbf, 0xb5, 0x87, 0xe4, 0x61};
inline constexpr auto kMsNt5IsakmpOakley = detail::make(kMsNt5IsakmpOakleyRaw);

// True when `data` equals `known`, or (prefix == true) starts with it.
bool matches(std::span<const std::byte> data, std::span<const std::byte> known, bool prefix = false) noexcept;

}  // namespace ward::ike::vendor_id
