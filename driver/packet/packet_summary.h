// What the driver needs to know about an IP packet before deciding its fate: addresses, the
// upper-layer protocol (after IPv6 extension headers), ports when visible, and the ESP SPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/byte_reader.h"
#include "common/expected.h"
#include "common/ip.h"
#include "common/ip_protocol.h"
#include "common/parse_error.h"

namespace ward::driver {

namespace ip_proto = ward::ip_proto;

// IPv6 extension headers followed before giving up on a packet (RFC 8200 allows a chain; a long
// one is an attack on the parser, not a real packet).
inline constexpr int kMaxIpv6ExtensionHeaders = 8;

struct PacketSummary {
  IpAddress source;
  IpAddress destination;
  std::uint8_t protocol = 0;             // the upper-layer protocol
  std::optional<std::uint16_t> source_port;       // TCP/UDP, first fragment or unfragmented only
  std::optional<std::uint16_t> destination_port;
  std::optional<std::uint32_t> esp_spi;  // protocol 50
  std::size_t upper_layer_offset = 0;    // where the upper-layer header starts
  std::size_t length = 0;                // the IP datagram's length from its header
  bool later_fragment = false;           // a fragment other than the first: no upper-layer header
};

Expected<PacketSummary, ParseError> summarize_ip_packet(std::span<const std::byte> packet) noexcept;
// The same through ByteReader's checked reads only (summarize_ip_packet reads a well-formed IPv4
// header at fixed offsets instead): the reference its tests and fuzz target compare it with.
Expected<PacketSummary, ParseError> summarize_ip_packet_checked(std::span<const std::byte> packet) noexcept;

}  // namespace ward::driver
