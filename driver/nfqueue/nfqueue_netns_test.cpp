// The nfqueue backend's kernel plumbing on real packets: two hosts in network namespaces joined by
// a veth pair; host A gets a filter table; block, permit and queue-to-Ward are checked with real
// TCP connections and pings.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "driver/kernel_table/kernel_table.h"
#include "driver/nfqueue/netfilter_queue.h"
#include "driver/nfqueue/nfqueue_dataplane.h"
#include "driver/packet/packet_summary.h"
#include "tests/netns/netns.h"

namespace ward::driver {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;

constexpr const char* kAddressA = "10.20.1.1";
constexpr const char* kAddressB = "10.20.1.2";
constexpr std::uint16_t kQueuedPort = 7001;
constexpr std::uint16_t kBlockedPort = 7002;
constexpr std::uint16_t kPermittedPort = 7003;

DriverFilter filter(const char* source, const char* destination, std::uint8_t protocol, std::uint16_t dport, FilterAction action) {
  return {1, *IpPrefix::parse(source), *IpPrefix::parse(destination), protocol, PortRange::any(),
          dport ? PortRange::single(dport) : PortRange::any(), action, 0, {}};
}

bool tcp_connects(const Netns& ns, std::uint16_t port) { return ward::testing::tcp_connects(ns, kAddressB, port); }

// Pings B once from A: 0 when it answered, 1 when it did not; any other status is a broken test.
int ping_status(const Netns& from) {
  const int status = ward::testing::ping_once(from, kAddressB);
  EXPECT_TRUE(status == 0 || status == 1) << "ping exited " << status;
  return status;
}

class NfqueueNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    a_ = std::make_unique<Netns>("nfq-a");
    b_ = std::make_unique<Netns>("nfq-b");
    links_ = ward::testing::connect_veth(*a_, std::string(kAddressA) + "/24", *b_, std::string(kAddressB) + "/24");
  }

  // Serves queue 0 in A until `stop`, accepting (or dropping) every packet and counting it.
  void serve_queue(Verdict verdict) {
    std::atomic<bool> ready{false};
    queue_thread_ = std::thread([this, verdict, &ready] {
      a_->run_inside([&] {
        auto queue = NetfilterQueue::open(QueueOptions{});
        if (!queue) {
          queue_error_ = queue.error();
          ready = true;
          return;
        }
        ready = true;
        while (!stop_) {
          auto handled = (*queue)->receive(
              [&](const QueuedPacket& packet) {
                const auto summary = summarize_ip_packet(packet.payload);
                if (summary && summary->destination_port == kQueuedPort) ++queued_to_port_;
                ++queued_;
                (void)(*queue)->verdict(packet.id, verdict);
              },
              50ms);
          if (!handled) queue_error_ = handled.error();
          if (auto flushed = (*queue)->flush(); !flushed) queue_error_ = flushed.error();
        }
      });
    });
    while (!ready) std::this_thread::sleep_for(5ms);
  }

  void TearDown() override {
    stop_ = true;
    if (queue_thread_.joinable()) queue_thread_.join();
  }

  // Installs `table` in A's kernel (the table lives as long as the fixture).
  void install(const FilterTable& table) {
    std::string error;
    a_->run_inside([&] {
      if (!kernel_) {
        auto opened = KernelTable::open({});
        if (!opened) {
          error = opened.error();
          return;
        }
        kernel_ = std::move(*opened);
      }
      if (auto installed = kernel_->install(table, {}); !installed) error = installed.error();
    });
    ASSERT_TRUE(error.empty()) << error;
  }

  std::unique_ptr<Netns> a_, b_;
  std::pair<std::string, std::string> links_;
  std::thread queue_thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> queued_{0};
  std::atomic<int> queued_to_port_{0};
  std::string queue_error_;
  std::unique_ptr<KernelTable> kernel_;
};

TEST_F(NfqueueNetnsTest, BlockPermitAndNegotiateAreDecidedWhereTheyShouldBe) {
  FilterTable table;
  table.filters = {filter("10.20.1.1/32", "10.20.1.2/32", 1, 0, FilterAction::Block),
                   filter("10.20.1.1/32", "10.20.1.2/32", 6, kBlockedPort, FilterAction::Block),
                   filter("10.20.1.1/32", "10.20.1.2/32", 6, kQueuedPort, FilterAction::Negotiate),
                   filter("10.20.1.1/32", "10.20.1.2/32", 6, 0, FilterAction::Permit)};
  install(table);
  ward::testing::TcpListeners listener(*b_, kAddressB, {kQueuedPort, kBlockedPort, kPermittedPort});
  serve_queue(Verdict::Accept);

  EXPECT_EQ(ping_status(*a_), 1) << "ICMP should be blocked";
  EXPECT_FALSE(tcp_connects(*a_, kBlockedPort));
  EXPECT_TRUE(tcp_connects(*a_, kPermittedPort));
  EXPECT_EQ(queued_, 0) << "permit and block are decided in the kernel, nothing reaches the queue";
  EXPECT_TRUE(tcp_connects(*a_, kQueuedPort));
  EXPECT_GE(queued_to_port_, 1) << "the SYN to the negotiate port went through Ward";
  EXPECT_TRUE(queue_error_.empty()) << queue_error_;

  // Replacing the table is one transaction: the new table applies, the old one is gone.
  table.filters = {filter("10.20.1.1/32", "10.20.1.2/32", 1, 0, FilterAction::Permit)};
  install(table);
  EXPECT_EQ(ping_status(*a_), 0);
  EXPECT_TRUE(tcp_connects(*a_, kBlockedPort));
  ASSERT_TRUE(kernel_->remove().has_value());
  EXPECT_EQ(a_->exec_output("nft list tables"), "");
}

TEST_F(NfqueueNetnsTest, QueuedPacketsThatWardDropsNeverArrive) {
  FilterTable table;
  table.filters = {filter("10.20.1.1/32", "10.20.1.2/32", 6, kQueuedPort, FilterAction::Negotiate)};
  install(table);
  ward::testing::TcpListeners listener(*b_, kAddressB, {kQueuedPort});
  serve_queue(Verdict::Drop);
  EXPECT_FALSE(tcp_connects(*a_, kQueuedPort));
  EXPECT_GE(queued_to_port_, 1);
}

TEST_F(NfqueueNetnsTest, WithoutWardListeningQueuedTrafficFailsClosed) {
  FilterTable table;
  table.filters = {filter("10.20.1.1/32", "10.20.1.2/32", 6, kQueuedPort, FilterAction::Negotiate)};
  install(table);
  ward::testing::TcpListeners listener(*b_, kAddressB, {kQueuedPort});
  EXPECT_FALSE(tcp_connects(*a_, kQueuedPort));
}

class NullListener final : public DataplaneListener {
 public:
  void on_acquire(const Acquire&) override {}
  void on_expiry(const SaExpiry&) override {}
};

std::vector<std::uint32_t> filter_ids(const DataplaneCounters& counters) {
  std::vector<std::uint32_t> ids;
  for (const auto& f : counters.filters) ids.push_back(f.filter_id);
  return ids;
}

// The table goes to the kernel in one transaction and into the engine only after the kernel took
// it: a failure after the IPv4 part of the transaction leaves IPv4, IPv6 and the engine on the old
// table.
TEST_F(NfqueueNetnsTest, AFailedInstallLeavesBothFamiliesAndTheEngineOnTheOldTable) {
  a_->exec("ip -6 addr add fd00:20:1::1/64 dev " + links_.first + " nodad");
  b_->exec("ip -6 addr add fd00:20:1::2/64 dev " + links_.second + " nodad");
  const auto pings = [&](const char* address) { return a_->exec(std::string("ping -c1 -W1 ") + address + " >/dev/null 2>&1") == 0; };
  ASSERT_TRUE(pings(kAddressB));
  ASSERT_TRUE(pings("fd00:20:1::2"));
  NullListener listener;
  std::unique_ptr<NfqueueDataplane> dataplane;
  a_->run_inside([&] {
    auto started = NfqueueDataplane::start(listener, NfqueueOptions{});
    ASSERT_TRUE(started) << started.error();
    dataplane = std::move(*started);
  });
  ASSERT_TRUE(dataplane);
  const auto icmp = [](std::uint32_t id, const char* from, const char* to, std::uint8_t protocol, FilterAction action) {
    DriverFilter f = filter(from, to, protocol, 0, action);
    f.id = id;
    return f;
  };
  FilterTable blocking;
  blocking.filters = {icmp(1, "10.20.1.1/32", "10.20.1.2/32", 1, FilterAction::Block),
                      icmp(2, "fd00:20:1::1/128", "fd00:20:1::2/128", 58, FilterAction::Block)};
  FilterTable permitting;
  permitting.filters = {icmp(11, "10.20.1.1/32", "10.20.1.2/32", 1, FilterAction::Permit),
                        icmp(12, "fd00:20:1::1/128", "fd00:20:1::2/128", 58, FilterAction::Permit)};
  ASSERT_TRUE(dataplane->install_filter_table(blocking).has_value());
  EXPECT_FALSE(pings(kAddressB));
  EXPECT_FALSE(pings("fd00:20:1::2"));

  dataplane->kernel_table().inject_failure_after_ipv4_for_testing(true);
  auto refused = dataplane->install_filter_table(permitting);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("injected_failure"), std::string::npos) << refused.error();
  EXPECT_EQ(filter_ids(dataplane->counters()), (std::vector<std::uint32_t>{1, 2})) << "the engine keeps the old table";
  EXPECT_FALSE(pings(kAddressB)) << "IPv4 stays on the old table";
  EXPECT_FALSE(pings("fd00:20:1::2")) << "IPv6 stays on the old table";
  const auto counters = dataplane->counters();
  EXPECT_GE(counters.filters[0].packets, 2U) << "the kernel's block counter, merged into the filter's";

  dataplane->kernel_table().inject_failure_after_ipv4_for_testing(false);
  ASSERT_TRUE(dataplane->install_filter_table(permitting).has_value());
  EXPECT_EQ(filter_ids(dataplane->counters()), (std::vector<std::uint32_t>{11, 12}));
  EXPECT_TRUE(pings(kAddressB));
  EXPECT_TRUE(pings("fd00:20:1::2"));
}

// Drops `capability` from the calling thread's effective and permitted sets (threads it creates
// inherit that). False when the kernel refused.
bool drop_from_this_thread(int capability) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  const auto bit = 1u << (capability % 32);
  data[capability / 32].effective &= ~bit;
  data[capability / 32].permitted &= ~bit;
  return syscall(SYS_capset, &header, data) == 0;
}

// The kernel table's socket belongs to the namespace the dataplane started in: wardd installs
// there without setns (no CAP_SYS_ADMIN, nothing for systemd's RestrictNamespaces= to refuse), and
// a caller in another namespace (this test's main thread) still reaches the dataplane's.
TEST_F(NfqueueNetnsTest, TheTableGoesToTheDataplanesNamespaceWithoutSetns) {
  NullListener listener;
  FilterTable table;
  table.filters = {filter("10.20.1.1/32", "10.20.1.2/32", 6, kBlockedPort, FilterAction::Block)};
  std::string error;
  a_->run_inside([&] {
    // As the packaged unit grants: neither CAP_SYS_ADMIN nor CAP_NET_RAW (the per-packet path
    // opens no raw socket).
    if (!drop_from_this_thread(CAP_SYS_ADMIN) || !drop_from_this_thread(CAP_NET_RAW)) {
      error = "capset failed";
      return;
    }
    auto dataplane = NfqueueDataplane::start(listener, NfqueueOptions{});
    if (!dataplane) {
      error = dataplane.error();
      return;
    }
    if (auto installed = (*dataplane)->install_filter_table(table); !installed) error = installed.error();
  });
  EXPECT_TRUE(error.empty()) << error;

  std::unique_ptr<NfqueueDataplane> dataplane;
  a_->run_inside([&] {
    auto started = NfqueueDataplane::start(listener, NfqueueOptions{});
    if (started) dataplane = std::move(*started);
  });
  ASSERT_TRUE(dataplane);
  ASSERT_TRUE(dataplane->install_filter_table(table).has_value());  // from outside A
  ward::testing::TcpListeners tcp(*b_, kAddressB, {kBlockedPort});
  EXPECT_FALSE(tcp_connects(*a_, kBlockedPort));
  EXPECT_NE(a_->exec_output("nft list tables").find("inet ward"), std::string::npos);
}

// [driver] fast_path = yes under a unit without CAP_NET_RAW: the raw sockets and the packet ring
// cannot be opened, so TCP segmentation and the ring are left off, each with its reason, and the
// dataplane starts (per-packet TCP, decrypted packets through the TUN device) instead of failing.
TEST_F(NfqueueNetnsTest, TheFastPathWithoutCapNetRawStartsWithWhatItCanOpen) {
  NullListener listener;
  std::string error;
  std::unique_ptr<NfqueueDataplane> dataplane;
  a_->run_inside([&] {
    if (!drop_from_this_thread(CAP_NET_RAW)) {
      error = "capset failed";
      return;
    }
    NfqueueOptions options;
    options.tcp_segmentation = options.tun_injection = options.esp_ring = true;
    auto started = NfqueueDataplane::start(listener, options);
    if (!started) {
      error = started.error();
      return;
    }
    dataplane = std::move(*started);
  });
  ASSERT_TRUE(dataplane) << error;
  EXPECT_FALSE(dataplane->tcp_segmentation_used());
  EXPECT_NE(dataplane->tcp_segmentation_error().find("raw IPv4 socket"), std::string::npos) << dataplane->tcp_segmentation_error();
  EXPECT_FALSE(dataplane->esp_ring_used());
  const auto status = dataplane->fast_path_status();
  EXPECT_NE(status.find("TCP segmentation off (raw IPv4 socket"), std::string::npos) << status;
  EXPECT_NE(status.find("ESP ring off (packet socket"), std::string::npos) << status;
  // Without the segmentation there is no TCP queue: TCP through negotiate filters goes to queue 0.
  FilterTable table;
  table.filters = {filter("10.20.1.1/32", "10.20.1.2/32", 6, kQueuedPort, FilterAction::Negotiate)};
  ASSERT_TRUE(dataplane->install_filter_table(table).has_value());
  const auto negotiate = a_->exec_output("nft list chain inet ward negotiate 2>&1");
  EXPECT_NE(negotiate.find("queue num 0"), std::string::npos) << negotiate;
  EXPECT_EQ(negotiate.find("queue num 1"), std::string::npos) << negotiate;
}

}  // namespace
}  // namespace ward::driver
