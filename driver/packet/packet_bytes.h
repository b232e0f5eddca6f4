// Big-endian reads and writes at byte offsets of a packet, for the fast path's header edits
// and parsers (gso_segments, tun_injector, udp_gso, packet_summary, crypto/ip_packet). Callers check
// lengths first: these do not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ward::driver::packet_bytes {

inline std::uint8_t u8(std::span<const std::byte> p, std::size_t at) { return std::to_integer<std::uint8_t>(p[at]); }
inline std::uint16_t be16(std::span<const std::byte> p, std::size_t at) {
  return static_cast<std::uint16_t>((u8(p, at) << 8) | u8(p, at + 1));
}
inline std::uint32_t be32(std::span<const std::byte> p, std::size_t at) {
  return (std::uint32_t{u8(p, at)} << 24) | (std::uint32_t{u8(p, at + 1)} << 16) | (std::uint32_t{u8(p, at + 2)} << 8) |
         u8(p, at + 3);
}
inline void put16(std::span<std::byte> p, std::size_t at, std::uint16_t v) {
  p[at] = std::byte(v >> 8);
  p[at + 1] = std::byte(v & 0xFF);
}
inline void put32(std::span<std::byte> p, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) p[at + i] = std::byte((v >> (24 - 8 * i)) & 0xFF);
}

}  // namespace ward::driver::packet_bytes
