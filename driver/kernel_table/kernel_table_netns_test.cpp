// The kernel table on real packets: two namespaces joined by a veth pair (IPv4 and IPv6), a
// table installed in A, pings and TCP connections from A to B.
#include "driver/kernel_table/kernel_table.h"

#include <gtest/gtest.h>

#include "tests/netns/netns.h"

namespace ward::driver {
namespace {

using ward::testing::Netns;

constexpr const char* kA4 = "10.20.3.1";
constexpr const char* kB4 = "10.20.3.2";
constexpr const char* kA6 = "fd00:20:3::1";
constexpr const char* kB6 = "fd00:20:3::2";
constexpr std::uint16_t kPort = 7101;

DriverFilter filter(std::uint32_t id, const char* source, const char* destination, std::uint8_t protocol, std::uint16_t dport,
                    FilterAction action) {
  return {id, *IpPrefix::parse(source), *IpPrefix::parse(destination), protocol, PortRange::any(),
          dport ? PortRange::single(dport) : PortRange::any(), action, 0, {}};
}

class KernelTableNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    a_ = std::make_unique<Netns>("kt-a");
    b_ = std::make_unique<Netns>("kt-b");
    const auto [a_link, b_link] = ward::testing::connect_veth(*a_, std::string(kA4) + "/24", *b_, std::string(kB4) + "/24");
    a_->exec("ip -6 addr add " + std::string(kA6) + "/64 dev " + a_link + " nodad");
    b_->exec("ip -6 addr add " + std::string(kB6) + "/64 dev " + b_link + " nodad");
  }

  std::unique_ptr<KernelTable> open_table(KernelTableOptions options = {}) {
    std::unique_ptr<KernelTable> table;
    a_->run_inside([&] {
      auto opened = KernelTable::open(std::move(options));
      if (opened) table = std::move(*opened);
    });
    EXPECT_TRUE(table);
    return table;
  }

  bool pings(const char* address) { return a_->exec(std::string("ping -c1 -W1 ") + address + " >/dev/null 2>&1") == 0; }

  std::unique_ptr<Netns> a_, b_;
};

TEST_F(KernelTableNetnsTest, PermitAndBlockAreDecidedInTheKernelAndCounted) {
  auto kernel = open_table();
  ASSERT_TRUE(kernel);
  ward::testing::TcpListeners listener(*b_, kB4, {kPort});
  FilterTable table;
  table.filters = {filter(1, "10.20.3.1/32", "10.20.3.2/32", 1, 0, FilterAction::Block),
                   filter(2, "10.20.3.1/32", "10.20.3.2/32", 6, kPort, FilterAction::Permit),
                   filter(3, "10.20.3.1/32", "10.20.3.0/24", 6, 0, FilterAction::Block)};
  auto installed = kernel->install(table, {});
  ASSERT_TRUE(installed) << installed.error();
  // The TCP port permit is a map of TCP and UDP packets with ports; the later TCP block for any
  // port one of the maps that take what no port filter did.
  EXPECT_EQ(installed->layers, 1U);

  EXPECT_FALSE(pings(kB4));
  EXPECT_TRUE(ward::testing::tcp_connects(*a_, kB4, kPort));
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kB4, kPort + 1));
  auto counts = kernel->counters();
  ASSERT_TRUE(counts) << counts.error();
  ASSERT_EQ(counts->size(), 3U);
  EXPECT_GE((*counts)[0].packets, 1U) << "the blocked echo request";
  EXPECT_GE((*counts)[1].packets, 2U) << "SYN and ACK of the permitted connection";
  EXPECT_GT((*counts)[1].bytes, 0U);
  EXPECT_GE((*counts)[2].packets, 1U) << "the blocked SYN";

  ASSERT_TRUE(kernel->remove().has_value());
  EXPECT_TRUE(pings(kB4));
  EXPECT_EQ(a_->exec_output("nft list tables"), "");
}

// A policy of "this host <-> peer" filters: the elements with this host as source are keyed by
// their destination first (map_split.h), those towards it by their source; both kinds decide and
// count packets as the table says, IPv4 and IPv6.
TEST_F(KernelTableNetnsTest, MapsKeyedByEitherAddressDecideAndCountBothDirections) {
  auto kernel = open_table();
  ASSERT_TRUE(kernel);
  ward::testing::TcpListeners listener(*b_, kB4, {kPort});
  FilterTable table;
  table.filters = {filter(1, "10.20.3.1/32", "10.20.3.2/32", 1, 0, FilterAction::Permit),
                   filter(2, "10.20.3.2/32", "10.20.3.1/32", 1, 0, FilterAction::Permit),
                   filter(3, "10.20.3.1/32", "10.20.3.2/32", 6, 0, FilterAction::Block),
                   filter(4, "fd00:20:3::1/128", "fd00:20:3::2/128", 58, 0, FilterAction::Permit),
                   filter(5, "fd00:20:3::2/128", "fd00:20:3::1/128", 58, 0, FilterAction::Permit)};
  for (std::uint32_t i = 0; i < 8; ++i) {  // other peers: this host on one side of every filter
    const auto peer4 = "10.20.3." + std::to_string(100 + i);
    const auto peer6 = "fd00:20:3::" + std::to_string(100 + i);
    table.filters.push_back(filter(10 + i, kA4, peer4.c_str(), 0, 0, FilterAction::Block));
    table.filters.push_back(filter(10 + i, peer4.c_str(), kA4, 0, 0, FilterAction::Block));
    table.filters.push_back(filter(20 + i, kA6, peer6.c_str(), 0, 0, FilterAction::Block));
    table.filters.push_back(filter(20 + i, peer6.c_str(), kA6, 0, 0, FilterAction::Block));
  }
  auto installed = kernel->install(table, {});
  ASSERT_TRUE(installed) << installed.error();
  const auto listing = a_->exec_output("nft list table inet ward");
  EXPECT_NE(listing.find("map filters_v4_portless_1_1 {"), std::string::npos) << "keyed by the source first\n" << listing;
  EXPECT_NE(listing.find("_d {"), std::string::npos) << "maps keyed by the destination first\n" << listing;

  EXPECT_TRUE(pings(kB4));
  EXPECT_TRUE(pings(kB6));
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kB4, kPort));
  EXPECT_FALSE(pings("10.20.3.101"));
  auto counts = kernel->counters();
  ASSERT_TRUE(counts) << counts.error();
  ASSERT_EQ(counts->size(), table.filters.size());
  EXPECT_GE((*counts)[0].packets, 1U) << "the echo request, destination first";
  EXPECT_GE((*counts)[1].packets, 1U) << "the echo reply, source first";
  EXPECT_GE((*counts)[2].packets, 1U) << "the blocked SYN";
  EXPECT_GE((*counts)[3].packets, 1U) << "the IPv6 echo request";
  EXPECT_GE((*counts)[4].packets, 1U) << "the IPv6 echo reply";
  EXPECT_GE((*counts)[9].packets, 1U) << "the echo request to 10.20.3.101, blocked";
  EXPECT_EQ((*counts)[5].packets, 0U) << "nothing for 10.20.3.100";
}

// A negotiate filter's element can share a map with a permit filter's (same key, same layer): its
// packets are Ward's to count, never the kernel table's (the nfqueue engine counts them too).
TEST_F(KernelTableNetnsTest, NegotiateElementsInACountedMapCountNothing) {
  KernelTableOptions options;
  options.negotiate = NegotiateVerdict::Accept;  // as the xfrm backend: no queue to serve
  auto kernel = open_table(options);
  ASSERT_TRUE(kernel);
  FilterTable table;
  table.filters = {filter(1, "10.20.3.1/32", "10.20.3.2/32", 1, 0, FilterAction::Permit),
                   filter(2, "10.20.3.1/32", "10.20.3.3/32", 1, 0, FilterAction::Negotiate)};
  auto installed = kernel->install(table, {});
  ASSERT_TRUE(installed) << installed.error();
  ASSERT_EQ(installed->layers, 1U) << "both elements in one map";
  EXPECT_TRUE(pings(kB4));
  (void)pings("10.20.3.3");  // nobody answers: the echo request leaves through the negotiate element
  auto counts = kernel->counters();
  ASSERT_TRUE(counts) << counts.error();
  ASSERT_EQ(counts->size(), 2U);
  EXPECT_GE((*counts)[0].packets, 1U) << "the permitted echo request";
  EXPECT_EQ((*counts)[1].packets, 0U) << "the negotiate filter's echo request is not the table's to count";
  EXPECT_EQ((*counts)[1].bytes, 0U);
}

// The whole table is one transaction: a failure after the IPv4 part leaves both families on the
// old table (a sequence of per-family loads would have switched IPv4 already).
TEST_F(KernelTableNetnsTest, AFailedInstallLeavesBothFamiliesOnTheOldTable) {
  FilterTable blocking;
  blocking.filters = {filter(1, "10.20.3.1/32", "10.20.3.2/32", 1, 0, FilterAction::Block),
                      filter(2, "fd00:20:3::1/128", "fd00:20:3::2/128", 58, 0, FilterAction::Block)};
  FilterTable permitting;
  permitting.filters = {filter(1, "10.20.3.1/32", "10.20.3.2/32", 1, 0, FilterAction::Permit),
                        filter(2, "fd00:20:3::1/128", "fd00:20:3::2/128", 58, 0, FilterAction::Permit)};
  ASSERT_TRUE(pings(kB4));
  ASSERT_TRUE(pings(kB6));
  auto kernel = open_table();
  ASSERT_TRUE(kernel);
  ASSERT_TRUE(kernel->install(blocking, {}).has_value());
  EXPECT_FALSE(pings(kB4));
  EXPECT_FALSE(pings(kB6));

  kernel->inject_failure_after_ipv4_for_testing(true);
  auto refused = kernel->install(permitting, {});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("injected_failure"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("nothing changed"), std::string::npos) << refused.error();
  EXPECT_FALSE(pings(kB4)) << "IPv4 must still be on the old table";
  EXPECT_FALSE(pings(kB6)) << "IPv6 must still be on the old table";

  kernel->inject_failure_after_ipv4_for_testing(false);
  ASSERT_TRUE(kernel->install(permitting, {}).has_value());
  EXPECT_TRUE(pings(kB4));
  EXPECT_TRUE(pings(kB6));
}

// Dynamic filters go to the queue; with nobody serving it, their traffic is dropped (fail closed).
// Replacing them is a transaction of its own that leaves the table's filters alone.
TEST_F(KernelTableNetnsTest, DynamicFiltersAreReplacedAlone) {
  auto kernel = open_table();
  ASSERT_TRUE(kernel);
  ward::testing::TcpListeners listener(*b_, kB4, {kPort, kPort + 1});
  FilterTable table;
  table.filters = {filter(1, "10.20.3.1/32", "10.20.3.2/32", 6, kPort + 1, FilterAction::Block)};
  const std::vector<DriverFilter> dynamic = {
      filter(kFirstDynamicFilterId, "10.20.3.1/32", "10.20.3.2/32", 6, kPort, FilterAction::Negotiate),
      filter(kFirstDynamicFilterId, "10.20.3.2/32", "10.20.3.1/32", 6, 0, FilterAction::Negotiate)};
  ASSERT_TRUE(kernel->install(table, dynamic).has_value());
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kB4, kPort)) << "queued with no one serving the queue";
  auto replaced = kernel->replace_dynamic({});
  ASSERT_TRUE(replaced) << replaced.error();
  EXPECT_TRUE(ward::testing::tcp_connects(*a_, kB4, kPort));
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kB4, kPort + 1)) << "the table's block stays";
  ASSERT_TRUE(kernel->replace_dynamic(dynamic).has_value());
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kB4, kPort));
}

}  // namespace
}  // namespace ward::driver
