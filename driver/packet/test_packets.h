// Builds small, valid IP packets for the driver's tests and fuzz seeds.
#pragma once

#include <cstdint>
#include <vector>

#include "common/byte_writer.h"
#include "common/ip.h"

namespace ward::driver::testing {

inline void put_address(ByteWriter& out, const IpAddress& address) {
  const auto& bytes = address.bytes();
  const std::size_t length = address.family() == IpFamily::V4 ? 4 : 16;
  for (std::size_t i = 0; i < length; ++i) out.u8(bytes[i]);
}

// An IPv4 or IPv6 packet carrying `payload` after an upper-layer header: for TCP/UDP the two ports
// (then zeros up to 8 bytes), for ESP the SPI and a sequence number, otherwise nothing.
inline std::vector<std::byte> make_packet(const IpAddress& source, const IpAddress& destination, std::uint8_t protocol,
                                          std::uint16_t sport, std::uint16_t dport, std::size_t payload = 16,
                                          std::uint32_t spi = 0) {
  ByteWriter upper;
  if (protocol == 6 || protocol == 17) {
    upper.u16_be(sport);
    upper.u16_be(dport);
    upper.zeros(protocol == 6 ? 16 : 4);
  } else if (protocol == 50) {
    upper.u32_be(spi);
    upper.u32_be(1);
  }
  upper.zeros(payload);
  ByteWriter out;
  if (source.family() == IpFamily::V4) {
    out.u8(0x45);
    out.u8(0);
    out.u16_be(static_cast<std::uint16_t>(20 + upper.size()));
    out.u16_be(0x1234);
    out.u16_be(0x4000);
    out.u8(64);
    out.u8(protocol);
    out.u16_be(0);
  } else {
    out.u32_be(0x60000000);
    out.u16_be(static_cast<std::uint16_t>(upper.size()));
    out.u8(protocol);
    out.u8(64);
  }
  put_address(out, source);
  put_address(out, destination);
  if (source.family() == IpFamily::V4) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 20; i += 2) {
      sum += (std::to_integer<std::uint32_t>(out.data()[i]) << 8) | std::to_integer<std::uint32_t>(out.data()[i + 1]);
    }
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    out.patch_u16_be(10, static_cast<std::uint16_t>(~sum));
  }
  out.bytes(upper.data());
  return std::move(out).take();
}

}  // namespace ward::driver::testing
