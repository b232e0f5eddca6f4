// The IKEv2 responder COOKIE (ikev2_cookies.h) on its own, time passed in: one cookie per (Ni, IPi,
// SPIi) and secret, any other input or byte refused, a cookie of the previous secret still good
// after one replacement and stale after the next; what the responder reads of a request and the
// reply it sends under load.
#include "ike/service/ikev2_cookies.h"

#include <gtest/gtest.h>

#include "ike/v2/ike_sa_init.h"

namespace ward::ike::service {
namespace {

using namespace std::chrono_literals;

const IpAddress kA = *IpAddress::parse("10.0.0.1");
const IpAddress kB = *IpAddress::parse("10.0.0.2");

struct ManualClock {
  sa::TimePoint t{};
  sa::Clock clock() {
    return [this] { return t; };
  }
};

v2::Bytes bytes(std::size_t n, std::uint8_t fill) { return v2::Bytes(n, std::byte{fill}); }

TEST(Ikev2Cookies, OneCookiePerNonceAddressAndSpiAndNothingElseVerifies) {
  ManualClock c;
  Ikev2Cookies cookies(c.clock());
  const auto ni = bytes(32, 0x11);
  const v2::Spi spi{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}, std::byte{5}, std::byte{6}, std::byte{7}, std::byte{8}};
  const auto cookie = cookies.make(ni, kA, spi);
  ASSERT_EQ(cookie.size(), Ikev2Cookies::kSize);
  EXPECT_EQ(cookies.make(ni, kA, spi), cookie);   // a resent request: the same cookie
  EXPECT_TRUE(cookies.verify(ni, kA, spi, cookie));
  EXPECT_FALSE(cookies.verify(bytes(32, 0x12), kA, spi, cookie));   // another Ni
  EXPECT_FALSE(cookies.verify(ni, kB, spi, cookie));                // another address
  v2::Spi other = spi;
  other[7] = std::byte{9};
  EXPECT_FALSE(cookies.verify(ni, kA, other, cookie));   // another SPIi
  for (std::size_t i = 0; i < cookie.size(); ++i) {
    auto flipped = cookie;
    flipped[i] ^= std::byte{0x01};
    EXPECT_FALSE(cookies.verify(ni, kA, spi, flipped)) << "byte " << i;
  }
  EXPECT_FALSE(cookies.verify(ni, kA, spi, std::span(cookie).first(cookie.size() - 1)));
  EXPECT_FALSE(cookies.verify(ni, kA, spi, {}));
  // Another responder (another secret) never made it.
  Ikev2Cookies elsewhere(c.clock());
  EXPECT_FALSE(elsewhere.verify(ni, kA, spi, cookie));
}

TEST(Ikev2Cookies, ACookieOfThePreviousSecretVerifiesAndAnOlderOneIsStale) {
  ManualClock c;
  Ikev2Cookies cookies(c.clock());
  const auto ni = bytes(32, 0x22);
  const v2::Spi spi{std::byte{9}};
  const auto first = cookies.make(ni, kA, spi);
  c.t += kResponderSecretLifetime;   // replaced once
  EXPECT_TRUE(cookies.verify(ni, kA, spi, first));
  const auto second = cookies.make(ni, kA, spi);
  EXPECT_NE(second, first);
  c.t += kResponderSecretLifetime;   // replaced again: the first is stale
  EXPECT_FALSE(cookies.verify(ni, kA, spi, first));
  EXPECT_TRUE(cookies.verify(ni, kA, spi, second));
  // A long quiet spell (two lifetimes in one step) leaves nothing older verified.
  const auto third = cookies.make(ni, kA, spi);
  c.t += 2 * kResponderSecretLifetime;
  EXPECT_FALSE(cookies.verify(ni, kA, spi, third));
}

TEST(Ikev2Cookies, TheRequestIsReadAndTheReplyCarriesOnlyTheCookieTheInitiatorRepeats) {
  v2::IkeSaInitConfig config;
  config.proposals = {v2::IkeProposal{v2::EncryptionId::AesCbc, 256, v2::IntegrityId::HmacSha2_256_128, v2::PrfId::HmacSha2_256,
                                      IkeGroupDescription::Ecp256}};
  config.local = {kA, 500};
  config.remote = {kB, 500};
  auto initiator = v2::IkeSaInitInitiator::create(config);
  ASSERT_TRUE(initiator.has_value()) << initiator.error();
  const auto first = read_init_request(initiator->request());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->spi_i, initiator->initiator_spi());
  EXPECT_EQ(first->ni.size(), 32U);
  EXPECT_FALSE(first->cookie.has_value());

  ManualClock c;
  Ikev2Cookies cookies(c.clock());
  const auto cookie = cookies.make(first->ni, kA, first->spi_i);
  auto reply = cookie_reply(first->spi_i, cookie);
  ASSERT_TRUE(reply.has_value()) << reply.error();
  const auto parsed = v2::parse_message(*reply);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->payloads.size(), 1U);
  EXPECT_TRUE(parsed->header.has(v2::HeaderFlag::Response));
  EXPECT_EQ(parsed->header.responder_spi, v2::Spi{});
  // Ward's initiator repeats its request with the cookie first, same SPIi and Ni.
  auto again = initiator->consume_response(*reply);
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_FALSE(again->has_value());
  const auto second = read_init_request(initiator->request());
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(second->cookie.has_value());
  EXPECT_EQ(*second->cookie, cookie);
  EXPECT_TRUE(cookies.verify(second->ni, kA, second->spi_i, *second->cookie));
  // Not requests: a response, garbage.
  EXPECT_FALSE(read_init_request(*reply).has_value());
  EXPECT_FALSE(read_init_request(bytes(40, 0)).has_value());
}

}  // namespace
}  // namespace ward::ike::service
