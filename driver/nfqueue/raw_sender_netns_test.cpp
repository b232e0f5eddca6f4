// RawSender on a real veth pair: an IPv4 ESP packet leaves through the IPPROTO_ESP socket with the
// kernel writing its header from Ward's source, TOS and TTL; one with IP options (which the kernel
// would not write) keeps Ward's header through IPPROTO_RAW; a source that is not this host's is
// refused and counted, not sent.
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <netpacket/packet.h>
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

}  // namespace
}  // namespace ward::driver
