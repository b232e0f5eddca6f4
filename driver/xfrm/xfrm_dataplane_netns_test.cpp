// XfrmDataplane against the real kernel SPD/SAD, in throwaway network namespaces the test creates.
#include "driver/xfrm/xfrm_dataplane.h"

#include <condition_variable>
#include <mutex>

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
    a_ = std::make_unique<Netns>("xfrmdp-a");
    b_ = std::make_unique<Netns>("xfrmdp-b");
    ward::testing::connect_veth(*a_, std::string(kAddressA) + "/24", *b_, std::string(kAddressB) + "/24");
    a_->run_inside([&] {
      auto started = XfrmDataplane::start(recorder_);
      ASSERT_TRUE(started.has_value()) << started.error();
      dataplane_ = std::move(*started);
    });
    ASSERT_NE(dataplane_, nullptr);
  }
  void TearDown() override { dataplane_.reset(); }

  std::string policies() const { return a_->exec_output("ip xfrm policy"); }

  Recorder recorder_;
  std::unique_ptr<Netns> a_, b_;
  std::unique_ptr<XfrmDataplane> dataplane_;
};

TEST_F(XfrmDataplaneNetnsTest, TheTableBecomesPrioritisedPoliciesAndASwapLeavesNothingOfTheOld) {
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
  EXPECT_GE(counted.blocked, 1u) << "the blocked ping is in /proc/net/xfrm_stat";
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

TEST_F(XfrmDataplaneNetnsTest, ClosingRemovesOnlyWhatWardInstalled) {
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
