// Builders of plain IP packets for tests, the fuzz corpus generator and the benchmark.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/byte_writer.h"
#include "driver/crypto/constants.h"
#include "driver/crypto/ip_packet.h"
#include "driver/crypto/sa_params.h"

namespace ward::driver::crypto::testing {

// Hex as the RFCs print it ("4500007c 08f20000 ..."): whitespace is ignored.
inline std::vector<std::byte> from_hex(std::string_view text) {
  std::vector<std::byte> out;
  int high = -1;
  for (const char c : text) {
    int nibble = -1;
    if (c >= '0' && c <= '9') nibble = c - '0';
    if (c >= 'a' && c <= 'f') nibble = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') nibble = c - 'A' + 10;
    if (nibble < 0) continue;
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(std::byte{static_cast<std::uint8_t>(high << 4 | nibble)});
      high = -1;
    }
  }
  return out;
}

inline std::vector<std::byte> pattern_bytes(std::size_t count, std::uint8_t seed = 0) {
  std::vector<std::byte> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = std::byte{static_cast<std::uint8_t>(seed + i * 7 + 1)};
  return out;
}

// An IPv4 packet (no options) carrying `payload` as protocol `protocol`, with a valid checksum.
inline std::vector<std::byte> make_ipv4_packet(const IpAddress& source, const IpAddress& destination,
                                               std::uint8_t protocol, std::span<const std::byte> payload,
                                               std::uint8_t tos = 0, std::uint8_t ttl = 64) {
  ByteWriter writer;
  writer.u8(0x45);
  writer.u8(tos);
  writer.u16_be(0);
  writer.u16_be(0x1234);  // identification
  writer.u16_be(0x4000);  // DF
  writer.u8(ttl);
  writer.u8(protocol);
  writer.u16_be(0);
  writer.bytes(source.view());
  writer.bytes(destination.view());
  writer.bytes(payload);
  (void)finish_ip_header(writer, IpVersion::V4, kIpv4MinHeaderLength);
  return std::move(writer).take();
}

inline std::vector<std::byte> make_ipv6_packet(const IpAddress& source, const IpAddress& destination,
                                               std::uint8_t next_header, std::span<const std::byte> payload,
                                               std::uint8_t traffic_class = 0, std::uint32_t flow_label = 0x12345,
                                               std::uint8_t hop_limit = 64) {
  ByteWriter writer;
  writer.u32_be((6U << 28) | (std::uint32_t{traffic_class} << 20) | (flow_label & 0xfffff));
  writer.u16_be(static_cast<std::uint16_t>(payload.size()));
  writer.u8(next_header);
  writer.u8(hop_limit);
  writer.bytes(source.view());
  writer.bytes(destination.view());
  writer.bytes(payload);
  return std::move(writer).take();
}

inline IpAddress v6_address(std::uint8_t last) {
  return IpAddress::v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last});
}

}  // namespace ward::driver::crypto::testing
