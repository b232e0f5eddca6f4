#include "common/ip.h"

#include <gtest/gtest.h>

namespace ward {
namespace {

TEST(IpAddress, WireBytesAreFourForIpv4AndSixteenForIpv6) {
  const auto v4 = IpAddress::parse("192.0.2.7");
  ASSERT_TRUE(v4.has_value());
  const auto four = v4->wire_bytes();
  ASSERT_EQ(four.size(), 4u);
  EXPECT_EQ(four[0], std::byte{192});
  EXPECT_EQ(four[3], std::byte{7});
  const auto v6 = IpAddress::parse("2001:db8::1");
  ASSERT_TRUE(v6.has_value());
  const auto sixteen = v6->wire_bytes();
  ASSERT_EQ(sixteen.size(), 16u);
  EXPECT_EQ(sixteen[0], std::byte{0x20});
  EXPECT_EQ(sixteen[15], std::byte{1});
}

TEST(IpPrefix, ParsesIpv4AndIpv6) {
  const auto v4 = IpPrefix::parse("10.20.1.0/24");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->family(), IpFamily::V4);
  EXPECT_EQ(v4->length(), 24u);
  EXPECT_EQ(v4->to_string(), "10.20.1.0/24");

  const auto v6 = IpPrefix::parse("2001:db8::/32");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->family(), IpFamily::V6);
  EXPECT_EQ(v6->to_string(), "2001:db8::/32");

  const auto host = IpPrefix::parse("192.0.2.7");
  ASSERT_TRUE(host.has_value());
  EXPECT_TRUE(host->is_host());
}

TEST(IpPrefix, RejectsHostBitsAndBadLengths) {
  EXPECT_FALSE(IpPrefix::parse("10.20.1.5/24").has_value());
  EXPECT_FALSE(IpPrefix::parse("10.20.1.0/33").has_value());
  EXPECT_FALSE(IpPrefix::parse("10.20.1.0/").has_value());
  EXPECT_FALSE(IpPrefix::parse("10.20.1.0/2x").has_value());
  EXPECT_FALSE(IpPrefix::parse("2001:db8::1/32").has_value());
  EXPECT_FALSE(IpPrefix::parse("not-an-address").has_value());
}

TEST(IpPrefix, ContainsChecksFamilyAndBits) {
  const auto subnet = *IpPrefix::parse("10.20.0.0/23");
  EXPECT_TRUE(subnet.contains(*IpAddress::parse("10.20.0.9")));
  EXPECT_TRUE(subnet.contains(*IpAddress::parse("10.20.1.255")));
  EXPECT_FALSE(subnet.contains(*IpAddress::parse("10.20.2.0")));
  EXPECT_FALSE(subnet.contains(*IpAddress::parse("::ffff:10.20.1.1")));
  EXPECT_TRUE(IpPrefix::any(IpFamily::V6).contains(*IpAddress::parse("2001:db8::1")));
  EXPECT_FALSE(IpPrefix::any(IpFamily::V6).contains(*IpAddress::parse("10.0.0.1")));
}

}  // namespace
}  // namespace ward
