// UDP GSO for ESP in UDP (udp_gso.h): which of RawSender's packets go out as one UDP_SEGMENT send,
// and how the ring cuts a GSO frame back into the datagrams the peer sent.
#include "driver/nfqueue/udp_gso.h"

#include <cstring>

#include <gtest/gtest.h>

#include "driver/crypto/ip_packet.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::driver::udp_gso_test {
namespace {

std::uint16_t be16(std::span<const std::byte> p, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[at]) << 8) | std::to_integer<unsigned>(p[at + 1]));
}
void put16(std::vector<std::byte>& p, std::size_t at, std::size_t v) {
  p[at] = std::byte((v >> 8) & 0xFF);
  p[at + 1] = std::byte(v & 0xFF);
}

// An IPv4 (or IPv6) packet 10.1.0.1:4500 -> 10.1.0.2:4500 (fd00::1 -> fd00::2) whose UDP payload is
// `payload` bytes counting up from `first_byte` (starting with a non-zero SPI), with a valid IPv4
// header checksum; `lengths` false leaves the IP and UDP lengths at `length_override`.
std::vector<std::byte> udp_packet(bool v4, std::size_t payload, std::uint8_t first_byte = 1, std::uint16_t source_port = 4500) {
  const std::size_t ip = v4 ? 20 : 40;
  std::vector<std::byte> p(ip + 8 + payload);
  if (v4) {
    p[0] = std::byte{0x45};
    put16(p, 2, p.size());
    put16(p, 4, 0x1234);
    put16(p, 6, 0x4000);
    p[8] = std::byte{64};
    p[9] = std::byte{17};
    const std::uint8_t addresses[] = {10, 1, 0, 1, 10, 1, 0, 2};
    std::memcpy(p.data() + 12, addresses, 8);
    put16(p, 10, crypto::internet_checksum(std::span(p).first(20)));
  } else {
    p[0] = std::byte{0x60};
    put16(p, 4, p.size() - 40);
    p[6] = std::byte{17};
    p[7] = std::byte{64};
    p[8] = std::byte{0xfd};
    p[23] = std::byte{1};
    p[24] = std::byte{0xfd};
    p[39] = std::byte{2};
  }
  put16(p, ip, source_port);
  put16(p, ip + 2, 4500);
  put16(p, ip + 4, 8 + payload);
  for (std::size_t i = 0; i < payload; ++i) p[ip + 8 + i] = std::byte(static_cast<std::uint8_t>(first_byte + i));
  return p;
}

// What a GSO skb of these datagrams carries: the first one's headers over all their payloads, the
// lengths those of the whole (as udp_send_skb writes them).
std::vector<std::byte> superpacket(const std::vector<std::vector<std::byte>>& datagrams, bool v4) {
  const std::size_t headers = (v4 ? 20 : 40) + 8;
  std::vector<std::byte> out(datagrams[0].begin(), datagrams[0].begin() + static_cast<std::ptrdiff_t>(headers));
  for (const auto& d : datagrams) out.insert(out.end(), d.begin() + static_cast<std::ptrdiff_t>(headers), d.end());
  if (v4) {
    put16(out, 2, out.size());
  } else {
    put16(out, 4, out.size() - 40);
  }
  put16(out, headers - 4, out.size() - headers + 8);
  return out;
}

std::vector<std::span<const std::byte>> spans(const std::vector<std::vector<std::byte>>& packets) {
  return {packets.begin(), packets.end()};
}

TEST(UdpGso, AGsoFrameIsCutBackIntoTheDatagramsThePeerSent) {
  for (const bool v4 : {true, false}) {
    SCOPED_TRACE(v4 ? "IPv4" : "IPv6");
    std::vector<std::vector<std::byte>> sent;
    for (std::uint8_t i = 0; i < 5; ++i) sent.push_back(udp_packet(v4, i < 4 ? 1400 : 333, static_cast<std::uint8_t>(i * 7 + 1)));
    std::vector<std::byte> scratch(17, std::byte{0xEE});  // what an earlier frame left there stays
    std::vector<std::pair<std::size_t, std::size_t>> pieces;
    ASSERT_TRUE(append_udp_datagrams(superpacket(sent, v4), 1400, scratch, pieces));
    ASSERT_EQ(pieces.size(), sent.size());
    EXPECT_EQ(scratch[16], std::byte{0xEE});
    const std::size_t ip = v4 ? 20 : 40;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      const std::span<const std::byte> got(scratch.data() + pieces[i].first, pieces[i].second);
      ASSERT_EQ(got.size(), sent[i].size()) << i;
      if (v4) {
        EXPECT_EQ(crypto::internet_checksum(got.first(20)), 0) << "IPv4 header checksum of datagram " << i;
        EXPECT_EQ(be16(got, 2), sent[i].size());
      } else {
        EXPECT_EQ(be16(got, 4), sent[i].size() - 40);
      }
      EXPECT_EQ(be16(got, ip + 4), sent[i].size() - ip) << "UDP length";
      EXPECT_EQ(be16(got, ip + 6), 0) << "UDP checksum: zero, not checked for ESP in UDP";
      // Everything else as sent: addresses, ports, payload.
      std::vector<std::byte> expected = sent[i];
      std::vector<std::byte> actual(got.begin(), got.end());
      for (auto* p : {&expected, &actual}) (*p)[ip + 6] = (*p)[ip + 7] = std::byte{0};
      EXPECT_EQ(actual, expected) << "datagram " << i;
    }
  }
}

TEST(UdpGso, AMalformedFrameIsRefusedNamingWhereAndLeavesTheOutputAlone) {
  std::vector<std::vector<std::byte>> sent{udp_packet(true, 100), udp_packet(true, 100)};
  const auto good = superpacket(sent, true);
  std::vector<std::byte> scratch;
  std::vector<std::pair<std::size_t, std::size_t>> pieces;
  const auto refused = [&](std::span<const std::byte> frame, std::size_t segment, const std::string& why) {
    auto result = append_udp_datagrams(frame, segment, scratch, pieces);
    ASSERT_FALSE(result) << why;
    EXPECT_NE(result.error().find(why), std::string::npos) << result.error();
    EXPECT_TRUE(scratch.empty());
    EXPECT_TRUE(pieces.empty());
  };
  refused({}, 100, "empty");
  refused(good, 0, "segment size 0");
  refused(std::span(good).first(12), 100, "IPv4 header truncated (byte 12)");
  refused(std::span(good).first(150), 100, "length beyond the frame (byte 2)");
  auto tcp = good;
  tcp[9] = std::byte{6};
  refused(tcp, 100, "not UDP (byte 9)");
  auto fragment = good;
  fragment[6] = std::byte{0x20};  // MF
  refused(fragment, 100, "a fragment (byte 6)");
  auto short_header = good;
  short_header[0] = std::byte{0x44};
  refused(short_header, 100, "bad IPv4 header length");
  auto no_payload = udp_packet(true, 0);
  refused(no_payload, 100, "no UDP payload (byte 20)");
  auto v5 = good;
  v5[0] = std::byte{0x55};
  refused(v5, 100, "not IPv4 or IPv6 (byte 0)");
  auto v6 = udp_packet(false, 10);
  v6[6] = std::byte{50};
  refused(v6, 100, "next header not UDP (byte 6)");
}

TEST(UdpGso, ARunIsOneFlowOfEqualDatagramsEndedByAShorterOne) {
  std::vector<std::vector<std::byte>> packets;
  for (int i = 0; i < 3; ++i) packets.push_back(udp_packet(true, 1400));
  packets.push_back(udp_packet(true, 200));   // the superpacket's last: ends the run
  packets.push_back(udp_packet(true, 1400));  // the next superpacket
  packets.push_back(udp_packet(true, 1400));
  packets.push_back(udp_packet(true, 1500));  // longer: a run of its own
  packets.push_back(udp_packet(true, 1500, 1, 4501));  // another source port
  const auto all = spans(packets);
  EXPECT_EQ(udp_gso_run(all, 0), 4u);
  EXPECT_EQ(udp_gso_run(all, 4), 2u);
  EXPECT_EQ(udp_gso_run(all, 6), 1u);
  EXPECT_EQ(udp_gso_run(all, 7), 1u);

  auto other_tos = udp_packet(true, 1400);
  other_tos[1] = std::byte{0x10};
  auto not_udp = udp_packet(true, 1400);
  not_udp[9] = std::byte{50};
  for (const auto& odd : {other_tos, not_udp}) {
    std::vector<std::vector<std::byte>> mixed{udp_packet(true, 1400), odd, udp_packet(true, 1400)};
    EXPECT_EQ(udp_gso_run(spans(mixed), 0), 1u);
  }
}

TEST(UdpGso, ARunStaysWithinTheKernelsLimits) {
  std::vector<std::vector<std::byte>> small(kUdpGsoMaxSegments + 10, udp_packet(true, 100));
  EXPECT_EQ(udp_gso_run(spans(small), 0), kUdpGsoMaxSegments);
  std::vector<std::vector<std::byte>> large(60, udp_packet(true, 1400));
  const std::size_t run = udp_gso_run(spans(large), 0);
  EXPECT_EQ(run, kUdpGsoMaxPayload / 1400);
  EXPECT_LE(run * 1408, kUdpGsoMaxPayload + 8);
}

TEST(UdpGso, OnlyPlainIpv4UdpPacketsAreSentFromAUdpSocket) {
  EXPECT_TRUE(plain_ipv4_udp(udp_packet(true, 10)));
  EXPECT_FALSE(plain_ipv4_udp(udp_packet(false, 10)));
  auto options = udp_packet(true, 10);
  options[0] = std::byte{0x46};
  EXPECT_FALSE(plain_ipv4_udp(options));
  auto fragment = udp_packet(true, 10);
  fragment[7] = std::byte{1};
  EXPECT_FALSE(plain_ipv4_udp(fragment));
  auto wrong_length = udp_packet(true, 10);
  put16(wrong_length, 24, 9);
  EXPECT_FALSE(plain_ipv4_udp(wrong_length));
}

TEST(UdpGso, AnIpv6RunIsOneFlowOfEqualDatagramsToo) {
  std::vector<std::vector<std::byte>> packets;
  for (int i = 0; i < 3; ++i) packets.push_back(udp_packet(false, 1400));
  packets.push_back(udp_packet(false, 200));   // ends the run
  packets.push_back(udp_packet(false, 1400));
  packets.push_back(udp_packet(true, 1400));   // IPv4 between: a run of its own
  packets.push_back(udp_packet(false, 1400, 1, 4501));
  const auto all = spans(packets);
  EXPECT_EQ(udp_gso_run(all, 0), 4u);
  EXPECT_EQ(udp_gso_run(all, 4), 1u);
  EXPECT_EQ(udp_gso_run(all, 5), 1u);

  auto other_class = udp_packet(false, 1400);
  other_class[1] = std::byte{0x20};
  auto other_label = udp_packet(false, 1400);
  other_label[3] = std::byte{7};
  auto other_hop_limit = udp_packet(false, 1400);
  other_hop_limit[7] = std::byte{3};
  auto other_destination = udp_packet(false, 1400);
  other_destination[39] = std::byte{3};
  auto extension_header = udp_packet(false, 1400);
  extension_header[6] = std::byte{0};
  for (const auto& odd : {other_class, other_label, other_hop_limit, other_destination, extension_header}) {
    std::vector<std::vector<std::byte>> mixed{udp_packet(false, 1400), odd, udp_packet(false, 1400)};
    EXPECT_EQ(udp_gso_run(spans(mixed), 0), 1u);
  }
  std::vector<std::vector<std::byte>> small(kUdpGsoMaxSegments + 10, udp_packet(false, 100));
  EXPECT_EQ(udp_gso_run(spans(small), 0), kUdpGsoMaxSegments);
}

TEST(UdpGso, OnlyIpv6UdpRightAfterTheFixedHeaderWithMatchingLengthsIsPlain) {
  EXPECT_TRUE(plain_ipv6_udp(udp_packet(false, 10)));
  EXPECT_TRUE(plain_udp(udp_packet(false, 10)));
  EXPECT_TRUE(plain_udp(udp_packet(true, 10)));
  EXPECT_FALSE(plain_ipv6_udp(udp_packet(true, 10)));
  auto extension_header = udp_packet(false, 10);
  extension_header[6] = std::byte{0};
  EXPECT_FALSE(plain_ipv6_udp(extension_header));
  auto wrong_payload_length = udp_packet(false, 10);
  put16(wrong_payload_length, 4, 17);
  EXPECT_FALSE(plain_ipv6_udp(wrong_payload_length));
  auto wrong_udp_length = udp_packet(false, 10);
  put16(wrong_udp_length, 44, 17);
  EXPECT_FALSE(plain_ipv6_udp(wrong_udp_length));
  EXPECT_FALSE(plain_udp(std::vector<std::byte>(47)));
}

}  // namespace
}  // namespace ward::driver::udp_gso_test
