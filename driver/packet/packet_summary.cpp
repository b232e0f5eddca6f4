#include "driver/packet/packet_summary.h"

#include "driver/packet/packet_bytes.h"

#include <array>
#include <optional>
#include <string>

namespace ward::driver {

namespace {

constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::uint16_t kIpv4FragmentOffsetMask = 0x1FFF;
constexpr std::uint16_t kIpv6FragmentOffsetMask = 0xFFF8;

template <std::size_t N>
Expected<IpAddress, ParseError> read_address(ByteReader& reader, const char* field) {
  auto raw = reader.bytes(N, field);
  if (!raw) return unexpected(std::move(raw).error());
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < N; ++i) bytes[i] = std::to_integer<std::uint8_t>((*raw)[i]);
  if constexpr (N == 4) {
    return IpAddress::v4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) | bytes[3]);
  } else {
    return IpAddress::v6(bytes);
  }
}

// Reads ports or the SPI from the upper-layer header, which starts at the reader's position.
Expected<void, ParseError> read_upper_layer(ByteReader& reader, PacketSummary& summary) {
  if (summary.later_fragment) return {};
  if (summary.protocol == ip_proto::kTcp || summary.protocol == ip_proto::kUdp) {
    auto source = reader.u16_be("source port");
    if (!source) return unexpected(std::move(source).error());
    auto destination = reader.u16_be("destination port");
    if (!destination) return unexpected(std::move(destination).error());
    summary.source_port = *source;
    summary.destination_port = *destination;
  } else if (summary.protocol == ip_proto::kEsp) {
    auto spi = reader.u32_be("ESP SPI");
    if (!spi) return unexpected(std::move(spi).error());
    summary.esp_spi = *spi;
  }
  return {};
}

// Every packet in both directions comes here (the classifier outbound, the SA's filter check on
// the decrypted packet inbound), and the reader's checked reads were ~8 % of the ESP fast path's
// samples. So the lengths are checked once and the fields read at their fixed offsets; a packet
// this does not take (short, a bad IHL or total length, an upper-layer header too short for its
// ports or SPI) goes through summarize_v4_checked, which names what is wrong. What this takes,
// the checked reader takes too, with the same fields.
std::optional<PacketSummary> summarize_v4_well_formed(std::span<const std::byte> packet) noexcept {
  if (packet.size() < kIpv4MinHeader) return std::nullopt;
  const std::size_t header_length = std::size_t{packet_bytes::u8(packet, 0) & 0x0Fu} * 4;
  const std::size_t total_length = packet_bytes::be16(packet, 2);
  if (header_length < kIpv4MinHeader || total_length < header_length || total_length > packet.size()) return std::nullopt;
  PacketSummary summary;
  summary.length = total_length;
  summary.later_fragment = (packet_bytes::be16(packet, 6) & kIpv4FragmentOffsetMask) != 0;
  summary.protocol = packet_bytes::u8(packet, 9);
  summary.source = IpAddress::v4(packet_bytes::be32(packet, 12));
  summary.destination = IpAddress::v4(packet_bytes::be32(packet, 16));
  summary.upper_layer_offset = header_length;
  if (summary.later_fragment) return summary;
  const auto upper = packet.subspan(header_length, total_length - header_length);
  if (summary.protocol == ip_proto::kTcp || summary.protocol == ip_proto::kUdp) {
    if (upper.size() < 4) return std::nullopt;
    summary.source_port = packet_bytes::be16(upper, 0);
    summary.destination_port = packet_bytes::be16(upper, 2);
  } else if (summary.protocol == ip_proto::kEsp) {
    if (upper.size() < 4) return std::nullopt;
    summary.esp_spi = packet_bytes::be32(upper, 0);
  }
  return summary;
}

Expected<PacketSummary, ParseError> summarize_v4_checked(std::span<const std::byte> packet) {
  ByteReader reader(packet, "IPv4 header");
  PacketSummary summary;
  auto version_ihl = reader.u8("version/IHL");
  if (!version_ihl) return unexpected(std::move(version_ihl).error());
  const std::size_t header_length = std::size_t{*version_ihl & 0x0Fu} * 4;
  if (header_length < kIpv4MinHeader) return unexpected(reader.error("IHL", "header length " + std::to_string(header_length) + " < 20"));
  if (!reader.skip(1, "TOS")) return unexpected(reader.error("TOS", "truncated"));
  auto total_length = reader.u16_be("total length");
  if (!total_length) return unexpected(std::move(total_length).error());
  if (*total_length < header_length || *total_length > packet.size()) {
    return unexpected(reader.error("total length", std::to_string(*total_length) + " is outside " + std::to_string(header_length) +
                                                       ".." + std::to_string(packet.size()) + " (header .. captured bytes)"));
  }
  summary.length = *total_length;
  if (!reader.skip(2, "identification")) return unexpected(reader.error("identification", "truncated"));
  auto fragment = reader.u16_be("flags/fragment offset");
  if (!fragment) return unexpected(std::move(fragment).error());
  summary.later_fragment = (*fragment & kIpv4FragmentOffsetMask) != 0;
  if (!reader.skip(1, "TTL")) return unexpected(reader.error("TTL", "truncated"));
  auto protocol = reader.u8("protocol");
  if (!protocol) return unexpected(std::move(protocol).error());
  summary.protocol = *protocol;
  if (!reader.skip(2, "checksum")) return unexpected(reader.error("checksum", "truncated"));
  auto source = read_address<4>(reader, "source address");
  if (!source) return unexpected(std::move(source).error());
  auto destination = read_address<4>(reader, "destination address");
  if (!destination) return unexpected(std::move(destination).error());
  summary.source = *source;
  summary.destination = *destination;
  if (auto options = reader.skip(header_length - kIpv4MinHeader, "options"); !options) return unexpected(options.error());
  summary.upper_layer_offset = header_length;
  ByteReader upper(packet.subspan(header_length, summary.length - header_length), "IPv4 payload", header_length);
  if (auto result = read_upper_layer(upper, summary); !result) return unexpected(result.error());
  return summary;
}

Expected<PacketSummary, ParseError> summarize_v6(std::span<const std::byte> packet) {
  ByteReader reader(packet, "IPv6 header");
  PacketSummary summary;
  if (!reader.skip(4, "version/class/flow")) return unexpected(reader.error("version/class/flow", "truncated"));
  auto payload_length = reader.u16_be("payload length");
  if (!payload_length) return unexpected(std::move(payload_length).error());
  if (kIpv6Header + *payload_length > packet.size()) {
    return unexpected(reader.error("payload length", std::to_string(*payload_length) + " exceeds the " +
                                                         std::to_string(packet.size() - kIpv6Header) + " captured bytes"));
  }
  summary.length = kIpv6Header + *payload_length;
  auto next_header = reader.u8("next header");
  if (!next_header) return unexpected(std::move(next_header).error());
  if (!reader.skip(1, "hop limit")) return unexpected(reader.error("hop limit", "truncated"));
  auto source = read_address<16>(reader, "source address");
  if (!source) return unexpected(std::move(source).error());
  auto destination = read_address<16>(reader, "destination address");
  if (!destination) return unexpected(std::move(destination).error());
  summary.source = *source;
  summary.destination = *destination;

  ByteReader payload(packet.subspan(kIpv6Header, *payload_length), "IPv6 payload", kIpv6Header);
  std::uint8_t header = *next_header;
  for (int hops = 0;; ++hops) {
    const bool extension = header == ip_proto::kHopByHop || header == ip_proto::kRouting || header == ip_proto::kFragment ||
                           header == ip_proto::kDestinationOptions;
    if (!extension) break;
    if (hops == kMaxIpv6ExtensionHeaders) {
      return unexpected(payload.error("extension header", "more than " + std::to_string(kMaxIpv6ExtensionHeaders) + " extension headers"));
    }
    auto next = payload.u8("extension next header");
    if (!next) return unexpected(std::move(next).error());
    auto length_units = payload.u8("extension length");
    if (!length_units) return unexpected(std::move(length_units).error());
    if (header == ip_proto::kFragment) {
      auto offset = payload.u16_be("fragment offset");
      if (!offset) return unexpected(std::move(offset).error());
      summary.later_fragment = (*offset & kIpv6FragmentOffsetMask) != 0;
      if (auto rest = payload.skip(4, "fragment identification"); !rest) return unexpected(rest.error());
    } else {
      const std::size_t length = (std::size_t{*length_units} + 1) * 8;
      if (auto rest = payload.skip(length - 2, "extension header body"); !rest) return unexpected(rest.error());
    }
    header = *next;
  }
  summary.protocol = header;
  summary.upper_layer_offset = payload.offset();
  if (auto result = read_upper_layer(payload, summary); !result) return unexpected(result.error());
  return summary;
}

}  // namespace

namespace {

Expected<PacketSummary, ParseError> summarize(std::span<const std::byte> packet, bool fixed_offsets) noexcept {
  try {
    if (packet.empty()) return unexpected(ParseError{"IP packet", "version", 0, "empty packet"});
    const auto version = std::to_integer<unsigned>(packet[0]) >> 4;
    if (version == 4) {
      if (fixed_offsets) {
        if (auto summary = summarize_v4_well_formed(packet)) return *summary;
      }
      return summarize_v4_checked(packet);
    }
    if (version == 6) return summarize_v6(packet);
    return unexpected(ParseError{"IP packet", "version", 0, "version " + std::to_string(version) + " is neither 4 nor 6"});
  } catch (const std::bad_alloc&) {
    return unexpected(ParseError{"IP packet", "", 0, "out of memory"});
  }
}

}  // namespace

Expected<PacketSummary, ParseError> summarize_ip_packet(std::span<const std::byte> packet) noexcept {
  return summarize(packet, true);
}

Expected<PacketSummary, ParseError> summarize_ip_packet_checked(std::span<const std::byte> packet) noexcept {
  return summarize(packet, false);
}

}  // namespace ward::driver
