// The pieces of the nfqueue fast path that work on bytes: cutting a TCP superpacket into segments
// (gso_segments.h) and joining decrypted segments for the TUN device (tun_injector.h). A cut
// followed by a join must give back the superpacket.
#include <cstring>

#include <gtest/gtest.h>

#include "driver/crypto/ip_packet.h"
#include "driver/nfqueue/gso_segments.h"
#include "driver/nfqueue/tun_injector.h"

namespace ward::driver {
namespace {

constexpr std::size_t kVnet = 10;

std::uint16_t be16(std::span<const std::byte> p, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[at]) << 8) | std::to_integer<unsigned>(p[at + 1]));
}
std::uint32_t be32(std::span<const std::byte> p, std::size_t at) { return (std::uint32_t{be16(p, at)} << 16) | be16(p, at + 2); }

// A TCP packet: 10.1.0.1:40000 -> 10.1.0.2:5201 (or fd00::1 -> fd00::2), ACK (+ `extra_flags`),
// timestamps option (12 bytes), `payload` bytes counting up from `first_byte`, valid checksums.
std::vector<std::byte> tcp_packet(bool v4, std::uint32_t sequence, std::size_t payload, std::uint8_t extra_flags = 0, std::uint8_t first_byte = 0) {
  const std::size_t ip = v4 ? 20 : 40;
  const std::size_t tcp = 32;
  std::vector<std::byte> p(ip + tcp + payload);
  const auto put16 = [&](std::size_t at, std::uint16_t v) {
    p[at] = std::byte(v >> 8);
    p[at + 1] = std::byte(v & 0xFF);
  };
  if (v4) {
    p[0] = std::byte{0x45};
    put16(2, static_cast<std::uint16_t>(p.size()));
    put16(4, 0x100);
    put16(6, 0x4000);
    p[8] = std::byte{64};
    p[9] = std::byte{6};
    const std::uint8_t addresses[] = {10, 1, 0, 1, 10, 1, 0, 2};
    std::memcpy(p.data() + 12, addresses, 8);
    put16(10, crypto::internet_checksum(std::span(p).first(20)));
  } else {
    p[0] = std::byte{0x60};
    put16(4, static_cast<std::uint16_t>(p.size() - 40));
    p[6] = std::byte{6};
    p[7] = std::byte{64};
    p[8] = std::byte{0xfd};
    p[23] = std::byte{1};
    p[24] = std::byte{0xfd};
    p[39] = std::byte{2};
  }
  put16(ip, 40000);
  put16(ip + 2, 5201);
  for (int i = 0; i < 4; ++i) p[ip + 4 + i] = std::byte((sequence >> (24 - 8 * i)) & 0xFF);
  put16(ip + 8, 0x1234);
  p[ip + 12] = std::byte{0x80};  // 32-byte header
  p[ip + 13] = std::byte(0x10 | extra_flags);
  put16(ip + 14, 512);
  p[ip + 20] = std::byte{1};
  p[ip + 21] = std::byte{1};
  p[ip + 22] = std::byte{8};
  p[ip + 23] = std::byte{10};  // timestamps
  for (std::size_t i = 0; i < payload; ++i) p[ip + tcp + i] = std::byte(static_cast<std::uint8_t>(first_byte + i));
  EXPECT_TRUE(complete_transport_checksum(p));
  return p;
}

// What join_tcp_segments() has written to the device, each write as one buffer.
std::vector<std::vector<std::byte>> written(std::span<const std::span<const std::byte>> packets) {
  std::vector<TunPacket> writes;
  const std::size_t count = join_tcp_segments(packets, writes);
  std::vector<std::vector<std::byte>> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(writes[i].bytes());
  return out;
}

bool checksums_valid(std::span<const std::byte> p) {
  const bool v4 = (std::to_integer<unsigned>(p[0]) >> 4) == 4;
  const std::size_t ip = v4 ? 20 : 40;
  if (v4 && crypto::internet_checksum(p.first(20)) != 0) return false;
  const auto source = *crypto::IpAddress::from_bytes(p.subspan(v4 ? 12 : 8, v4 ? 4 : 16));
  const auto destination = *crypto::IpAddress::from_bytes(p.subspan(v4 ? 16 : 24, v4 ? 4 : 16));
  return crypto::transport_checksum(source, destination, 6, p.subspan(ip)) == be16(p, ip + 16);
}

class FastPath : public ::testing::TestWithParam<bool> {};

TEST_P(FastPath, ASuperpacketIsCutIntoSegmentsTheKernelWouldHaveMade) {
  const bool v4 = GetParam();
  const std::size_t ip = v4 ? 20 : 40;
  auto superpacket = tcp_packet(v4, 1000, 5000, 0x08 | 0x80);  // PSH and CWR
  TcpSegments segments;
  ASSERT_TRUE(segment_tcp(superpacket, 1360, segments).has_value());
  ASSERT_EQ(segments.count, 4U);  // 1348 payload bytes each (MSS 1360 minus 12 bytes of options)
  std::size_t offset = 0;
  for (std::size_t i = 0; i < segments.count; ++i) {
    const auto s = segments[i];
    const std::size_t payload = s.size() - ip - 32;
    EXPECT_EQ(payload, i < 3 ? 1348U : 5000U - 3 * 1348U);
    EXPECT_EQ(be32(s, ip + 4), 1000U + offset) << "segment " << i;
    EXPECT_EQ(std::memcmp(s.data() + ip + 32, superpacket.data() + ip + 32 + offset, payload), 0);
    const auto flags = std::to_integer<unsigned>(s[ip + 13]);
    EXPECT_EQ((flags & 0x08) != 0, i == 3) << "PSH only on the last";
    EXPECT_EQ((flags & 0x80) != 0, i == 0) << "CWR only on the first";
    EXPECT_TRUE(checksums_valid(s)) << "segment " << i;
    if (v4) {
      EXPECT_EQ(be16(s, 2), s.size());
      EXPECT_EQ(be16(s, 4), 0x100 + i);
    } else {
      EXPECT_EQ(be16(s, 4), s.size() - 40);
    }
    offset += payload;
  }
}

TEST_P(FastPath, SegmentsOfOneFlowAreJoinedBackIntoTheSuperpacket) {
  const bool v4 = GetParam();
  const std::size_t ip = v4 ? 20 : 40;
  const auto superpacket = tcp_packet(v4, 7, 4 * 1348);
  TcpSegments segments;
  ASSERT_TRUE(segment_tcp(superpacket, 1360, segments).has_value());
  std::vector<std::span<const std::byte>> spans;
  for (std::size_t i = 0; i < segments.count; ++i) spans.push_back(segments[i]);
  const auto out = written(spans);
  ASSERT_EQ(out.size(), 1U);
  const auto joined = std::span<const std::byte>(out[0]);
  EXPECT_EQ(std::to_integer<unsigned>(joined[1]), v4 ? 1U : 4U) << "GSO TCPv4 / TCPv6";
  EXPECT_EQ(std::to_integer<unsigned>(joined[0]), 1U) << "checksum left partial";
  const auto packet = joined.subspan(kVnet);
  ASSERT_EQ(packet.size(), superpacket.size());
  EXPECT_EQ(std::memcmp(packet.data() + ip + 32, superpacket.data() + ip + 32, 4 * 1348), 0);
  EXPECT_EQ(be32(packet, ip + 4), 7U);
  if (v4) {
    EXPECT_EQ(be16(packet, 2), superpacket.size());
    EXPECT_EQ(crypto::internet_checksum(packet.first(20)), 0);
  }
  std::uint16_t gso_size = 0;
  std::memcpy(&gso_size, joined.data() + 4, 2);
  EXPECT_EQ(gso_size, 1348);
}

TEST_P(FastPath, OnlyContiguousSegmentsOfOneFlowAreJoined) {
  const bool v4 = GetParam();
  const auto a = tcp_packet(v4, 100, 1000);
  const auto b = tcp_packet(v4, 1100, 1000);
  const auto gap = tcp_packet(v4, 5000, 1000);        // not contiguous: a new run
  const auto pushed = tcp_packet(v4, 6000, 1000, 0x08);  // PSH: joins, then ends the run
  const auto after = tcp_packet(v4, 7000, 1000);
  const auto syn = tcp_packet(v4, 8000, 0, 0x02);       // never joined
  const std::vector<std::span<const std::byte>> packets = {a, b, gap, pushed, after, syn};
  const auto out = written(packets);
  ASSERT_EQ(out.size(), 4U);  // a+b, gap+pushed, after, syn
  EXPECT_EQ(out[0].size(), kVnet + a.size() + 1000);
  EXPECT_EQ(out[1].size(), kVnet + gap.size() + 1000);
  EXPECT_EQ(out[2].size(), kVnet + after.size());
  // Single TCP packets go checksum-partial (a TUN write ignores DATA_VALID): the checksum field
  // holds the pseudo-header sum, and what the stack would complete from csum_start is the real one.
  const std::size_t ip = v4 ? 20 : 40;
  for (const auto& [written, original] : {std::pair{std::span<const std::byte>(out[2]), std::span<const std::byte>(after)},
                                          std::pair{std::span<const std::byte>(out[3]), std::span<const std::byte>(syn)}}) {
    EXPECT_EQ(std::to_integer<unsigned>(written[0]), 1U) << "VIRTIO_NET_HDR_F_NEEDS_CSUM";
    std::uint16_t csum_start = 0, csum_offset = 0;
    std::memcpy(&csum_start, written.data() + 6, 2);
    std::memcpy(&csum_offset, written.data() + 8, 2);
    EXPECT_EQ(csum_start, ip);
    EXPECT_EQ(csum_offset, 16);
    const auto packet = written.subspan(kVnet);
    ASSERT_EQ(packet.size(), original.size());
    EXPECT_EQ(std::memcmp(packet.data(), original.data(), ip + 16), 0) << "unchanged but for the checksum";
    EXPECT_EQ(std::memcmp(packet.data() + ip + 18, original.data() + ip + 18, original.size() - ip - 18), 0);
    const auto completed = static_cast<std::uint16_t>(~crypto::ones_complement_sum(packet.subspan(ip)) & 0xFFFF);
    EXPECT_EQ(completed, be16(original, ip + 16)) << "the stack's completion gives the packet's own checksum";
  }
}

TEST(FastPath, SinglePacketsAreChecksumPartialOnlyWhereTheyHaveAPseudoHeaderChecksum) {
  auto udp = tcp_packet(true, 1, 100);
  udp[9] = std::byte{17};  // UDP now: ports, length (garbage), checksum field at 6
  udp[20 + 6] = std::byte{0x12};
  auto zero_udp = udp;
  zero_udp[20 + 6] = zero_udp[20 + 7] = std::byte{0};  // IPv4 UDP without checksum: stays so
  auto icmp = tcp_packet(true, 1, 100);
  icmp[9] = std::byte{1};
  auto fragment = tcp_packet(true, 1, 100);
  fragment[6] = std::byte{0x20};  // more fragments
  const std::vector<std::span<const std::byte>> packets = {udp, zero_udp, icmp, fragment};
  const auto out = written(packets);
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(std::to_integer<unsigned>(out[0][0]), 1U);
  std::uint16_t csum_offset = 0;
  std::memcpy(&csum_offset, out[0].data() + 8, 2);
  EXPECT_EQ(csum_offset, 6);
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(std::to_integer<unsigned>(out[i][0]), 0U) << i;
    EXPECT_EQ(std::memcmp(out[i].data() + kVnet, packets[i].data(), packets[i].size()), 0) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FastPath, ::testing::Values(true, false), [](const ::testing::TestParamInfo<bool>& param) { return param.param ? "IPv4" : "IPv6"; });

TEST(FastPath, WhatIsNotTcpIsNotCut) {
  auto packet = tcp_packet(true, 1, 10);
  packet[9] = std::byte{17};
  TcpSegments segments;
  EXPECT_FALSE(segment_tcp(packet, 1360, segments).has_value());
  EXPECT_FALSE(segment_tcp(std::span(packet).first(10), 1360, segments).has_value());
}

}  // namespace
}  // namespace ward::driver
