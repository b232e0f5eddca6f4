#include "driver/nfqueue/udp_gso.h"

#include <algorithm>
#include <cstring>

#include "common/ip_protocol.h"
#include "driver/crypto/ip_packet.h"
#include "driver/packet/packet_bytes.h"

namespace ward::driver {

namespace {

using namespace packet_bytes;

constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kUdpHeader = 8;

std::string at(const char* what, std::size_t offset) { return std::string(what) + " (byte " + std::to_string(offset) + ")"; }

}  // namespace

bool plain_ipv4_udp(std::span<const std::byte> packet) noexcept {
  if (packet.size() < kIpv4Header + kUdpHeader || u8(packet, 0) != 0x45 || u8(packet, 9) != ip_proto::kUdp) return false;
  if ((be16(packet, 6) & 0x3FFF) != 0) return false;  // MF or an offset: a fragment
  return be16(packet, 2) == packet.size() && be16(packet, kIpv4Header + 4) == packet.size() - kIpv4Header;
}

bool plain_ipv6_udp(std::span<const std::byte> packet) noexcept {
  if (packet.size() < kIpv6Header + kUdpHeader || (u8(packet, 0) >> 4) != 6 || u8(packet, 6) != ip_proto::kUdp) return false;
  return be16(packet, 4) == packet.size() - kIpv6Header && be16(packet, kIpv6Header + 4) == packet.size() - kIpv6Header;
}

bool plain_udp(std::span<const std::byte> packet) noexcept { return plain_ipv4_udp(packet) || plain_ipv6_udp(packet); }

std::size_t udp_gso_run(std::span<const std::span<const std::byte>> packets, std::size_t first) noexcept {
  const auto head = packets[first];
  const bool v6 = (u8(head, 0) >> 4) == 6;
  const std::size_t header = v6 ? kIpv6Header : kIpv4Header;
  const std::size_t size = head.size() - header - kUdpHeader;
  const auto same_flow = [&](std::span<const std::byte> p) {
    if (v6) {
      // Version, traffic class and flow label; hop limit; addresses and ports.
      return plain_ipv6_udp(p) && std::memcmp(p.data(), head.data(), 4) == 0 && p[7] == head[7] &&
             std::memcmp(p.data() + 8, head.data() + 8, 36) == 0;
    }
    return plain_ipv4_udp(p) && p[1] == head[1] && p[8] == head[8] &&
           std::memcmp(p.data() + 12, head.data() + 12, 12) == 0;  // TOS, TTL, addresses, ports
  };
  std::size_t total = size;
  std::size_t end = first + 1;
  if (size == 0) return 1;
  while (end < packets.size() && end - first < kUdpGsoMaxSegments) {
    const auto p = packets[end];
    if (!same_flow(p)) break;
    const std::size_t payload = p.size() - header - kUdpHeader;
    if (payload > size || payload == 0 || total + payload > kUdpGsoMaxPayload) break;
    total += payload;
    ++end;
    if (payload < size) break;  // a shorter one ends the run
  }
  return end - first;
}

Expected<void, std::string> append_udp_datagrams(std::span<const std::byte> superpacket, std::size_t segment_size,
                                                 std::vector<std::byte>& scratch,
                                                 std::vector<std::pair<std::size_t, std::size_t>>& pieces) {
  if (superpacket.empty()) return unexpected(std::string("empty superpacket"));
  if (segment_size == 0) return unexpected(std::string("segment size 0"));
  const unsigned version = u8(superpacket, 0) >> 4;
  std::size_t header = 0;
  std::size_t total = 0;
  if (version == 4) {
    if (superpacket.size() < kIpv4Header) return unexpected(at("IPv4 header truncated", superpacket.size()));
    header = std::size_t{u8(superpacket, 0) & 0x0Fu} * 4;
    if (header < kIpv4Header || superpacket.size() < header) return unexpected(at("bad IPv4 header length", 0));
    if (u8(superpacket, 9) != ip_proto::kUdp) return unexpected(at("not UDP", 9));
    if ((be16(superpacket, 6) & 0x3FFF) != 0) return unexpected(at("a fragment", 6));
    total = be16(superpacket, 2);
  } else if (version == 6) {
    header = kIpv6Header;
    if (superpacket.size() < header) return unexpected(at("IPv6 header truncated", superpacket.size()));
    if (u8(superpacket, 6) != ip_proto::kUdp) return unexpected(at("next header not UDP", 6));
    total = kIpv6Header + be16(superpacket, 4);
  } else {
    return unexpected(at("not IPv4 or IPv6", 0));
  }
  if (total > superpacket.size()) return unexpected(at("length beyond the frame", version == 4 ? 2 : 4));
  if (total < header + kUdpHeader + 1) return unexpected(at("no UDP payload", header));
  const std::size_t payload = total - header - kUdpHeader;
  const std::size_t count = (payload + segment_size - 1) / segment_size;
  // Appended with insert, not resize and memcpy: resize would zero every byte first (~64 KiB per
  // frame, ~1 % of the fast path's samples) only for the copies to overwrite them. Grown
  // geometrically: a block's frames append one after another.
  const std::size_t needed = scratch.size() + count * (header + kUdpHeader) + payload;
  if (scratch.capacity() < needed) scratch.reserve(std::max(needed, 2 * scratch.capacity()));
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t from = header + kUdpHeader + i * segment_size;
    const std::size_t n = std::min(segment_size, payload - i * segment_size);
    const std::size_t length = header + kUdpHeader + n;
    const std::size_t write = scratch.size();
    scratch.insert(scratch.end(), superpacket.begin(), superpacket.begin() + static_cast<std::ptrdiff_t>(header + kUdpHeader));
    scratch.insert(scratch.end(), superpacket.begin() + static_cast<std::ptrdiff_t>(from),
                   superpacket.begin() + static_cast<std::ptrdiff_t>(from + n));
    const std::span<std::byte> out(scratch.data() + write, length);
    if (version == 4) {
      put16(out, 2, static_cast<std::uint16_t>(length));
      put16(out, 10, 0);
      put16(out, 10, crypto::internet_checksum(out.first(header)));
    } else {
      put16(out, 4, static_cast<std::uint16_t>(length - kIpv6Header));
    }
    put16(out, header + 4, static_cast<std::uint16_t>(kUdpHeader + n));
    put16(out, header + 6, 0);
    pieces.emplace_back(write, length);
  }
  return {};
}

}  // namespace ward::driver
