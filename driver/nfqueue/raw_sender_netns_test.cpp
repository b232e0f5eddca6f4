// RawSender on a real veth pair: an IPv4 ESP packet leaves through the IPPROTO_ESP socket with the
// kernel writing its header from Ward's source, TOS and TTL; one with IP options (which the kernel
// would not write) keeps Ward's header through IPPROTO_RAW; a source that is not this host's is
// refused and counted, not sent. ESP in UDP goes as one UDP_SEGMENT send through the socket
// handed over for its port, or per packet where there is none and the port is taken.
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <linux/if_packet.h>  // not <netpacket/packet.h>: esp_ring.h, beside it in a unity batch, has this one
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "driver/crypto/ip_packet.h"
#include "driver/nfqueue/raw_sender.h"
#include "tests/netns/netns.h"

namespace ward::driver {
namespace {

using ward::testing::Netns;

// An IPv4 ESP packet 10.20.3.<from> -> 10.20.3.2 with `options` bytes of NOP options, TOS 0xB8,
// TTL 17, DF, SPI 0x01020304 and 40 payload bytes counting up.
std::vector<std::byte> esp_packet(std::uint8_t from, std::size_t options = 0) {
  const std::size_t header = 20 + options;
  std::vector<std::byte> p(header + 48);
  p[0] = std::byte(0x40 | (header / 4));
  p[1] = std::byte{0xB8};
  p[2] = std::byte((p.size() >> 8) & 0xFF);
  p[3] = std::byte(p.size() & 0xFF);
  p[4] = std::byte{0x12};
  p[5] = std::byte{0x34};
  p[6] = std::byte{0x40};  // DF
  p[8] = std::byte{17};
  p[9] = std::byte{50};
  const std::uint8_t addresses[] = {10, 20, 3, from, 10, 20, 3, 2};
  std::memcpy(p.data() + 12, addresses, 8);
  for (std::size_t i = 20; i < header; ++i) p[i] = std::byte{1};  // NOP
  const std::uint8_t spi_sequence[] = {1, 2, 3, 4, 0, 0, 0, 1};
  std::memcpy(p.data() + header, spi_sequence, 8);
  for (std::size_t i = 0; i < 40; ++i) p[header + 8 + i] = std::byte(i);
  const auto checksum = crypto::internet_checksum(std::span(p).first(header));
  p[10] = std::byte(checksum >> 8);
  p[11] = std::byte(checksum & 0xFF);
  return p;
}

TEST(RawSenderNetns, EspLeavesWithWardsSourceTosAndTtlAndOptionsKeepTheirHeader) {
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  Netns a("raw-a");
  Netns b("raw-b");
  ward::testing::connect_veth(a, "10.20.3.1/24", b, "10.20.3.2/24");
  int capture = -1;
  b.run_inside([&] { capture = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP)); });
  ASSERT_GE(capture, 0) << std::strerror(errno);
  const timeval timeout{0, 500000};  // after the last packet: long enough for a third to show up
  ASSERT_EQ(setsockopt(capture, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);

  const auto plain = esp_packet(1);
  const auto with_options = esp_packet(1, 4);
  const auto foreign_source = esp_packet(99);
  std::size_t refused = 0;
  a.run_inside([&] {
    auto sender = RawSender::open();
    ASSERT_TRUE(sender.has_value()) << sender.error();
    sender->queue(foreign_source);
    sender->queue(plain);
    sender->queue(with_options);
    refused = sender->flush();
  });
  EXPECT_EQ(refused, 1U) << "the packet from 10.20.3.99 (not A's address) must be refused";

  std::vector<std::vector<std::byte>> arrived;
  std::vector<std::byte> buffer(2048);
  while (arrived.size() < 3) {
    const ssize_t length = recv(capture, buffer.data(), buffer.size(), 0);
    if (length < 0) break;  // the timeout: nothing more came
    if (length >= 20 && buffer[9] == std::byte{50}) arrived.emplace_back(buffer.begin(), buffer.begin() + length);
  }
  close(capture);
  ASSERT_EQ(arrived.size(), 2U) << "the two packets from A's address, and not the foreign one";

  const auto& first = arrived[0];
  ASSERT_EQ(first.size(), plain.size());
  EXPECT_EQ(first[0], std::byte{0x45});
  EXPECT_EQ(first[1], std::byte{0xB8}) << "TOS";
  EXPECT_EQ(first[8], std::byte{17}) << "TTL";
  EXPECT_EQ(std::memcmp(first.data() + 12, plain.data() + 12, 8), 0) << "addresses";
  EXPECT_EQ(crypto::internet_checksum(std::span(first).first(20)), 0) << "header checksum";
  EXPECT_EQ(std::memcmp(first.data() + 20, plain.data() + 20, plain.size() - 20), 0) << "the ESP part, byte for byte";

  const auto& second = arrived[1];
  ASSERT_EQ(second.size(), with_options.size());
  EXPECT_EQ(second[0], std::byte{0x46}) << "the options stayed";
  EXPECT_EQ(std::memcmp(second.data() + 12, with_options.data() + 12, with_options.size() - 12), 0);
}

// An IPv4 ESP-in-UDP packet 10.20.3.1:4500 -> 10.20.3.2:4500, TOS 0x28, TTL 33, DF, SPI
// 0x01020304, `payload` bytes of ESP in all.
std::vector<std::byte> esp_in_udp_packet(std::size_t payload) {
  std::vector<std::byte> p(28 + payload);
  const auto put16 = [&](std::size_t at, std::size_t v) {
    p[at] = std::byte((v >> 8) & 0xFF);
    p[at + 1] = std::byte(v & 0xFF);
  };
  p[0] = std::byte{0x45};
  p[1] = std::byte{0x28};
  put16(2, p.size());
  p[6] = std::byte{0x40};
  p[8] = std::byte{33};
  p[9] = std::byte{17};
  const std::uint8_t addresses[] = {10, 20, 3, 1, 10, 20, 3, 2};
  std::memcpy(p.data() + 12, addresses, 8);
  put16(20, 4500);
  put16(22, 4500);
  put16(24, 8 + payload);
  const std::uint8_t spi[] = {1, 2, 3, 4};
  std::memcpy(p.data() + 28, spi, 4);
  for (std::size_t i = 4; i < payload; ++i) p[28 + i] = std::byte(i & 0xFF);
  put16(10, crypto::internet_checksum(std::span(p).first(20)));
  return p;
}

TEST(RawSenderNetns, EspInUdpGoesAsOneUdpGsoSendThroughTheSocketOfItsPortOrPerPacket) {
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  Netns a("rawudp-a");
  Netns b("rawudp-b");
  ward::testing::connect_veth(a, "10.20.3.1/24", b, "10.20.3.2/24");
  int capture = -1;
  b.run_inside([&] { capture = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP)); });
  ASSERT_GE(capture, 0) << std::strerror(errno);
  const timeval timeout{0, 300000};
  ASSERT_EQ(setsockopt(capture, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);
  // What B's veth delivers (UDP to 4500), one frame per skb: a GSO skb stays one.
  const auto arrived = [&] {
    std::vector<std::vector<std::byte>> frames;
    std::vector<std::byte> buffer(1 << 17);
    for (;;) {
      const ssize_t length = recv(capture, buffer.data(), buffer.size(), 0);
      if (length < 0) break;
      if (length >= 28 && buffer[9] == std::byte{17} && buffer[23] == std::byte{4500 & 0xFF}) frames.emplace_back(buffer.begin(), buffer.begin() + length);
    }
    return frames;
  };
  std::vector<std::vector<std::byte>> packets{esp_in_udp_packet(1000), esp_in_udp_packet(1000), esp_in_udp_packet(1000),
                                              esp_in_udp_packet(1000), esp_in_udp_packet(300)};
  int ike = -1;  // A's IKE NAT-T socket: it holds 4500, so the sender cannot bind it itself
  a.run_inside([&] {
    ike = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in self{};
    self.sin_family = AF_INET;
    self.sin_port = htons(4500);
    inet_pton(AF_INET, "10.20.3.1", &self.sin_addr);
    ASSERT_EQ(bind(ike, reinterpret_cast<const sockaddr*>(&self), sizeof self), 0) << std::strerror(errno);
  });

  // Not handed over: per packet (IPPROTO_RAW), each datagram as it was.
  a.run_inside([&] {
    auto sender = RawSender::open();
    ASSERT_TRUE(sender.has_value()) << sender.error();
    for (const auto& p : packets) sender->queue(p);
    EXPECT_EQ(sender->flush(), 0U);
    EXPECT_EQ(sender->gso_sends(), 0U);
    EXPECT_NE(sender->udp_error().find("UDP port 4500"), std::string::npos) << sender->udp_error();
  });
  const auto one_by_one = arrived();
  ASSERT_EQ(one_by_one.size(), packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) EXPECT_EQ(one_by_one[i], packets[i]) << i;

  // Handed over: one UDP_SEGMENT send, one skb, with the sender's TOS, TTL and addresses and the
  // datagrams' payloads in order.
  a.run_inside([&] {
    auto sender = RawSender::open();
    ASSERT_TRUE(sender.has_value()) << sender.error();
    sender->adopt_udp_socket(ike);
    for (const auto& p : packets) sender->queue(p);
    EXPECT_EQ(sender->flush(), 0U);
    EXPECT_EQ(sender->gso_sends(), 1U);
    EXPECT_EQ(sender->gso_datagrams(), packets.size());
    EXPECT_TRUE(sender->udp_error().empty()) << sender->udp_error();
  });
  close(ike);
  const auto together = arrived();
  close(capture);
  ASSERT_EQ(together.size(), 1U) << "one GSO skb across the veth";
  const auto& frame = together[0];
  std::size_t payloads = 0;
  for (const auto& p : packets) payloads += p.size() - 28;
  ASSERT_EQ(frame.size(), 28 + payloads);
  EXPECT_EQ(frame[1], std::byte{0x28}) << "TOS";
  EXPECT_EQ(frame[8], std::byte{33}) << "TTL";
  EXPECT_EQ(std::memcmp(frame.data() + 12, packets[0].data() + 12, 12), 0) << "addresses and ports";
  std::size_t at = 28;
  for (const auto& p : packets) {
    EXPECT_EQ(std::memcmp(frame.data() + at, p.data() + 28, p.size() - 28), 0) << "payload at " << at;
    at += p.size() - 28;
  }
}

}  // namespace
}  // namespace ward::driver
