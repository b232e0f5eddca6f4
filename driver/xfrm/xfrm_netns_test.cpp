// The xfrm backend against the real kernel SPD, in throwaway network namespaces.
#include <algorithm>
#include <set>
#include <sstream>
#include <cstdio>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "driver/xfrm/kernel_probe.h"
#include "driver/xfrm/xfrm_acquire.h"
#include "driver/xfrm/xfrm_sad.h"
#include "driver/xfrm/xfrm_spd.h"
#include "tests/harness/uml_kernel.h"
#include "tests/netns/netns.h"

namespace ward::driver::xfrm {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;

constexpr const char* kAddressA = "10.20.3.1";
constexpr const char* kAddressB = "10.20.3.2";

DriverFilter filter(std::uint32_t id, std::uint8_t protocol, PortRange dport, FilterAction action) {
  return {id, *IpPrefix::parse("10.20.3.1/32"), *IpPrefix::parse("10.20.3.2/32"), protocol, PortRange::any(), dport, action, 0, {}};
}

std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

class XfrmNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    a_ = std::make_unique<Netns>("xfrm-a");
    b_ = std::make_unique<Netns>("xfrm-b");
    ward::testing::connect_veth(*a_, std::string(kAddressA) + "/24", *b_, std::string(kAddressB) + "/24");
  }

  // The Spd and its socket live in a's namespace.
  Spd& spd() {
    if (!spd_) {
      a_->run_inside([&] {
        auto socket = XfrmSocket::open();
        ASSERT_TRUE(socket.has_value()) << socket.error();
        socket_ = std::move(*socket);
      });
      spd_ = std::make_unique<Spd>(*socket_);
    }
    return *spd_;
  }
  Expected<SpdSummary, std::string> install(const FilterTable& table) { return spd().install_table(table); }

  std::unique_ptr<Netns> a_, b_;
  std::unique_ptr<XfrmSocket> socket_;
  std::unique_ptr<Spd> spd_;
};

TEST_F(XfrmNetnsTest, TheKernelEnforcesTheTableInPrecedenceOrder) {
  FilterTable table;
  table.filters = {filter(11, 1, PortRange::any(), FilterAction::Block),
                   filter(12, 6, PortRange::single(7101), FilterAction::Negotiate),
                   filter(13, 6, PortRange{7102, 7103}, FilterAction::Permit),
                   filter(14, 0, PortRange::any(), FilterAction::Block)};
  const auto installed = install(table);
  ASSERT_TRUE(installed.has_value()) << installed.error();
  // 7102-7103 is one value/mask pair; every selector gets an in and an out policy.
  EXPECT_EQ(installed->policies_added, 8u);
  const auto listing = a_->exec_output("ip xfrm policy");
  EXPECT_EQ(count_lines(listing, "dir out"), 4u) << listing;
  EXPECT_EQ(count_lines(listing, "dir in"), 4u) << listing;
  EXPECT_NE(listing.find("proto tcp dport 7101"), std::string::npos) << listing;
  // Rank 0's own policy: the first table goes just below the top of Ward's priorities.
  EXPECT_EQ(installed->base, SpdOptions{}.top - 4 * kSlotsPerRank);
  EXPECT_NE(listing.find("priority " + std::to_string(installed->base + 2) + " "), std::string::npos) << listing;

  ward::testing::TcpListeners listeners(*b_, kAddressB, {7101, 7102});
  // A block policy makes the kernel refuse the send itself (EPERM): ping exits 2, not 1.
  EXPECT_EQ(ward::testing::ping_once(*a_, kAddressB), 2) << "ICMP is blocked";
  EXPECT_NE(a_->exec_output(std::string("ping -c1 -W1 ") + kAddressB + " 2>&1").find("Operation not permitted"), std::string::npos);
  EXPECT_TRUE(ward::testing::tcp_connects(*a_, kAddressB, 7102)) << "the permit filter outranks the final block";

  // Traffic for the negotiate filter makes the kernel ask for an SA, naming the filter.
  std::vector<KernelAcquire> acquires;
  std::thread listener([&] {
    a_->run_inside([&] {
      auto acquire_listener = AcquireListener::open();
      ASSERT_TRUE(acquire_listener.has_value()) << acquire_listener.error();
      for (int i = 0; i < 30 && acquires.empty(); ++i) acquires = acquire_listener->wait(100ms);
    });
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kAddressB, 7101)) << "no SA: the packet is held, not sent in clear";
  listener.join();
  ASSERT_FALSE(acquires.empty());
  EXPECT_EQ(acquires[0].reqid, 12u);
  EXPECT_EQ(acquires[0].destination, *IpAddress::parse(kAddressB));
  EXPECT_EQ(acquires[0].protocol, 6);
  EXPECT_EQ(acquires[0].destination_port, 7101);
}

TEST_F(XfrmNetnsTest, ANewTableReplacesTheOldOneAndRemovalLeavesNothing) {
  FilterTable first;
  first.filters = {filter(1, 1, PortRange::any(), FilterAction::Block), filter(2, 6, PortRange::single(80), FilterAction::Block)};
  const auto installed = install(first);
  ASSERT_TRUE(installed.has_value());
  FilterTable second;
  second.filters = {filter(1, 1, PortRange::any(), FilterAction::Permit)};
  const auto swapped = install(second);
  ASSERT_TRUE(swapped.has_value()) << swapped.error();
  EXPECT_TRUE(swapped->consistent);
  EXPECT_EQ(swapped->base + kSlotsPerRank, installed->base) << "a new table goes in just below the old one";
  EXPECT_EQ(swapped->policies_added, 2u);
  EXPECT_EQ(swapped->policies_removed, 2u);  // the port-80 pair; the ICMP pair was replaced in place
  const auto listing = a_->exec_output("ip xfrm policy");
  EXPECT_EQ(count_lines(listing, "dir "), 2u) << listing;
  EXPECT_EQ(listing.find("action block"), std::string::npos) << listing;
  EXPECT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);

  // Someone else's policy outside Ward's priorities is left alone.
  ASSERT_EQ(a_->exec("ip xfrm policy add src 10.20.3.1/32 dst 10.20.3.9/32 dir out priority 10 action block"), 0);
  const auto removed = spd().remove_all();
  ASSERT_TRUE(removed.has_value()) << removed.error();
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(count_lines(a_->exec_output("ip xfrm policy"), "dir "), 1u);
}

TEST_F(XfrmNetnsTest, KernelSasInstallWhereTheKernelHasEsp) {
  KernelSa sa;
  sa.source = *IpAddress::parse(kAddressA);
  sa.destination = *IpAddress::parse(kAddressB);
  sa.spi = 0x1234;
  sa.reqid = 12;
  sa.keys.aead = "rfc4106(gcm(aes))";
  sa.keys.aead_key.assign(20, 0x42);  // 16-byte key + 4-byte salt
  int error = 0;
  a_->run_inside([&] {
    auto socket = XfrmSocket::open();
    ASSERT_TRUE(socket.has_value());
    auto added = add_sa(**socket, sa);
    if (!added) error = added.error();
  });
  if (error != 0 && kernel_lacks_esp(error) && !ward::test::inside_uml()) {
    GTEST_SKIP() << "this kernel has no ESP/GCM (adding an SA fails: " << std::strerror(error)
                 << "); the xfrm backend's SA path needs a kernel with esp4 and rfc4106(gcm(aes))";
  }
  ASSERT_EQ(error, 0) << std::strerror(error);
  const auto states = a_->exec_output("ip xfrm state");
  EXPECT_NE(states.find("spi 0x00001234"), std::string::npos) << states;
}

// `[driver] backend = auto` trusts the probe: it must say what adding a state in a namespace says
// (on the host: no ESP, so nfqueue; inside User-mode Linux: ESP and AH, so xfrm), and leave nothing
// behind in the caller's namespace.
TEST_F(XfrmNetnsTest, TheKernelProbeSaysWhatAddingAStateSays) {
  KernelIpsecProbe probe;
  int esp_error = 0, ah_error = 0;
  a_->run_inside([&] {
    probe = probe_kernel_ipsec();
    auto socket = XfrmSocket::open();
    ASSERT_TRUE(socket.has_value());
    KernelSa esp;
    esp.source = *IpAddress::parse(kAddressA);
    esp.destination = *IpAddress::parse(kAddressB);
    esp.spi = 0x2345;
    esp.keys.aead = "rfc4106(gcm(aes))";
    esp.keys.aead_key.assign(20, 0x42);
    esp.keys.icv_bits = 128;
    if (auto added = add_sa(**socket, esp); !added) esp_error = added.error();
    KernelSa ah = esp;
    ah.protocol = kAhProtocol;
    ah.keys = {};
    ah.keys.integrity = "hmac(sha256)";
    ah.keys.integrity_key.assign(32, 0x42);
    ah.keys.icv_bits = 128;
    if (auto added = add_sa(**socket, ah); !added) ah_error = added.error();
  });
  std::printf("probe: %s\n", probe.detail.c_str());
  EXPECT_EQ(probe.esp, esp_error == 0) << probe.detail << "; adding ESP here: " << std::strerror(esp_error);
  EXPECT_EQ(probe.ah, ah_error == 0) << probe.detail << "; adding AH here: " << std::strerror(ah_error);
  if (ward::test::inside_uml()) {
    EXPECT_TRUE(probe.esp && probe.ah) << probe.detail;
    EXPECT_NE(probe.detail.find("scratch network namespace"), std::string::npos) << probe.detail;
  }
  // Only the test's own two states are in a's SAD: the probe's went with its scratch namespace.
  const auto states = a_->exec_output("ip xfrm state");
  EXPECT_EQ(states.find("spi 0x000000fe"), std::string::npos) << states;
}

}  // namespace
}  // namespace ward::driver::xfrm

namespace ward::driver::xfrm {
namespace {

// `ip xfrm policy`'s entries, whatever order the kernel lists them in.
std::multiset<std::string> policy_set(const std::string& listing) {
  std::multiset<std::string> out;
  std::string current;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("src ", 0) == 0 && !current.empty()) {
      out.insert(current);
      current.clear();
    }
    current += line + "\n";
  }
  if (!current.empty()) out.insert(current);
  return out;
}

// One selector, two claims: a host-to-host filter narrowed to its own peer is the filter's own
// selector, so the pair's policy (AH+ESP templates) takes the kernel's one slot and the filter's
// ESP trap comes back when the pair's SAs are gone.
TEST_F(XfrmNetnsTest, APeerPolicyTakesItsFiltersSelectorAndGivesItBack) {
  FilterTable table;
  auto reply = filter(21, 0, PortRange::any(), FilterAction::Negotiate);
  std::swap(reply.source, reply.destination);
  table.filters = {filter(21, 0, PortRange::any(), FilterAction::Negotiate), reply};
  ASSERT_TRUE(install(table).has_value());
  const auto before = a_->exec_output("ip xfrm policy");
  EXPECT_EQ(count_lines(before, "proto esp"), 4u) << before;
  EXPECT_EQ(before.find("proto ah"), std::string::npos) << before;

  ASSERT_TRUE(spd().protect_peer(21, *IpAddress::parse(kAddressB), Protection{true, true, std::nullopt}).has_value());
  // Outbound to the peer and inbound from it carry the bundle; the other two (a mirrored filter's
  // policies that never see a packet here) keep the trap.
  const auto bundled = a_->exec_output("ip xfrm policy");
  EXPECT_EQ(count_lines(bundled, "dir "), 4u) << "still one policy per selector and direction\n" << bundled;
  EXPECT_EQ(count_lines(bundled, "proto ah"), 2u) << bundled;
  EXPECT_EQ(count_lines(bundled, "proto esp"), 4u) << bundled;

  ASSERT_TRUE(spd().unprotect_peer(21, *IpAddress::parse(kAddressB)).has_value());
  EXPECT_EQ(policy_set(a_->exec_output("ip xfrm policy")), policy_set(before));
}

// A soft association sits at its filter's rank: a more specific block before the filter still
// wins, and it goes with a table that no longer has the filter.
TEST_F(XfrmNetnsTest, ASoftAssociationKeepsItsFiltersRank) {
  FilterTable table;
  table.filters = {filter(31, 1, PortRange::any(), FilterAction::Block), filter(32, 0, PortRange::any(), FilterAction::Negotiate)};
  ASSERT_TRUE(install(table).has_value());
  ASSERT_TRUE(spd().add_soft_association(32, *IpAddress::parse(kAddressB)).has_value());
  ward::testing::TcpListeners listeners(*b_, kAddressB, {7110});
  EXPECT_TRUE(ward::testing::tcp_connects(*a_, kAddressB, 7110)) << "the filter's traffic passes in clear";
  const auto blocked = [&] { return a_->exec_output("grep XfrmOutPolBlock /proc/net/xfrm_stat"); };
  const auto blocked_before = blocked();
  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0);
  EXPECT_NE(blocked(), blocked_before) << "the ICMP block before the filter still wins\n" << a_->exec_output("ip xfrm policy");
  EXPECT_FALSE(spd().add_soft_association(31, *IpAddress::parse(kAddressB)).has_value()) << "not a negotiate filter";

  FilterTable without;
  without.filters = {filter(31, 1, PortRange::any(), FilterAction::Block)};
  ASSERT_TRUE(install(without).has_value());
  EXPECT_EQ(count_lines(a_->exec_output("ip xfrm policy"), "dir "), 2u) << a_->exec_output("ip xfrm policy");
}

}  // namespace
}  // namespace ward::driver::xfrm
