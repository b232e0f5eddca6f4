// XfrmDataplane against the real kernel SPD/SAD, in throwaway network namespaces the test creates.
#include "driver/xfrm/xfrm_dataplane.h"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <algorithm>

#include <gtest/gtest.h>

#include "tests/harness/uml_kernel.h"
#include "tests/netns/netns.h"

namespace ward::driver {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;

constexpr const char* kAddressA = "10.20.4.1";
constexpr const char* kAddressB = "10.20.4.2";
// Where the first table of four selectors goes, and the second (below it), with SpdOptions' defaults.
constexpr std::uint32_t kFirstBase = xfrm::SpdOptions{}.top - 4 * xfrm::kSlotsPerRank;

DriverFilter filter(std::uint32_t id, std::uint8_t protocol, PortRange dport, FilterAction action) {
  return {id, *IpPrefix::parse("10.20.4.1/32"), *IpPrefix::parse("10.20.4.2/32"), protocol, PortRange::any(), dport, action, 0, {}};
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++found;
  return found;
}

class Recorder : public DataplaneListener {
 public:
  void on_acquire(const Acquire& acquire) override {
    std::lock_guard lock(mutex_);
    acquires_.push_back(acquire);
    changed_.notify_all();
  }
  void on_expiry(const SaExpiry&) override {}
  std::vector<Acquire> wait_for_acquire(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return !acquires_.empty(); });
    return acquires_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Acquire> acquires_;
};

class XfrmDataplaneNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    // Before the namespaces, which take seconds to make inside User-mode Linux.
    if (needs_kernel_table() && ward::test::inside_uml()) {
      GTEST_SKIP() << "User-mode Linux's 6.1 build has no nftables inet family (CONFIG_NF_TABLES_INET is not set): permit and block "
                      "stay XFRM policies there";
    }
    a_ = std::make_unique<Netns>("xfrmdp-a");
    b_ = std::make_unique<Netns>("xfrmdp-b");
    links_ = ward::testing::connect_veth(*a_, std::string(kAddressA) + "/24", *b_, std::string(kAddressB) + "/24");
    a_->run_inside([&] {
      auto started = XfrmDataplane::start(recorder_, options());
      ASSERT_TRUE(started.has_value()) << started.error();
      dataplane_ = std::move(*started);
    });
    ASSERT_NE(dataplane_, nullptr);
  }
  virtual XfrmOptions options() const { return {}; }
  virtual bool needs_kernel_table() const { return false; }
  std::uint64_t packets_of(std::uint32_t id) const {
    std::uint64_t packets = 0;
    for (const auto& filter : dataplane_->counters().filters) packets += filter.filter_id == id ? filter.packets : 0;
    return packets;
  }
  void TearDown() override { dataplane_.reset(); }

  std::string policies() const { return a_->exec_output("ip xfrm policy"); }

  Recorder recorder_;
  std::unique_ptr<Netns> a_, b_;
  std::pair<std::string, std::string> links_;
  std::unique_ptr<XfrmDataplane> dataplane_;
};

// Permit and block in nftables: everywhere but User-mode Linux, whose 6.1 build has no nftables
// inet family; there these tests skip.
class XfrmDataplaneKernelTableTest : public XfrmDataplaneNetnsTest {
 protected:
  bool needs_kernel_table() const override { return true; }
  void SetUp() override {
    XfrmDataplaneNetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(dataplane_->kernel_table_in_use()) << "this kernel has nftables: " << dataplane_->filter_placement();
  }
};

// Permit and block as XFRM policies: what the backend does on a kernel without the nftables table.
class XfrmDataplaneWithoutKernelTableTest : public XfrmDataplaneNetnsTest {
 protected:
  XfrmOptions options() const override {
    XfrmOptions options;
    options.kernel_table = false;
    return options;
  }
};

TEST_F(XfrmDataplaneWithoutKernelTableTest, TheTableBecomesPrioritisedPoliciesAndASwapLeavesNothingOfTheOld) {
  FilterTable first;
  auto tunnel = filter(12, 6, PortRange::single(7101), FilterAction::Negotiate);
  tunnel.tunnel_endpoint = *IpAddress::parse(kAddressB);
  first.filters = {filter(11, 1, PortRange::any(), FilterAction::Block), tunnel,
                   filter(13, 6, PortRange::single(7102), FilterAction::Permit), filter(14, 0, PortRange::any(), FilterAction::Block)};
  const auto installed = dataplane_->install_filter_table(first);
  ASSERT_TRUE(installed.has_value()) << installed.error();
  auto listing = policies();
  EXPECT_EQ(count(listing, "dir out"), 4u) << listing;
  EXPECT_EQ(count(listing, "dir in"), 4u) << listing;
  EXPECT_EQ(count(listing, "dir fwd"), 1u) << "only the tunnel filter forwards\n" << listing;
  // Precedence order = priority order: the ICMP block is rank 0, the final block rank 3.
  EXPECT_NE(listing.find("proto icmp \n\tdir out action block priority " + std::to_string(kFirstBase + 2) + " "), std::string::npos) << listing;
  EXPECT_NE(listing.find("proto tcp dport 7101 \n\tdir out priority " + std::to_string(kFirstBase + 4 + 2) + " "), std::string::npos) << listing;
  EXPECT_NE(listing.find("dir out action block priority " + std::to_string(kFirstBase + 12 + 2) + " "), std::string::npos) << listing;
  EXPECT_EQ(count(listing, "action block"), 4u) << listing;
  EXPECT_NE(listing.find("tmpl src 0.0.0.0 dst 10.20.4.2"), std::string::npos) << "out: tunnel to the endpoint\n" << listing;
  EXPECT_NE(listing.find("tmpl src 10.20.4.2 dst 0.0.0.0"), std::string::npos) << "in/fwd: from the endpoint\n" << listing;
  EXPECT_EQ(count(listing, "mode tunnel"), 3u) << listing;
  EXPECT_EQ(ward::testing::ping_once(*a_, kAddressB), 2) << "ICMP is blocked by the kernel";
  {
    ward::testing::TcpListeners listeners(*b_, kAddressB, {7102});
    EXPECT_TRUE(ward::testing::tcp_connects(*a_, kAddressB, 7102)) << "the permit filter outranks the final block";
  }

  FilterTable second;
  second.filters = {filter(21, 0, PortRange::any(), FilterAction::Permit)};
  const auto swapped = dataplane_->install_filter_table(second);
  ASSERT_TRUE(swapped.has_value()) << swapped.error();
  listing = policies();
  EXPECT_EQ(count(listing, "dir "), 2u) << listing;
  EXPECT_EQ(listing.find("action block"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("tmpl"), std::string::npos) << listing;
  // The second table (one selector) goes in below the first.
  EXPECT_EQ(count(listing, "priority " + std::to_string(kFirstBase - xfrm::kSlotsPerRank + 2) + " "), 2u)
      << "the new table goes in below the old one\n" << listing;
  EXPECT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);

  const auto counted = dataplane_->counters();
  ASSERT_EQ(counted.filters.size(), 1u);
  EXPECT_EQ(counted.filters[0].filter_id, 21u);
  EXPECT_EQ(counted.filters[0].packets, 0u) << "XFRM policies count nothing";
  EXPECT_GE(counted.blocked, 1u) << "the blocked ping is in /proc/net/xfrm_stat";
}

TEST_F(XfrmDataplaneKernelTableTest, PermitAndBlockAreDecidedAndCountedInTheKernelFilterTable) {
  EXPECT_EQ(dataplane_->filter_placement(), "nftables table inet ward");
  FilterTable table;
  table.filters = {filter(71, 1, PortRange::any(), FilterAction::Block), filter(72, 6, PortRange::single(7401), FilterAction::Permit),
                   filter(73, 6, PortRange::any(), FilterAction::Negotiate), filter(74, 17, PortRange::any(), FilterAction::Permit)};
  ASSERT_TRUE(dataplane_->install_filter_table(table).has_value());
  // The SPD: the negotiate filter, and an allow policy for the permit filter that outranks it.
  const auto listing = policies();
  EXPECT_EQ(count(listing, "dir out"), 2u) << listing;
  EXPECT_EQ(count(listing, "dir in"), 2u) << listing;
  EXPECT_EQ(count(listing, "tmpl"), 2u) << listing;
  EXPECT_EQ(listing.find("action block"), std::string::npos) << "nftables blocks\n" << listing;
  EXPECT_NE(listing.find("proto tcp dport 7401 \n\tdir out priority"), std::string::npos) << listing;
  const auto nft = a_->exec_output("nft list table inet ward");
  EXPECT_NE(nft.find("10.20.4.1 . 10.20.4.2 . icmp counter"), std::string::npos) << nft;

  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0) << "ICMP is blocked";
  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0) << "ICMP is blocked";
  {
    ward::testing::TcpListeners listeners(*b_, kAddressB, {7401, 7402});
    EXPECT_TRUE(ward::testing::tcp_connects(*a_, kAddressB, 7401)) << "the permit filter outranks the negotiate filter";
    EXPECT_FALSE(ward::testing::tcp_connects(*a_, kAddressB, 7402)) << "no SA: nothing goes out in clear";
  }
  EXPECT_EQ(packets_of(71), 2u) << "each blocked echo request, counted by the kernel";
  EXPECT_GE(packets_of(72), 3u) << "the permitted connection's packets (SYN, ACK, FIN...)";
  EXPECT_EQ(packets_of(73), 0u) << "negotiate traffic is the SPD's";
  EXPECT_EQ(packets_of(74), 0u);
  EXPECT_GE(dataplane_->counters().blocked, 2u);
  const auto acquires = recorder_.wait_for_acquire(3s);
  ASSERT_FALSE(acquires.empty());
  EXPECT_EQ(acquires[0].filter_id, 73u) << "the SPD still raises acquires for negotiate filters";
}

// Precedence across the two halves, inbound too: a permit inside a negotiate filter's range passes
// in clear both ways (the SPD's allow policy, in and out, keeps the input policy check from dropping
// it; nftables counts it), the negotiate filter's own clear traffic is dropped on the way in (the
// input policy check, after nftables accepted it), and a negotiate filter inside a block filter's
// range is negotiated (nftables' first match for it is the negotiate filter's accept).
TEST_F(XfrmDataplaneKernelTableTest, PrecedenceHoldsAcrossNftablesAndTheSpdInBothDirections) {
  const auto a = *IpPrefix::parse("10.20.4.1/32");
  const auto b = *IpPrefix::parse("10.20.4.2/32");
  const auto make = [](std::uint32_t id, IpPrefix source, IpPrefix destination, std::uint8_t protocol, PortRange sport, PortRange dport,
                       FilterAction action) { return DriverFilter{id, source, destination, protocol, sport, dport, action, 0, {}}; };
  FilterTable table;
  table.filters = {make(61, a, b, 6, PortRange::single(7701), PortRange::any(), FilterAction::Permit),
                   make(61, b, a, 6, PortRange::any(), PortRange::single(7701), FilterAction::Permit),
                   make(62, a, b, 6, PortRange::any(), PortRange::any(), FilterAction::Negotiate),
                   make(62, b, a, 6, PortRange::any(), PortRange::any(), FilterAction::Negotiate),
                   make(63, a, b, 1, PortRange::any(), PortRange::any(), FilterAction::Negotiate),
                   make(64, a, b, 0, PortRange::any(), PortRange::any(), FilterAction::Block),
                   make(64, b, a, 0, PortRange::any(), PortRange::any(), FilterAction::Block)};
  ASSERT_TRUE(dataplane_->install_filter_table(table).has_value());
  {
    ward::testing::TcpListeners listeners(*a_, kAddressA, {7701, 7702});
    EXPECT_TRUE(ward::testing::tcp_connects(*b_, kAddressA, 7701)) << "the permit inside the negotiate filter, from B in clear";
    EXPECT_FALSE(ward::testing::tcp_connects(*b_, kAddressA, 7702)) << "clear traffic of the negotiate filter is dropped coming in";
  }
  EXPECT_GE(packets_of(61), 3u) << "the permitted connection, both directions, counted by nftables";
  EXPECT_EQ(packets_of(64), 0u);
  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0) << "no SA for the ICMP negotiate filter";
  EXPECT_EQ(packets_of(64), 0u) << "the echo request is the negotiate filter's, not the block filter's";
  const auto acquires = recorder_.wait_for_acquire(3s);
  ASSERT_FALSE(acquires.empty());
  EXPECT_EQ(acquires[0].filter_id, 63u) << "the negotiate filter inside the block filter's range is negotiated";
}

TEST_F(XfrmDataplaneKernelTableTest, ATableTheKernelFilterTableRefusesChangesNeither) {
  FilterTable first;
  first.filters = {filter(81, 1, PortRange::any(), FilterAction::Block), filter(82, 6, PortRange::single(7501), FilterAction::Negotiate)};
  ASSERT_TRUE(dataplane_->install_filter_table(first).has_value());
  const auto before = policies();
  dataplane_->kernel_table_for_testing()->inject_failure_after_ipv4_for_testing(true);
  FilterTable second;
  second.filters = {filter(91, 1, PortRange::any(), FilterAction::Permit), filter(92, 6, PortRange::single(7502), FilterAction::Negotiate)};
  const auto refused = dataplane_->install_filter_table(second);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().find("injected_failure"), std::string::npos) << refused.error();
  EXPECT_EQ(policies(), before) << "the SPD was not touched";
  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0) << "the old table still blocks ICMP";
  const auto counted = dataplane_->counters();
  ASSERT_EQ(counted.filters.size(), 2u);
  EXPECT_EQ(counted.filters[0].filter_id, 81u);
  EXPECT_EQ(counted.filters[0].packets, 1u);
}

// The SPD refuses midway, after nftables took the new table and the kernel took part of the new
// policies: both go back to the old table (the SPD's policies as they were, but for priorities), and
// Ward's view never left it.
TEST_F(XfrmDataplaneKernelTableTest, AnSpdRefusingMidwayLeavesBothHalvesOnTheOldTable) {
  FilterTable first;
  first.filters = {filter(81, 1, PortRange::any(), FilterAction::Block), filter(82, 6, PortRange::single(7501), FilterAction::Negotiate)};
  ASSERT_TRUE(dataplane_->install_filter_table(first).has_value());
  // The listing without priorities (the restored table sits lower) or the lifetime lines.
  const auto selectors = [&] {
    std::vector<std::string> lines;
    std::istringstream listing(policies());
    for (std::string line; std::getline(listing, line);) {
      if (line.find("lifetime") != std::string::npos || line.find("expire") != std::string::npos) continue;
      if (const auto at = line.find(" priority "); at != std::string::npos) line.erase(at, line.find(" ptype") - at);
      lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  const auto before = selectors();
  dataplane_->spd_for_testing().fail_after_for_testing(2);
  FilterTable second;
  second.filters = {filter(91, 1, PortRange::any(), FilterAction::Permit), filter(92, 6, PortRange::single(7502), FilterAction::Negotiate),
                    filter(93, 6, PortRange::single(7503), FilterAction::Negotiate)};
  const auto refused = dataplane_->install_filter_table(second);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().find("injected_failure after 2 XFRM policies"), std::string::npos) << refused.error();
  EXPECT_EQ(selectors(), before) << policies();
  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0) << "nftables went back to the old table: ICMP blocked";
  {
    ward::testing::TcpListeners listeners(*b_, kAddressB, {7502});
    EXPECT_TRUE(ward::testing::tcp_connects(*a_, kAddressB, 7502)) << "no policy of the refused table is left: 7502 passes";
  }
  const auto counted = dataplane_->counters();
  ASSERT_EQ(counted.filters.size(), 2u) << "Ward's view stays on the old table";
  EXPECT_EQ(counted.filters[0].filter_id, 81u);
  EXPECT_EQ(counted.filters[0].packets, 1u);
  ASSERT_TRUE(dataplane_->install_filter_table(second).has_value()) << "the same table goes in once the SPD takes it";
  EXPECT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);
}

// Room for two selector ranks in Ward's XFRM priorities: a table needing three does not fit.
class XfrmDataplaneSmallSpdTest : public XfrmDataplaneKernelTableTest {
 protected:
  XfrmOptions options() const override {
    XfrmOptions options;
    options.spd.floor = options.spd.top - 2 * xfrm::kSlotsPerRank;
    return options;
  }
};

TEST_F(XfrmDataplaneSmallSpdTest, ATableTheSpdRefusesLeavesTheKernelFilterTableOnTheOldOne) {
  FilterTable first;
  first.filters = {filter(101, 1, PortRange::any(), FilterAction::Block), filter(102, 6, PortRange::single(7601), FilterAction::Negotiate)};
  ASSERT_TRUE(dataplane_->install_filter_table(first).has_value());
  FilterTable second;
  second.filters = {filter(111, 1, PortRange::any(), FilterAction::Permit), filter(112, 6, PortRange::single(7602), FilterAction::Negotiate),
                    filter(113, 6, PortRange::single(7603), FilterAction::Negotiate),
                    filter(114, 6, PortRange::single(7604), FilterAction::Negotiate)};
  const auto refused = dataplane_->install_filter_table(second);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().find("does not fit"), std::string::npos) << refused.error();
  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0) << "nftables went back to the old table: ICMP blocked";
  const auto counted = dataplane_->counters();
  ASSERT_EQ(counted.filters.size(), 2u) << "Ward's view stays on the old table";
  EXPECT_EQ(counted.filters[0].filter_id, 101u);
  EXPECT_EQ(counted.filters[0].packets, 1u);
  const auto listing = policies();
  EXPECT_NE(listing.find("dport 7601"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("dport 7602"), std::string::npos) << listing;
  FilterTable third;
  third.filters = {filter(121, 1, PortRange::any(), FilterAction::Permit), filter(122, 6, PortRange::single(7605), FilterAction::Negotiate)};
  ASSERT_TRUE(dataplane_->install_filter_table(third).has_value()) << "a table that fits still goes in";
  EXPECT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);
}

TEST_F(XfrmDataplaneNetnsTest, NegotiateTrafficWithoutAnSaRaisesAnAcquireNamingTheFilter) {
  FilterTable table;
  table.filters = {filter(31, 6, PortRange::single(7201), FilterAction::Negotiate)};
  ASSERT_TRUE(dataplane_->install_filter_table(table).has_value());
  ward::testing::TcpListeners listeners(*b_, kAddressB, {7201});
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kAddressB, 7201)) << "no SA: nothing goes out in clear";
  const auto acquires = recorder_.wait_for_acquire(3s);
  ASSERT_FALSE(acquires.empty());
  EXPECT_EQ(acquires[0].filter_id, 31u);
  EXPECT_EQ(acquires[0].peer, *IpAddress::parse(kAddressB));
  EXPECT_EQ(acquires[0].source, *IpAddress::parse(kAddressA));
  EXPECT_EQ(acquires[0].protocol, 6);
  EXPECT_EQ(acquires[0].destination_port, 7201);
  EXPECT_GE(dataplane_->counters().acquires, 1u);
}

TEST_F(XfrmDataplaneNetnsTest, AddSaInstallsAKernelStateOrSaysTheKernelHasNoEsp) {
  SaInstall sa;
  sa.params.spi = 0x5a01;
  sa.params.direction = crypto::Direction::Outbound;
  sa.params.cipher = crypto::Cipher::AesGcm128;
  const std::vector<std::byte> key(20, std::byte{0x42});  // 16-byte key + 4-byte salt
  sa.params.encryption_key = crypto::SecureBytes(key);
  sa.filter_id = 41;
  sa.peer = *IpAddress::parse(kAddressB);
  sa.lifetime.hard_time = 3600s;
  const auto added = dataplane_->add_sa(sa);
  if (!added) {
    ASSERT_FALSE(ward::test::inside_uml()) << "the UML kernel has ESP: " << added.error();
    ASSERT_FALSE(dataplane_->capabilities().kernel_sas) << "a refusal for another reason: " << added.error();
    EXPECT_NE(added.error().find("no ESP support"), std::string::npos) << added.error();
    EXPECT_NE(added.error().find("0x00005a01"), std::string::npos) << added.error();
    EXPECT_EQ(added.error().find("4242"), std::string::npos) << "no key material in errors";
    GTEST_SKIP() << "the SA part needs a kernel with ESP: " << added.error();
  }
  const auto states = a_->exec_output("ip xfrm state");
  EXPECT_NE(states.find("spi 0x00005a01"), std::string::npos) << states;
  EXPECT_NE(states.find("src 10.20.4.1 dst 10.20.4.2"), std::string::npos) << states;
  const auto counted = dataplane_->counters();
  ASSERT_EQ(counted.sas.size(), 1u);
  EXPECT_EQ(counted.sas[0].filter_id, 41u);
  ASSERT_TRUE(dataplane_->delete_sa(0x5a01, crypto::Direction::Outbound).has_value());
  EXPECT_EQ(a_->exec_output("ip xfrm state").find("0x00005a01"), std::string::npos);
}

SaInstall esp_sa(std::uint32_t spi, crypto::Direction direction, const char* peer) {
  SaInstall sa;
  sa.params.spi = spi;
  sa.params.direction = direction;
  sa.params.cipher = crypto::Cipher::AesGcm128;
  sa.params.encryption_key = crypto::SecureBytes(std::vector<std::byte>(20, std::byte{0x42}));  // 16-byte key + 4-byte salt
  sa.filter_id = 41;
  sa.peer = *IpAddress::parse(peer);
  sa.lifetime.hard_time = 3600s;
  return sa;
}

// SA identity (peer, SPI, direction), as in the userspace dataplanes: two peers may choose the same
// outbound SPI and both kernel states stand; deleting by SPI alone is then refused as ambiguous and
// deleting by peer takes the right one; an inbound SPI already another peer's is refused.
TEST_F(XfrmDataplaneNetnsTest, AnSaIsNamedByPeerSpiAndDirection) {
  constexpr const char* kAddressC = "10.20.4.3";  // a second peer, on B's link
  ASSERT_EQ(b_->exec(std::string("ip addr add ") + kAddressC + "/24 dev " + links_.second), 0);
  const auto to_b = dataplane_->add_sa(esp_sa(0x5b01, crypto::Direction::Outbound, kAddressB));
  if (!to_b) {
    ASSERT_FALSE(ward::test::inside_uml()) << "the UML kernel has ESP: " << to_b.error();
    GTEST_SKIP() << "kernel SAs need a kernel with ESP: " << to_b.error();
  }
  ASSERT_TRUE(dataplane_->add_sa(esp_sa(0x5b01, crypto::Direction::Outbound, kAddressC)).has_value()) << "another peer, the same SPI";
  auto states = a_->exec_output("ip xfrm state");
  EXPECT_EQ(count(states, "spi 0x00005b01"), 2u) << states;
  const auto ambiguous = dataplane_->delete_sa(0x5b01, crypto::Direction::Outbound);
  ASSERT_FALSE(ambiguous.has_value());
  EXPECT_NE(ambiguous.error().find("10.20.4.2, 10.20.4.3: name the peer"), std::string::npos) << ambiguous.error();
  ASSERT_TRUE(dataplane_->delete_sa_of_peer(0x5b01, crypto::Direction::Outbound, *IpAddress::parse(kAddressC)).has_value());
  states = a_->exec_output("ip xfrm state");
  EXPECT_EQ(count(states, "spi 0x00005b01"), 1u) << states;
  EXPECT_NE(states.find("src 10.20.4.1 dst 10.20.4.2"), std::string::npos) << "B's SA stays\n" << states;
  EXPECT_EQ(states.find("dst 10.20.4.3"), std::string::npos) << states;

  ASSERT_TRUE(dataplane_->add_sa(esp_sa(0x5b02, crypto::Direction::Inbound, kAddressB)).has_value());
  const auto taken = dataplane_->add_sa(esp_sa(0x5b02, crypto::Direction::Inbound, kAddressC));
  ASSERT_FALSE(taken.has_value());
  EXPECT_NE(taken.error().find("inbound SPI 23298 is already the SA from 10.20.4.2's; refused for 10.20.4.3"), std::string::npos) << taken.error();
  const auto counted = dataplane_->counters();
  ASSERT_EQ(counted.sas.size(), 2u);
  for (const auto& sa : counted.sas) EXPECT_EQ(sa.peer, *IpAddress::parse(kAddressB));
  EXPECT_FALSE(dataplane_->delete_sa_of_peer(0x5b02, crypto::Direction::Inbound, *IpAddress::parse(kAddressC)).has_value());
  EXPECT_TRUE(dataplane_->delete_sa(0x5b02, crypto::Direction::Inbound).has_value()) << "one SA with the SPI: no peer needed";
}

// SPIs chosen by the kernel (XFRM_MSG_ALLOCSPI): distinct, held as larval states, and the SA installed
// with one completes its larval state (XFRM_MSG_UPDSA) instead of colliding with it.
TEST_F(XfrmDataplaneNetnsTest, TheKernelAllocatesInboundSpisAndTheSaTakesItsLarvalState) {
  const auto first = dataplane_->allocate_spi(crypto::SecurityProtocol::Esp, *IpAddress::parse(kAddressB));
  ASSERT_TRUE(first.has_value()) << first.error();
  const auto second = dataplane_->allocate_spi(crypto::SecurityProtocol::Esp, *IpAddress::parse(kAddressB));
  ASSERT_TRUE(second.has_value()) << second.error();
  EXPECT_NE(*first, *second);
  EXPECT_GE(*first, 0x100u) << "1-255 are reserved";
  char first_text[16];
  std::snprintf(first_text, sizeof first_text, "0x%08x", *first);
  auto states = a_->exec_output("ip xfrm state");
  EXPECT_NE(states.find(std::string("spi ") + first_text), std::string::npos) << states;
  EXPECT_NE(states.find("src 10.20.4.2 dst 10.20.4.1"), std::string::npos) << "held for B's SA to this host\n" << states;

  const auto added = dataplane_->add_sa(esp_sa(*first, crypto::Direction::Inbound, kAddressB));
  if (!added) {
    ASSERT_FALSE(ward::test::inside_uml()) << "the UML kernel has ESP: " << added.error();
    GTEST_SKIP() << "completing the state needs a kernel with ESP: " << added.error();
  }
  states = a_->exec_output("ip xfrm state");
  EXPECT_EQ(count(states, std::string("spi ") + first_text), 1u) << states;
  EXPECT_NE(states.find("rfc4106(gcm(aes))"), std::string::npos) << "the larval state became the SA\n" << states;
  dataplane_.reset();
  EXPECT_EQ(a_->exec_output("ip xfrm state"), "") << "the unused allocation went with the dataplane";
}

// Dataplane::release_spi: the larval state goes at once (a failed negotiation's SPI is free again),
// only a reserved SPI is released, and an SA from another peer never takes a larval state.
TEST_F(XfrmDataplaneNetnsTest, AReleasedSpiLeavesNoLarvalStateAndAnotherPeerCannotTakeOne) {
  const auto peer_b = *IpAddress::parse(kAddressB);
  const auto spi = dataplane_->allocate_spi(crypto::SecurityProtocol::Esp, peer_b);
  ASSERT_TRUE(spi.has_value()) << spi.error();
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", *spi);
  ASSERT_NE(a_->exec_output("ip xfrm state").find(std::string("spi ") + text), std::string::npos);

  const auto taken = dataplane_->add_sa(esp_sa(*spi, crypto::Direction::Inbound, "10.20.4.3"));   // another peer on B's link
  ASSERT_FALSE(taken.has_value());
  EXPECT_NE(taken.error().find("inbound SPI " + std::to_string(*spi) + " is reserved for a negotiation with 10.20.4.2; refused for 10.20.4.3"),
            std::string::npos)
      << taken.error();

  EXPECT_FALSE(dataplane_->release_spi(*spi, crypto::SecurityProtocol::Ah).has_value()) << "reserved for ESP, not AH";
  ASSERT_TRUE(dataplane_->release_spi(*spi, crypto::SecurityProtocol::Esp).has_value());
  EXPECT_EQ(a_->exec_output("ip xfrm state").find(std::string("spi ") + text), std::string::npos) << "the larval state is gone";
  const auto again = dataplane_->release_spi(*spi, crypto::SecurityProtocol::Esp);
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().find("is not reserved"), std::string::npos) << again.error();
}

TEST_F(XfrmDataplaneWithoutKernelTableTest, ClosingRemovesOnlyWhatWardInstalled) {
  ASSERT_EQ(a_->exec("ip xfrm policy add src 10.20.4.1/32 dst 10.20.4.9/32 dir out priority 10 action block"), 0);
  FilterTable table;
  table.filters = {filter(51, 1, PortRange::any(), FilterAction::Block), filter(52, 6, PortRange{7300, 7303}, FilterAction::Negotiate)};
  ASSERT_TRUE(dataplane_->install_filter_table(table).has_value());
  EXPECT_EQ(count(policies(), "dir "), 5u) << policies();
  dataplane_.reset();
  const auto listing = policies();
  EXPECT_EQ(count(listing, "dir "), 1u) << listing;
  EXPECT_NE(listing.find("10.20.4.9/32"), std::string::npos) << "someone else's policy stays\n" << listing;
  EXPECT_EQ(a_->exec_output("ip xfrm state"), "");
}

TEST_F(XfrmDataplaneNetnsTest, StartingRemovesPoliciesACrashedPredecessorLeftInWardsBand) {
  FilterTable table;
  table.filters = {filter(61, 1, PortRange::any(), FilterAction::Block)};
  ASSERT_TRUE(dataplane_->install_filter_table(table).has_value());
  ASSERT_EQ(a_->exec("ip xfrm policy add src 10.20.4.1/32 dst 10.20.4.8/32 dir out priority " + std::to_string(kFirstBase - 100) +
                     " action block"),
            0);
  std::unique_ptr<XfrmDataplane> second;
  a_->run_inside([&] {
    auto started = XfrmDataplane::start(recorder_);
    ASSERT_TRUE(started.has_value()) << started.error();
    second = std::move(*started);
  });
  EXPECT_EQ(count(policies(), "dir "), 0u) << policies();
}

}  // namespace
}  // namespace ward::driver
