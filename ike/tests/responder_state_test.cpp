// The responder's defences against forged main mode 1s: cookies derived from a secret
// (responder_cookies.h) and the bounded embryonic table (embryonic_table.h). The service-level
// test (a real initiator through a flood) is in ike_service_test.cpp.
#include <gtest/gtest.h>

#include "ike/service/embryonic_table.h"
#include "ike/service/responder_cookies.h"

namespace ward::ike::service {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
Cookie cookie(std::uint8_t fill) {
  Cookie c{};
  c.fill(std::byte{fill});
  return c;
}

TEST(ResponderCookies, DeterministicPerPeerAndInitiatorCookieAndVerified) {
  auto now = std::chrono::steady_clock::now();
  ResponderCookies cookies([&] { return now; });
  const auto a = cookies.make(ip("10.0.0.1"), 500, cookie(1));
  EXPECT_EQ(cookies.make(ip("10.0.0.1"), 500, cookie(1)), a);   // a resent main mode 1 gets the same
  EXPECT_NE(cookies.make(ip("10.0.0.2"), 500, cookie(1)), a);
  EXPECT_NE(cookies.make(ip("10.0.0.1"), 4500, cookie(1)), a);
  EXPECT_NE(cookies.make(ip("10.0.0.1"), 500, cookie(2)), a);
  EXPECT_TRUE(cookies.verify(ip("10.0.0.1"), 500, cookie(1), a));
  EXPECT_FALSE(cookies.verify(ip("10.0.0.9"), 500, cookie(1), a));   // another address cannot use it
  auto forged = a;
  forged[7] ^= std::byte{1};
  EXPECT_FALSE(cookies.verify(ip("10.0.0.1"), 500, cookie(1), forged));
  // Another service's secret makes other cookies.
  ResponderCookies other([&] { return now; });
  EXPECT_NE(other.make(ip("10.0.0.1"), 500, cookie(1)), a);
}

TEST(ResponderCookies, ThePreviousSecretStillVerifiesTheOneBeforeDoesNot) {
  auto now = std::chrono::steady_clock::now();
  ResponderCookies cookies([&] { return now; });
  const auto old = cookies.make(ip("10.0.0.1"), 500, cookie(1));
  now += kResponderSecretLifetime;
  const auto fresh = cookies.make(ip("10.0.0.1"), 500, cookie(1));
  EXPECT_NE(fresh, old);
  EXPECT_TRUE(cookies.verify(ip("10.0.0.1"), 500, cookie(1), old));
  EXPECT_TRUE(cookies.verify(ip("10.0.0.1"), 500, cookie(1), fresh));
  now += kResponderSecretLifetime;
  EXPECT_FALSE(cookies.verify(ip("10.0.0.1"), 500, cookie(1), old));
  EXPECT_TRUE(cookies.verify(ip("10.0.0.1"), 500, cookie(1), fresh));
}

EmbryonicMainMode entry(const IpAddress& peer, std::uint8_t initiator, std::size_t message_bytes = 100) {
  EmbryonicMainMode e;
  e.peer = peer;
  e.port = 500;
  e.initiator_cookie = cookie(initiator);
  e.responder_cookie = cookie(static_cast<std::uint8_t>(initiator ^ 0xff));
  e.message_1.assign(message_bytes, std::byte{1});
  e.message_2.assign(message_bytes / 2, std::byte{2});
  e.created = std::chrono::steady_clock::time_point(std::chrono::seconds(initiator));
  return e;
}

TEST(EmbryonicTable, FindTakeAndThePerPeerLimit) {
  EmbryonicTable table({.max_entries = 10, .max_bytes = 1 << 20, .max_per_peer = 2});
  std::size_t evicted = 0;
  EXPECT_EQ(table.add(entry(ip("10.0.0.1"), 1), evicted), EmbryonicTable::Added::Added);
  EXPECT_EQ(table.add(entry(ip("10.0.0.1"), 2), evicted), EmbryonicTable::Added::Added);
  EXPECT_EQ(table.add(entry(ip("10.0.0.1"), 3), evicted), EmbryonicTable::Added::PeerLimit);
  EXPECT_EQ(table.add(entry(ip("10.0.0.2"), 4), evicted), EmbryonicTable::Added::Added);
  EXPECT_EQ(table.size(), 3U);
  EXPECT_EQ(table.bytes(), 3U * 150);
  ASSERT_NE(table.find(cookie(2), cookie(2 ^ 0xff)), nullptr);
  EXPECT_EQ(table.find(cookie(2), cookie(2)), nullptr);
  auto taken = table.take(cookie(1), cookie(1 ^ 0xfe ^ 0x01));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->peer, ip("10.0.0.1"));
  EXPECT_EQ(table.count_for(ip("10.0.0.1")), 1U);
  EXPECT_EQ(table.add(entry(ip("10.0.0.1"), 3), evicted), EmbryonicTable::Added::Added);
}

// A flood of main mode 1s from ever new addresses: the oldest entries go, every map stays within
// the limits whatever addresses and cookies come.
TEST(EmbryonicTable, EvictsTheOldestByCountAndByBytes) {
  EmbryonicTable table({.max_entries = 100, .max_bytes = 100 * 150, .max_per_peer = 4});
  std::size_t evicted_total = 0;
  for (std::uint32_t i = 0; i < 10000; ++i) {
    auto e = entry(IpAddress::v4(0x0a000000u + i), static_cast<std::uint8_t>(i));
    e.initiator_cookie[1] = static_cast<std::byte>(i >> 8);
    e.initiator_cookie[2] = static_cast<std::byte>(i >> 16);
    std::size_t evicted = 0;
    ASSERT_EQ(table.add(std::move(e), evicted), EmbryonicTable::Added::Added);
    evicted_total += evicted;
  }
  EXPECT_EQ(table.size(), 100U);
  EXPECT_EQ(evicted_total, 9900U);
  EXPECT_EQ(table.count_for(IpAddress::v4(0x0a000000u)), 0U);         // the first is long gone
  EXPECT_EQ(table.count_for(IpAddress::v4(0x0a000000u + 9999)), 1U);  // the last is there
  // Bigger messages: the byte budget evicts sooner.
  std::size_t evicted = 0;
  ASSERT_EQ(table.add(entry(ip("10.9.9.9"), 7, 3000), evicted), EmbryonicTable::Added::Added);
  EXPECT_EQ(evicted, 30U);
  EXPECT_LE(table.bytes(), 100U * 150);
}

TEST(EmbryonicTable, ExpiresByAge) {
  EmbryonicTable table({});
  std::size_t evicted = 0;
  for (std::uint8_t i = 1; i <= 5; ++i) (void)table.add(entry(IpAddress::v4(0x0a000000u + i), i), evicted);
  EXPECT_EQ(*table.oldest(), std::chrono::steady_clock::time_point(std::chrono::seconds(1)));
  EXPECT_EQ(table.expire(std::chrono::steady_clock::time_point(std::chrono::seconds(3))), 2U);
  EXPECT_EQ(table.size(), 3U);
}

}  // namespace
}  // namespace ward::ike::service
