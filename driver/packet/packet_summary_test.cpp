#include "driver/packet/packet_summary.h"

#include <string>

#include <gtest/gtest.h>

#include "driver/packet/test_packets.h"

namespace ward::driver {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

TEST(PacketSummary, ReadsIpv4TcpPorts) {
  const auto packet = testing::make_packet(ip("10.20.1.10"), ip("10.20.2.30"), ip_proto::kTcp, 40000, 445);
  const auto summary = summarize_ip_packet(packet);
  ASSERT_TRUE(summary.has_value()) << summary.error().to_string();
  EXPECT_EQ(summary->source, ip("10.20.1.10"));
  EXPECT_EQ(summary->destination, ip("10.20.2.30"));
  EXPECT_EQ(summary->protocol, ip_proto::kTcp);
  EXPECT_EQ(summary->source_port, 40000);
  EXPECT_EQ(summary->destination_port, 445);
  EXPECT_EQ(summary->upper_layer_offset, 20u);
  EXPECT_EQ(summary->length, packet.size());
}

TEST(PacketSummary, ReadsTheEspSpiAndIpv6) {
  const auto packet = testing::make_packet(ip("2001:db8::1"), ip("2001:db8::2"), ip_proto::kEsp, 0, 0, 32, 0xC0FFEE01);
  const auto summary = summarize_ip_packet(packet);
  ASSERT_TRUE(summary.has_value()) << summary.error().to_string();
  EXPECT_EQ(summary->protocol, ip_proto::kEsp);
  EXPECT_EQ(summary->esp_spi, 0xC0FFEE01u);
  EXPECT_FALSE(summary->source_port.has_value());
  EXPECT_EQ(summary->upper_layer_offset, 40u);
}

TEST(PacketSummary, FollowsIpv6ExtensionHeadersAndFragments) {
  auto packet = testing::make_packet(ip("2001:db8::1"), ip("2001:db8::2"), ip_proto::kUdp, 53, 5353);
  // Insert a fragment header (first fragment, more fragments) in front of UDP.
  const std::vector<std::byte> fragment{std::byte{ip_proto::kUdp}, std::byte{0}, std::byte{0}, std::byte{1},
                                        std::byte{0},           std::byte{0}, std::byte{0}, std::byte{7}};
  packet.insert(packet.begin() + 40, fragment.begin(), fragment.end());
  packet[6] = std::byte{ip_proto::kFragment};
  const auto payload_length = static_cast<std::uint16_t>(packet.size() - 40);
  packet[4] = std::byte{static_cast<std::uint8_t>(payload_length >> 8)};
  packet[5] = std::byte{static_cast<std::uint8_t>(payload_length)};
  auto summary = summarize_ip_packet(packet);
  ASSERT_TRUE(summary.has_value()) << summary.error().to_string();
  EXPECT_EQ(summary->protocol, ip_proto::kUdp);
  EXPECT_EQ(summary->destination_port, 5353);
  EXPECT_FALSE(summary->later_fragment);

  packet[42] = std::byte{0x01};  // fragment offset 32: a later fragment has no UDP header
  summary = summarize_ip_packet(packet);
  ASSERT_TRUE(summary.has_value());
  EXPECT_TRUE(summary->later_fragment);
  EXPECT_FALSE(summary->destination_port.has_value());
}

TEST(PacketSummary, MalformedPacketsAreErrorsWithOffsets) {
  auto packet = testing::make_packet(ip("10.0.0.1"), ip("10.0.0.2"), ip_proto::kTcp, 1, 2, 0);
  EXPECT_FALSE(summarize_ip_packet({}).has_value());

  auto truncated = packet;
  truncated.resize(30);
  auto result = summarize_ip_packet(truncated);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().field, "total length");
  EXPECT_EQ(result.error().offset, 4u);

  auto short_ihl = packet;
  short_ihl[0] = std::byte{0x44};
  EXPECT_EQ(summarize_ip_packet(short_ihl).error().field, "IHL");

  auto bad_version = packet;
  bad_version[0] = std::byte{0x55};
  EXPECT_EQ(summarize_ip_packet(bad_version).error().message, "version 5 is neither 4 nor 6");

  // Total length that cuts the TCP header short.
  auto cut = packet;
  cut[2] = std::byte{0};
  cut[3] = std::byte{22};
  result = summarize_ip_packet(cut);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().field, "destination port");
  EXPECT_EQ(result.error().offset, 22u);
}

// summarize_ip_packet reads a well-formed IPv4 header at fixed offsets; whatever it takes or
// refuses, the checked reader must take with the same fields or refuse with the same error.
// Returns what differs ("" when nothing does).
std::string difference_from_checked(std::span<const std::byte> packet) {
  const auto fast = summarize_ip_packet(packet);
  const auto checked = summarize_ip_packet_checked(packet);
  if (fast.has_value() != checked.has_value()) return fast.has_value() ? "only the checked reader refused" : "only the fast path refused";
  if (!fast.has_value()) {
    return fast.error().to_string() == checked.error().to_string() ? "" : fast.error().to_string() + " vs " + checked.error().to_string();
  }
  std::string out;
  if (fast->source != checked->source || fast->destination != checked->destination) out += " addresses";
  if (fast->protocol != checked->protocol) out += " protocol";
  if (fast->source_port != checked->source_port || fast->destination_port != checked->destination_port) out += " ports";
  if (fast->esp_spi != checked->esp_spi) out += " SPI";
  if (fast->upper_layer_offset != checked->upper_layer_offset) out += " upper-layer offset";
  if (fast->length != checked->length) out += " length";
  if (fast->later_fragment != checked->later_fragment) out += " later fragment";
  return out;
}

TEST(PacketSummary, Ipv4AtFixedOffsetsAgreesWithTheCheckedReader) {
  for (const std::uint8_t protocol : {ip_proto::kTcp, ip_proto::kUdp, ip_proto::kEsp, ip_proto::kIcmp}) {
    const auto packet = testing::make_packet(ip("10.0.0.1"), ip("10.0.0.2"), protocol, 1234, 443, 8, 0xAABBCCDD);
    for (std::size_t size = 0; size <= packet.size(); ++size) {
      for (unsigned ihl = 0; ihl < 16; ++ihl) {
        for (std::size_t total = 0; total <= packet.size() + 2; ++total) {
          for (const std::uint8_t fragment_high : {0x40, 0x20, 0x01}) {  // DF; MF (first fragment); a later fragment
            auto bytes = packet;
            bytes[0] = std::byte{static_cast<std::uint8_t>(0x40 | ihl)};
            bytes[2] = std::byte{static_cast<std::uint8_t>(total >> 8)};
            bytes[3] = std::byte{static_cast<std::uint8_t>(total)};
            bytes[6] = std::byte{fragment_high};
            bytes.resize(size);
            const auto difference = difference_from_checked(bytes);
            ASSERT_EQ(difference, "") << "protocol " << unsigned{protocol} << ", " << size << " bytes, IHL " << ihl << ", total length "
                                      << total << ", flags/offset byte " << unsigned{fragment_high};
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace ward::driver
