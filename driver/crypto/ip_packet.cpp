#include "driver/crypto/ip_packet.h"

#include <bit>
#include <cstring>

#include "common/byte_reader.h"
#include "driver/crypto/constants.h"
#include "driver/packet/packet_bytes.h"

namespace ward::driver::crypto {

namespace {

constexpr std::uint8_t kIpv4Version = 4;
constexpr std::uint8_t kIpv6Version = 6;
constexpr std::uint16_t kIpv4MoreFragments = 0x2000;
constexpr std::uint16_t kIpv4FragmentOffsetMask = 0x1fff;
constexpr std::size_t kIpv4TotalLengthOffset = 2;
constexpr std::size_t kIpv4ChecksumOffset = 10;
constexpr std::size_t kIpv6PayloadLengthOffset = 4;
constexpr std::size_t kIpv6ExtensionUnit = 8;

// Maps a reader failure to the reason the driver counts.
template <class T>
bool failed(const Expected<T, ParseError>& value) noexcept {
  return !value.has_value();
}

Expected<IpPacketInfo, DropReason> parse_ipv4(std::span<const std::byte> packet, Fragments fragments) noexcept {
  if (packet.size() < kIpv4MinHeaderLength) return unexpected(DropReason::Truncated);
  IpPacketInfo info;
  info.version = IpVersion::V4;
  // The fixed header is there (checked above), so it is read at its offsets, as three 32-bit words
  // and two addresses, without the reader's per-read checks: this runs for every packet in both
  // directions.
  const std::uint32_t word0 = packet_bytes::be32(packet, 0);  // version/IHL/TOS/total length
  const std::uint32_t word1 = packet_bytes::be32(packet, 4);  // identification/flags/fragment offset
  const std::uint32_t word2 = packet_bytes::be32(packet, 8);  // TTL/protocol/header checksum
  const auto version_ihl = static_cast<std::uint8_t>(word0 >> 24);
  const auto tos = static_cast<std::uint8_t>(word0 >> 16);
  const auto total_length = static_cast<std::uint16_t>(word0);
  const auto flags_fragment = static_cast<std::uint16_t>(word1);
  const auto protocol = static_cast<std::uint8_t>(word2 >> 16);
  const std::size_t header_length = static_cast<std::size_t>(version_ihl & 0x0f) * 4;
  if ((version_ihl >> 4) != kIpv4Version || header_length < kIpv4MinHeaderLength || total_length < header_length) {
    return unexpected(DropReason::BadIpHeader);
  }
  if (total_length > packet.size() || header_length > packet.size()) return unexpected(DropReason::Truncated);
  if (internet_checksum(packet.first(header_length)) != 0) return unexpected(DropReason::BadIpHeader);
  if (fragments == Fragments::Reject &&
      ((flags_fragment & kIpv4MoreFragments) != 0 || (flags_fragment & kIpv4FragmentOffsetMask) != 0)) {
    return unexpected(DropReason::UnsupportedPacket);
  }
  info.header_length = header_length;
  info.protocol_field_offset = kIpv4ProtocolOffset;
  info.protocol = protocol;
  info.total_length = total_length;
  info.traffic_class = tos;
  info.has_options = header_length > kIpv4MinHeaderLength;
  const auto address = [&](std::size_t at) {
    return IpAddress::v4(packet_bytes::u8(packet, at), packet_bytes::u8(packet, at + 1), packet_bytes::u8(packet, at + 2),
                         packet_bytes::u8(packet, at + 3));
  };
  info.source = address(12);
  info.destination = address(16);
  return info;
}

Expected<IpPacketInfo, DropReason> parse_ipv6(std::span<const std::byte> packet, Fragments fragments) noexcept {
  if (packet.size() < kIpv6HeaderLength) return unexpected(DropReason::Truncated);
  ByteReader reader(packet, "IPv6 header");
  IpPacketInfo info;
  info.version = IpVersion::V6;
  auto first_word = reader.u32_be("version/traffic class/flow label");
  auto payload_length = reader.u16_be("payload length");
  auto next_header = reader.u8("next header");
  auto hop_limit = reader.u8("hop limit");
  auto source = reader.bytes(kIpv6AddressLength, "source address");
  auto destination = reader.bytes(kIpv6AddressLength, "destination address");
  if (failed(source) || failed(destination)) return unexpected(DropReason::Truncated);
  (void)hop_limit;
  if ((*first_word >> 28) != kIpv6Version) return unexpected(DropReason::BadIpHeader);
  if (*payload_length == 0 && *next_header == kProtoIpv6HopByHop) {
    return unexpected(DropReason::UnsupportedPacket);  // a jumbogram (RFC 2675)
  }
  const std::size_t total_length = kIpv6HeaderLength + *payload_length;
  if (total_length > packet.size()) return unexpected(DropReason::Truncated);
  info.total_length = total_length;
  info.traffic_class = static_cast<std::uint8_t>(*first_word >> 20);
  info.source = *IpAddress::from_bytes(*source);
  info.destination = *IpAddress::from_bytes(*destination);

  // Hop-by-Hop (first only) and Routing headers stay in front of ESP/AH in transport mode.
  std::uint8_t protocol = *next_header;
  std::size_t protocol_field_offset = kIpv6NextHeaderOffset;
  ByteReader extensions(packet.first(total_length).subspan(kIpv6HeaderLength), "IPv6 ext header",
                        kIpv6HeaderLength);
  bool first = true;
  while ((protocol == kProtoIpv6HopByHop && first) || protocol == kProtoIpv6Routing) {
    const std::size_t at = extensions.offset();
    auto header = extensions.sub_reader(2, "next header/length");
    if (failed(header)) return unexpected(DropReason::Truncated);
    auto following = header->u8("next header");
    auto length_units = header->u8("header extension length");
    const std::size_t length = (static_cast<std::size_t>(*length_units) + 1) * kIpv6ExtensionUnit;
    if (failed(extensions.skip(length - 2, "extension header body"))) return unexpected(DropReason::Truncated);
    protocol_field_offset = at;
    protocol = *following;
    info.has_options = true;
    first = false;
  }
  if (protocol == kProtoIpv6HopByHop) return unexpected(DropReason::BadIpHeader);  // only allowed first
  if (protocol == kProtoIpv6Fragment && fragments == Fragments::Reject) {
    return unexpected(DropReason::UnsupportedPacket);
  }
  info.header_length = extensions.offset();
  info.protocol = protocol;
  info.protocol_field_offset = protocol_field_offset;
  return info;
}

}  // namespace

Expected<IpPacketInfo, DropReason> parse_ip_packet(std::span<const std::byte> packet, Fragments fragments) noexcept {
  // Only the version nibble picks the parser (which reads the header with its own reader).
  if (packet.empty()) return unexpected(DropReason::Truncated);
  switch (std::to_integer<std::uint8_t>(packet.front()) >> 4) {
    case kIpv4Version:
      return parse_ipv4(packet, fragments);
    case kIpv6Version:
      return parse_ipv6(packet, fragments);
    default:
      return unexpected(DropReason::BadIpHeader);
  }
}

std::uint32_t ones_complement_sum(std::span<const std::byte> bytes, std::uint32_t initial) noexcept {
  // RFC 1071 2(B): the sum does not depend on byte order, and a 32-bit word counts as its two
  // halves (2^16 = 1 modulo 2^16 - 1). So 32-bit words are added in the host's order, carries kept
  // in 64 bits and folded once at the end, and the folded sum swapped to network order: four bytes
  // per addition instead of two shifts and an addition per two bytes (the fast path checksums
  // every TCP segment it cuts).
  // Four accumulators: four independent additions per 16 bytes, not one chain.
  const std::size_t words = bytes.size() / 4;
  std::uint64_t lanes[4] = {};
  std::size_t w = 0;
  for (; w + 4 <= words; w += 4) {
    std::uint32_t quad[4];
    std::memcpy(quad, bytes.data() + 4 * w, sizeof quad);
    for (int lane = 0; lane < 4; ++lane) lanes[lane] += quad[lane];
  }
  for (; w < words; ++w) {
    std::uint32_t word;
    std::memcpy(&word, bytes.data() + 4 * w, sizeof word);
    lanes[0] += word;
  }
  // Each lane is below 2^62 for any span under 2^32 words: their sum does not overflow.
  std::uint64_t wide = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  wide = (wide & 0xffffffffU) + (wide >> 32);
  wide = (wide & 0xffffffffU) + (wide >> 32);
  wide = (wide & 0xffffU) + (wide >> 16);
  wide = (wide & 0xffffU) + (wide >> 16);
  auto native = static_cast<std::uint16_t>(wide);
  if constexpr (std::endian::native == std::endian::little) native = static_cast<std::uint16_t>((native >> 8) | (native << 8));
  std::uint64_t sum = std::uint64_t{initial} + native;
  std::size_t i = 4 * words;
  for (; i + 1 < bytes.size(); i += 2) {
    sum += (std::to_integer<std::uint32_t>(bytes[i]) << 8) | std::to_integer<std::uint32_t>(bytes[i + 1]);
  }
  if (i < bytes.size()) sum += std::to_integer<std::uint32_t>(bytes[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint32_t>(sum);
}

std::uint16_t internet_checksum(std::span<const std::byte> bytes, std::uint32_t initial) noexcept {
  return static_cast<std::uint16_t>(~ones_complement_sum(bytes, initial) & 0xffff);
}

Expected<void, DropReason> finish_ip_header(ByteWriter& writer, IpVersion version, std::size_t ipv4_header_length) {
  if (version == IpVersion::V4) {
    if (writer.size() > kIpv4MaxTotalLength) return unexpected(DropReason::PacketTooLarge);
    writer.patch_u16_be(kIpv4TotalLengthOffset, static_cast<std::uint16_t>(writer.size()));
    writer.patch_u16_be(kIpv4ChecksumOffset, 0);
    writer.patch_u16_be(kIpv4ChecksumOffset, internet_checksum(writer.written().first(ipv4_header_length)));
  } else {
    const std::size_t payload = writer.size() - kIpv6HeaderLength;
    if (payload > kIpv6MaxPayloadLength) return unexpected(DropReason::PacketTooLarge);
    writer.patch_u16_be(kIpv6PayloadLengthOffset, static_cast<std::uint16_t>(payload));
  }
  return {};
}

void write_outer_header(ByteWriter& writer, const TunnelEndpoints& endpoints, std::uint8_t traffic_class,
                        std::uint8_t protocol, std::uint16_t ipv4_identification) {
  constexpr std::uint8_t kIpv4VersionIhl = 0x45;
  if (endpoints.local.version == IpVersion::V4) {
    writer.u8(kIpv4VersionIhl);
    writer.u8(traffic_class);
    writer.u16_be(0);  // total length, set by finish_ip_header
    writer.u16_be(ipv4_identification);
    writer.u16_be(0);  // flags / fragment offset
    writer.u8(kDefaultOuterTtl);
    writer.u8(protocol);
    writer.u16_be(0);  // checksum, set by finish_ip_header
  } else {
    writer.u32_be((std::uint32_t{kIpv6Version} << 28) | (std::uint32_t{traffic_class} << 20));
    writer.u16_be(0);  // payload length, set by finish_ip_header
    writer.u8(protocol);
    writer.u8(kDefaultOuterTtl);
  }
  writer.bytes(endpoints.local.view());
  writer.bytes(endpoints.remote.view());
}

std::uint16_t udp_checksum_ipv6(const IpAddress& source, const IpAddress& destination,
                                std::span<const std::byte> udp) noexcept {
  std::uint32_t sum = ones_complement_sum(source.view());
  sum = ones_complement_sum(destination.view(), sum);
  const auto length = static_cast<std::uint32_t>(udp.size());
  sum += (length >> 16) + (length & 0xffff) + kProtoUdp;
  sum = ones_complement_sum(udp, sum);
  const auto checksum = static_cast<std::uint16_t>(~sum & 0xffff);
  return checksum == 0 ? 0xffff : checksum;  // RFC 8200 8.1: zero is sent as all ones
}

std::uint16_t transport_checksum(const IpAddress& source, const IpAddress& destination, std::uint8_t protocol,
                                 std::span<const std::byte> segment) noexcept {
  const std::size_t field = protocol == kProtoTcp ? kTcpChecksumOffset : kUdpChecksumOffset;
  if (segment.size() < field + 2) return 0;
  // Pseudo-header: addresses, the segment length (32 bits for IPv6, 16 for IPv4: the same sum),
  // the protocol; then the segment with its checksum field skipped (both offsets are even, so the
  // two parts stay 16-bit aligned).
  std::uint32_t sum = ones_complement_sum(source.view());
  sum = ones_complement_sum(destination.view(), sum);
  const auto length = static_cast<std::uint32_t>(segment.size());
  sum += (length >> 16) + (length & 0xffff) + protocol;
  sum = ones_complement_sum(segment.first(field), sum);
  sum = ones_complement_sum(segment.subspan(field + 2), sum);
  const auto checksum = static_cast<std::uint16_t>(~sum & 0xffff);
  return protocol == kProtoUdp && checksum == 0 ? 0xffff : checksum;  // RFC 768: zero means none
}

ChecksumRefresh refresh_transport_checksum(ByteWriter& writer, const IpPacketInfo& info,
                                           std::uint8_t protocol) noexcept {
  if (protocol != kProtoTcp && protocol != kProtoUdp) return ChecksumRefresh::NotApplicable;
  if (info.version == IpVersion::V6 && info.has_options) return ChecksumRefresh::NotApplicable;
  const std::span<std::byte> packet = writer.written();
  if (packet.size() < info.header_length) return ChecksumRefresh::NotApplicable;
  std::span<const std::byte> segment = std::span<const std::byte>(packet).subspan(info.header_length);
  const std::size_t field = protocol == kProtoTcp ? kTcpChecksumOffset : kUdpChecksumOffset;
  if (protocol == kProtoTcp) {
    if (segment.size() < kTcpMinHeaderLength) return ChecksumRefresh::NotApplicable;
  } else {
    ByteReader reader(segment, "UDP header", info.header_length);
    auto ports = reader.u32_be("ports");
    auto length = reader.u16_be("length");
    auto checksum = reader.u16_be("checksum");
    if (failed(ports) || failed(length) || failed(checksum)) return ChecksumRefresh::NotApplicable;
    // The receiving stack trims to the UDP length and drops what claims more than it has.
    if (*length < kUdpHeaderLength || *length > segment.size()) return ChecksumRefresh::NotApplicable;
    if (*checksum == 0 && info.version == IpVersion::V4) return ChecksumRefresh::ZeroUdpIpv4;
    segment = segment.first(*length);
  }
  writer.patch_u16_be(info.header_length + field,
                      transport_checksum(info.source, info.destination, protocol, segment));
  return ChecksumRefresh::Recomputed;
}

}  // namespace ward::driver::crypto
