#include "driver/nfqueue/gso_segments.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/ip_protocol.h"
#include "driver/crypto/constants.h"
#include "driver/crypto/ip_packet.h"
#include "driver/packet/packet_bytes.h"

namespace ward::driver {

namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;

using packet_bytes::be16;
using packet_bytes::be32;
using packet_bytes::put16;
using packet_bytes::u8;
using packet_bytes::put32;

struct Layout {
  bool v4 = true;
  std::size_t ip_header = 0;
  std::size_t total = 0;  // from the IP header
  std::uint8_t protocol = 0;
  bool later_fragment = false;
  crypto::IpAddress source, destination;
};

bool parse(std::span<const std::byte> p, Layout& l) {
  if (p.empty()) return false;
  const unsigned version = u8(p, 0) >> 4;
  if (version == 4) {
    if (p.size() < 20) return false;
    l.v4 = true;
    l.ip_header = std::size_t{u8(p, 0) & 0x0FU} * 4;
    l.total = be16(p, 2);
    l.protocol = u8(p, 9);
    l.later_fragment = (be16(p, 6) & 0x1FFF) != 0;
    l.source = *crypto::IpAddress::from_bytes(p.subspan(12, 4));
    l.destination = *crypto::IpAddress::from_bytes(p.subspan(16, 4));
  } else if (version == 6) {
    if (p.size() < crypto::kIpv6HeaderLength) return false;
    l.v4 = false;
    l.ip_header = crypto::kIpv6HeaderLength;
    l.total = crypto::kIpv6HeaderLength + be16(p, 4);
    l.protocol = u8(p, 6);  // no extension headers: the kernel's GSO packets from TCP have none
    l.source = *crypto::IpAddress::from_bytes(p.subspan(8, 16));
    l.destination = *crypto::IpAddress::from_bytes(p.subspan(24, 16));
  } else {
    return false;
  }
  return l.ip_header >= 20 && l.total >= l.ip_header && l.total <= p.size();
}

void set_transport_checksum(std::span<std::byte> packet, const Layout& l, std::size_t checksum_offset) {
  const auto segment = packet.subspan(l.ip_header, l.total - l.ip_header);
  put16(segment, checksum_offset, crypto::transport_checksum(l.source, l.destination, l.protocol, segment));
}

}  // namespace

bool complete_transport_checksum(std::span<std::byte> packet) noexcept {
  Layout l;
  if (!parse(packet, l)) return false;
  if (l.later_fragment || (l.protocol != kTcp && l.protocol != kUdp)) return true;
  const std::size_t header = l.protocol == kTcp ? 20 : 8;
  if (l.total - l.ip_header < header) return false;
  set_transport_checksum(packet, l, l.protocol == kTcp ? 16 : 6);
  return true;
}

Expected<void, std::string> segment_tcp(std::span<const std::byte> packet, std::size_t mss, TcpSegments& out) {
  out.count = 0;
  return append_tcp_segments(packet, mss, out);
}

Expected<void, std::string> append_tcp_segments(std::span<const std::byte> packet, std::size_t mss, TcpSegments& out) {
  const std::size_t first = out.count;
  Layout l;
  if (!parse(packet, l)) return unexpected(std::string("not an IP packet"));
  if (l.protocol != kTcp) return unexpected("not TCP (protocol " + std::to_string(l.protocol) + ")");
  if (l.later_fragment) return unexpected(std::string("a fragment"));
  if (l.total - l.ip_header < 20) return unexpected(std::string("TCP header truncated"));
  const std::size_t tcp_header = static_cast<std::size_t>(u8(packet, l.ip_header + 12) >> 4) * 4;
  if (tcp_header < 20 || l.ip_header + tcp_header > l.total) return unexpected(std::string("bad TCP data offset"));
  const std::size_t options = tcp_header - 20;
  if (mss <= options) return unexpected("TCP options (" + std::to_string(options) + " bytes) leave no room under MSS " + std::to_string(mss));
  const std::size_t max_payload = mss - options;
  const std::size_t headers = l.ip_header + tcp_header;
  const std::size_t payload = l.total - headers;
  const std::size_t count = std::max<std::size_t>(1, (payload + max_payload - 1) / max_payload);
  if (out.buffers.size() < first + count) out.buffers.resize(first + count);
  const std::uint32_t sequence = be32(packet, l.ip_header + 4);
  const std::uint8_t flags = u8(packet, l.ip_header + 13);
  const std::uint16_t identification = l.v4 ? be16(packet, 4) : 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t offset = i * max_payload;
    const std::size_t length = std::min(max_payload, payload - std::min(payload, offset));
    auto& buffer = out.buffers[first + i];
    buffer.resize(headers + length);
    std::memcpy(buffer.data(), packet.data(), headers);
    if (length > 0) std::memcpy(buffer.data() + headers, packet.data() + headers + offset, length);
    const std::span<std::byte> segment(buffer);
    Layout sl = l;
    sl.total = headers + length;
    if (l.v4) {
      put16(segment, 2, static_cast<std::uint16_t>(sl.total));
      put16(segment, 4, static_cast<std::uint16_t>(identification + i));
      put16(segment, 10, 0);
      put16(segment, 10, crypto::internet_checksum(segment.first(l.ip_header)));
    } else {
      put16(segment, 4, static_cast<std::uint16_t>(sl.total - crypto::kIpv6HeaderLength));
    }
    put32(segment, l.ip_header + 4, static_cast<std::uint32_t>(sequence + offset));
    std::uint8_t segment_flags = flags;
    if (i + 1 < count) segment_flags = static_cast<std::uint8_t>(segment_flags & ~(tcp_flag::kFin | tcp_flag::kPsh));
    if (i > 0) segment_flags = static_cast<std::uint8_t>(segment_flags & ~tcp_flag::kCwr);
    segment[l.ip_header + 13] = std::byte(segment_flags);
    set_transport_checksum(segment, sl, 16);
  }
  out.count = first + count;
  return {};
}

}  // namespace ward::driver
