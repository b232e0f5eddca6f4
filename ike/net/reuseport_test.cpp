// Several sockets on one port (reuseport.h): every datagram of a source address reaches the
// socket peer_engine() names, from whichever source port, for 2 and 3 sockets, IPv4 and IPv6.
// Without the BPF program the kernel picks by a hash of the whole 4-tuple, so a peer's datagrams
// from two ports, or an initiator's answer, land on another engine (half the time with 2).
#include "ike/net/reuseport.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <poll.h>

#include <array>
#include <map>
#include <string>

namespace ward::ike::net {
namespace {

std::uint16_t test_port() { return static_cast<std::uint16_t>(20000 + ::getpid() % 20000); }

// Which socket of the group a datagram sent from `from` (a socket bound to it) lands on.
std::optional<std::size_t> landing(const std::vector<UdpSocket>& group, const IpAddress& to, std::uint16_t port,
                                   const UdpSocket& from, const std::string& tag) {
  const std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(tag.data()),
                                     reinterpret_cast<const std::byte*>(tag.data()) + tag.size());
  EXPECT_TRUE(from.send_to(to, port, bytes).has_value());
  std::vector<pollfd> fds;
  for (const auto& s : group) fds.push_back({s.native_handle(), POLLIN, 0});
  if (::poll(fds.data(), fds.size(), 2000) <= 0) return std::nullopt;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (!(fds[i].revents & POLLIN)) continue;
    auto got = group[i].receive(std::chrono::milliseconds(0));
    if (got && *got && (**got).bytes == bytes) return i;
  }
  return std::nullopt;
}

void expect_by_source(std::size_t count, const IpAddress& local, const std::vector<IpAddress>& sources) {
  const auto port = static_cast<std::uint16_t>(test_port() + count);
  auto group = bind_group(local, port, count);
  ASSERT_TRUE(group.has_value()) << group.error();
  ASSERT_EQ(group->size(), count);
  std::map<std::size_t, unsigned> per_engine;
  for (const auto& source : sources) {
    // Two source ports per address (IKE's 500 and 4500, or a NAT's): the same engine.
    for (int k = 0; k < 2; ++k) {
      auto sender = UdpSocket::bind(source, 0);
      ASSERT_TRUE(sender.has_value()) << sender.error();
      const auto got = landing(*group, local, port, *sender, source.to_string() + "/" + std::to_string(k));
      ASSERT_TRUE(got.has_value()) << "nothing arrived from " << source.to_string();
      EXPECT_EQ(*got, peer_engine(source, count)) << "from " << source.to_string() << ", port " << k;
      ++per_engine[*got];
    }
  }
  if (sources.size() > 1) {
    EXPECT_EQ(per_engine.size(), count) << "some engine got no peer at all";
  }
}

std::vector<IpAddress> v4_sources() {
  std::vector<IpAddress> out;
  for (std::uint32_t host = 10; host < 40; ++host) out.push_back(IpAddress::v4(0x7f000000u | host));
  return out;
}

TEST(Reuseport, EveryDatagramOfAPeerReachesTheSocketItsHashNames) {
  expect_by_source(2, IpAddress::v4(0x7f000001u), v4_sources());
  expect_by_source(3, IpAddress::v4(0x7f000001u), v4_sources());
}

TEST(Reuseport, Ipv6SourcesAreHashedFromTheIpv6Header) {
  expect_by_source(3, *IpAddress::parse("::1"), {*IpAddress::parse("::1")});
}

TEST(Reuseport, OneEngineIsOnePlainSocketAndTheHashSpreadsAddresses) {
  const auto port = static_cast<std::uint16_t>(test_port() + 7);
  auto one = bind_group(IpAddress::v4(0x7f000001u), port, 1);
  ASSERT_TRUE(one.has_value()) << one.error();
  // No SO_REUSEPORT: a second service on the same port fails to bind, as before.
  EXPECT_FALSE(UdpSocket::bind(IpAddress::v4(0x7f000001u), port, true).has_value());
  EXPECT_EQ(peer_engine(IpAddress::v4(0x7f00000au), 1), 0U);
  std::array<unsigned, 4> spread{};
  for (std::uint32_t host = 1; host <= 256; ++host) ++spread[peer_engine(IpAddress::v4(0x0a000000u | host), 4)];
  for (const auto n : spread) EXPECT_GT(n, 40U);   // 64 each if even
}

// A second service on the port fails to bind, whether it or the first runs one engine or several:
// SO_REUSEPORT alone would let a second group of the same user join the first and take part of
// its peers' datagrams.
TEST(Reuseport, ASecondGroupOnThePortFailsInsteadOfJoiningTheFirst) {
  const IpAddress local = IpAddress::v4(0x7f000001u);
  for (const std::size_t first : {1U, 2U}) {
    const auto port = static_cast<std::uint16_t>(test_port() + 8 + first);
    auto group = bind_group(local, port, first);
    ASSERT_TRUE(group.has_value()) << group.error();
    for (const std::size_t second : {1U, 2U, 3U}) {
      auto other = bind_group(local, port, second);
      ASSERT_FALSE(other.has_value()) << first << " then " << second << " engines: the second joined";
      EXPECT_NE(other.error().find("bind 127.0.0.1:" + std::to_string(port)), std::string::npos) << other.error();
      EXPECT_NE(other.error().find("in use"), std::string::npos) << other.error();
    }
  }
  // Released, the port takes a group again.
  const auto port = static_cast<std::uint16_t>(test_port() + 12);
  { auto group = bind_group(local, port, 2); ASSERT_TRUE(group.has_value()) << group.error(); }
  auto again = bind_group(local, port, 2);
  EXPECT_TRUE(again.has_value()) << again.error();
}

}  // namespace
}  // namespace ward::ike::net
