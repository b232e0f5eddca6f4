// XfrmDataplane with real kernel SAs: two network namespaces, each with its own XfrmDataplane and
// the same table (one negotiate filter between them, mirrored), and SA pairs with the same keys on
// both sides, so real traffic flows protected. Runs inside User-mode Linux (driver_xfrm_uml_test):
// the host kernel here has no ESP or AH. ESP, AH, an AH+ESP bundle (and its refusal of ESP alone),
// tunnel mode, soft and hard expiries by bytes and by time, soft associations (in clear, behind a
// more specific block, retired when idle), dynamic filters with AH, IKE's socket bypass.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "driver/xfrm/xfrm_dataplane.h"
#include "tests/harness/uml_kernel.h"
#include "tests/netns/netns.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::driver::xfrm_kernel_sa_test {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;

constexpr const char* kAddressA = "10.20.6.1";
constexpr const char* kAddressB = "10.20.6.2";
constexpr std::uint32_t kFilter = 5;
constexpr std::uint32_t kSpiAToB = 0x1000;
constexpr std::uint32_t kSpiBToA = 0x2000;
constexpr std::uint32_t kAhSpiAToB = 0x3000;
constexpr std::uint32_t kAhSpiBToA = 0x4000;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

crypto::SecureBytes key_of(std::size_t length, std::uint8_t seed) {
  std::vector<std::byte> bytes(length);
  for (std::size_t i = 0; i < length; ++i) bytes[i] = std::byte(static_cast<std::uint8_t>(seed + i));
  return crypto::SecureBytes(bytes);
}

crypto::IpAddress crypto_ip(const char* text) {
  const auto parsed = ip(text);
  return crypto::IpAddress::v4(parsed.bytes()[0], parsed.bytes()[1], parsed.bytes()[2], parsed.bytes()[3]);
}

enum class Suite { EspGcm, EspCbcSha1, Ah, AhEsp };

// The SA of `spi` in `direction` as `self` sees it, talking to `peer`.
SaInstall sa_for(Suite suite, std::uint32_t spi, std::uint32_t ah_spi, crypto::Direction direction, const char* peer) {
  SaInstall sa;
  sa.params.spi = spi;
  sa.params.direction = direction;
  sa.filter_id = kFilter;
  sa.peer = ip(peer);
  switch (suite) {
    case Suite::EspGcm:
      sa.params.cipher = crypto::Cipher::AesGcm128;
      sa.params.encryption_key = key_of(20, static_cast<std::uint8_t>(spi));
      break;
    case Suite::EspCbcSha1:
    case Suite::AhEsp:
      sa.params.cipher = crypto::Cipher::AesCbc128;
      sa.params.integrity = crypto::Integrity::HmacSha1_96;
      sa.params.encryption_key = key_of(16, static_cast<std::uint8_t>(spi));
      sa.params.integrity_key = key_of(20, static_cast<std::uint8_t>(spi + 1));
      break;
    case Suite::Ah:
      sa.params.protocol = crypto::SecurityProtocol::Ah;
      sa.params.cipher = crypto::Cipher::Null;
      sa.params.integrity = crypto::Integrity::HmacSha1_96;
      sa.params.integrity_key = key_of(20, static_cast<std::uint8_t>(spi + 2));
      break;
  }
  if (suite == Suite::AhEsp) {
    crypto::SaParams ah;
    ah.protocol = crypto::SecurityProtocol::Ah;
    ah.spi = ah_spi;
    ah.direction = direction;
    ah.cipher = crypto::Cipher::Null;
    ah.integrity = crypto::Integrity::HmacSha1_96;
    ah.integrity_key = key_of(20, static_cast<std::uint8_t>(ah_spi + 3));
    sa.bundled_ah = std::move(ah);
  }
  return sa;
}

DriverFilter host_filter(const char* from, const char* to, std::uint32_t id, FilterAction action, std::uint8_t protocol = 0) {
  DriverFilter f;
  f.id = id;
  f.source = IpPrefix::host(ip(from));
  f.destination = IpPrefix::host(ip(to));
  f.protocol = protocol;
  f.action = action;
  return f;
}

// Both directions of the negotiate filter, as the agent's compiled table has a mirrored filter.
FilterTable negotiate_table(const char* self, const char* other, std::optional<IpAddress> tunnel_to = std::nullopt) {
  FilterTable table;
  auto out = host_filter(self, other, kFilter, FilterAction::Negotiate);
  auto in = host_filter(other, self, kFilter, FilterAction::Negotiate);
  out.tunnel_endpoint = tunnel_to;
  in.tunnel_endpoint = tunnel_to;
  table.filters = {out, in};
  return table;
}

class Recorder : public DataplaneListener {
 public:
  void on_acquire(const Acquire& acquire) override {
    std::lock_guard lock(mutex_);
    acquires_.push_back(acquire);
    changed_.notify_all();
  }
  void on_expiry(const SaExpiry& expiry) override {
    std::lock_guard lock(mutex_);
    expiries_.push_back(expiry);
    changed_.notify_all();
  }
  // Waits until `count` expiries of `kind` for `spi` came; returns how many did.
  std::size_t wait_for_expiries(std::uint32_t spi, ExpiryKind kind, std::size_t count, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    const auto matching = [&] {
      return static_cast<std::size_t>(std::count_if(expiries_.begin(), expiries_.end(), [&](const SaExpiry& e) { return e.spi == spi && e.kind == kind; }));
    };
    changed_.wait_for(lock, limit, [&] { return matching() >= count; });
    return matching();
  }
  std::size_t acquires() {
    std::lock_guard lock(mutex_);
    return acquires_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Acquire> acquires_;
  std::vector<SaExpiry> expiries_;
};

template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

class XfrmKernelSaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    a_ = std::make_unique<Netns>("ksa-a");
    b_ = std::make_unique<Netns>("ksa-b");
    ward::testing::connect_veth(*a_, std::string(kAddressA) + "/24", *b_, std::string(kAddressB) + "/24");
    for (auto* side : {&side_a_, &side_b_}) {
      (side == &side_a_ ? *a_ : *b_).run_inside([&] {
        auto started = XfrmDataplane::start(side->recorder);
        ASSERT_TRUE(started.has_value()) << started.error();
        side->dataplane = std::move(*started);
      });
      ASSERT_NE(side->dataplane, nullptr);
    }
  }
  void TearDown() override {
    side_a_.dataplane.reset();
    side_b_.dataplane.reset();
  }

  // The same negotiate table on both sides and the SA pair of `suite`; false (with a failure) if
  // something was refused. On a kernel without ESP/AH this test cannot run at all.
  bool protect_both(Suite suite, std::optional<IpAddress> tunnel = std::nullopt, SaLifetime lifetime = {}) {
    if (!check(a().install_filter_table(negotiate_table(kAddressA, kAddressB, tunnel ? std::optional(ip(kAddressB)) : std::nullopt)))) return false;
    if (!check(b().install_filter_table(negotiate_table(kAddressB, kAddressA, tunnel ? std::optional(ip(kAddressA)) : std::nullopt)))) return false;
    auto a_out = sa_for(suite, kSpiAToB, kAhSpiAToB, crypto::Direction::Outbound, kAddressB);
    auto a_in = sa_for(suite, kSpiBToA, kAhSpiBToA, crypto::Direction::Inbound, kAddressB);
    auto b_out = sa_for(suite, kSpiBToA, kAhSpiBToA, crypto::Direction::Outbound, kAddressA);
    auto b_in = sa_for(suite, kSpiAToB, kAhSpiAToB, crypto::Direction::Inbound, kAddressA);
    for (auto* sa : {&a_out, &a_in, &b_out, &b_in}) sa->lifetime = lifetime;
    if (tunnel) {
      for (auto* sa : {&a_out, &a_in}) {
        sa->params.mode = crypto::Mode::Tunnel;
        sa->params.tunnel = crypto::TunnelEndpoints{crypto_ip(kAddressA), crypto_ip(kAddressB)};
      }
      for (auto* sa : {&b_out, &b_in}) {
        sa->params.mode = crypto::Mode::Tunnel;
        sa->params.tunnel = crypto::TunnelEndpoints{crypto_ip(kAddressB), crypto_ip(kAddressA)};
      }
    }
    return check(a().add_sa(std::move(a_out))) && check(a().add_sa(std::move(a_in))) && check(b().add_sa(std::move(b_out))) &&
           check(b().add_sa(std::move(b_in)));
  }

  static bool check(const Expected<void, std::string>& result) {
    EXPECT_TRUE(result.has_value()) << result.error();
    return result.has_value();
  }

  const SaCounters* sa_counters(const DataplaneCounters& counters, std::uint32_t spi, crypto::Direction direction) {
    for (const auto& sa : counters.sas) {
      if (sa.spi == spi && sa.direction == direction) return &sa;
    }
    return nullptr;
  }

  XfrmDataplane& a() { return *side_a_.dataplane; }
  XfrmDataplane& b() { return *side_b_.dataplane; }

  struct Side {
    Recorder recorder;
    std::unique_ptr<XfrmDataplane> dataplane;
  };
  std::unique_ptr<Netns> a_, b_;
  Side side_a_, side_b_;
};

TEST_F(XfrmKernelSaTest, WithoutAnSaNothingLeavesInClearAndAnAcquireNamesTheFilter) {
  ASSERT_TRUE(check(a().install_filter_table(negotiate_table(kAddressA, kAddressB))));
  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0);
  EXPECT_TRUE(eventually([&] { return side_a_.recorder.acquires() > 0; }));
}

TEST_F(XfrmKernelSaTest, EspProtectsTrafficBothWaysAndTheKernelCountsIt) {
  ASSERT_TRUE(protect_both(Suite::EspGcm));
  ASSERT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);
  ASSERT_EQ(ward::testing::ping_once(*b_, kAddressA), 0);
  const auto counted = a().counters();
  const auto* out = sa_counters(counted, kSpiAToB, crypto::Direction::Outbound);
  const auto* in = sa_counters(counted, kSpiBToA, crypto::Direction::Inbound);
  ASSERT_NE(out, nullptr);
  ASSERT_NE(in, nullptr);
  EXPECT_GE(out->packets, 2u) << "an echo request and a reply";
  EXPECT_GE(in->packets, 2u);
  EXPECT_EQ(out->protocol, crypto::SecurityProtocol::Esp);
  EXPECT_EQ(out->filter_id, kFilter);
  const auto states = a_->exec_output("ip xfrm state");
  EXPECT_NE(states.find("aead rfc4106(gcm(aes))"), std::string::npos) << states;
  EXPECT_EQ(states.find("4142434445"), std::string::npos) << "no key material in anything Ward prints";
}

TEST_F(XfrmKernelSaTest, AhAloneAuthenticatesTraffic) {
  ASSERT_TRUE(protect_both(Suite::Ah));
  ASSERT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);
  const auto counted = a().counters();
  const auto* out = sa_counters(counted, kSpiAToB, crypto::Direction::Outbound);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->protocol, crypto::SecurityProtocol::Ah);
  EXPECT_GE(out->packets, 1u);
  const auto policies = a_->exec_output("ip xfrm policy");
  EXPECT_NE(policies.find("proto ah"), std::string::npos) << "the pair's policy names AH\n" << policies;
}

TEST_F(XfrmKernelSaTest, AnAhEspBundleProtectsWithBothAndRefusesEspAlone) {
  ASSERT_TRUE(protect_both(Suite::AhEsp));
  ASSERT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);
  const auto counted = a().counters();
  const auto* out = sa_counters(counted, kSpiAToB, crypto::Direction::Outbound);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->bundled_ah_spi, kAhSpiAToB);
  EXPECT_GE(out->packets, 1u);
  const auto states = a_->exec_output("ip -s xfrm state");
  EXPECT_NE(states.find("proto ah spi 0x00003000"), std::string::npos) << states;
  const auto policies = a_->exec_output("ip xfrm policy");
  EXPECT_NE(policies.find("proto esp"), std::string::npos) << policies;
  EXPECT_NE(policies.find("proto ah"), std::string::npos) << policies;

  // b now sends ESP without the AH around it: a refuses it (the bundle is required inbound).
  ASSERT_TRUE(check(b().add_sa(sa_for(Suite::EspCbcSha1, kSpiBToA + 1, 0, crypto::Direction::Outbound, kAddressA))));
  ASSERT_TRUE(check(b().delete_sa(kSpiBToA, crypto::Direction::Outbound)));
  ASSERT_TRUE(check(a().add_sa(sa_for(Suite::EspCbcSha1, kSpiBToA + 1, 0, crypto::Direction::Inbound, kAddressB))));
  ASSERT_TRUE(check(a().delete_sa(kSpiBToA + 1, crypto::Direction::Inbound)));  // keep a's policy the bundle's
  const auto mismatched_before = a().counters().unsecured_dropped;
  EXPECT_NE(ward::testing::ping_once(*b_, kAddressA), 0);
  EXPECT_GT(a().counters().unsecured_dropped + a().counters().unknown_spi, mismatched_before) << a_->exec_output("cat /proc/net/xfrm_stat");
}

TEST_F(XfrmKernelSaTest, TunnelModeCarriesTrafficToTheGateway) {
  ASSERT_TRUE(protect_both(Suite::EspCbcSha1, ip(kAddressB)));
  ASSERT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);
  const auto states = a_->exec_output("ip xfrm state");
  EXPECT_NE(states.find("mode tunnel"), std::string::npos) << states;
  const auto* out = sa_counters(a().counters(), kSpiAToB, crypto::Direction::Outbound);
  ASSERT_NE(out, nullptr);
  EXPECT_GE(out->packets, 1u);
}

TEST_F(XfrmKernelSaTest, ByteLifetimesRaiseSoftThenHardExpiriesAndTheHardOneRemovesTheSa) {
  SaLifetime lifetime;
  lifetime.soft_bytes = 200;  // the kernel counts 64 bytes for an echo request (the IP payload)
  lifetime.hard_bytes = 500;
  ASSERT_TRUE(protect_both(Suite::EspGcm, std::nullopt, lifetime));
  for (int i = 0; i < 10 && side_a_.recorder.wait_for_expiries(kSpiAToB, ExpiryKind::Hard, 1, 0ms) == 0; ++i) {
    (void)ward::testing::ping_once(*a_, kAddressB);
  }
  EXPECT_GE(side_a_.recorder.wait_for_expiries(kSpiAToB, ExpiryKind::Soft, 1, 5s), 1u);
  EXPECT_GE(side_a_.recorder.wait_for_expiries(kSpiAToB, ExpiryKind::Hard, 1, 5s), 1u);
  EXPECT_TRUE(eventually([&] { return sa_counters(a().counters(), kSpiAToB, crypto::Direction::Outbound) == nullptr; }));
  EXPECT_EQ(a_->exec_output("ip xfrm state").find("spi 0x00001000"), std::string::npos);
}

TEST_F(XfrmKernelSaTest, TimeLifetimesRaiseSoftThenHardExpiries) {
  SaLifetime lifetime;
  lifetime.soft_time = 1s;
  lifetime.hard_time = 3s;
  ASSERT_TRUE(protect_both(Suite::AhEsp, std::nullopt, lifetime));
  EXPECT_GE(side_a_.recorder.wait_for_expiries(kSpiAToB, ExpiryKind::Soft, 1, 10s), 1u) << "a bundle's expiry is named by its ESP SPI";
  EXPECT_GE(side_a_.recorder.wait_for_expiries(kSpiAToB, ExpiryKind::Hard, 1, 10s), 1u);
  EXPECT_TRUE(eventually([&] { return a_->exec_output("ip xfrm state").find("spi 0x00003000") == std::string::npos; }))
      << "the bundle's AH state goes with its ESP state";
}

TEST_F(XfrmKernelSaTest, ASoftAssociationPassesInClearBehindAMoreSpecificBlockAndEndsWhenIdle) {
  FilterTable table;
  table.filters = {host_filter(kAddressA, kAddressB, 3, FilterAction::Block, IPPROTO_ICMP),
                   host_filter(kAddressA, kAddressB, kFilter, FilterAction::Negotiate),
                   host_filter(kAddressB, kAddressA, kFilter, FilterAction::Negotiate)};
  ASSERT_TRUE(check(a().install_filter_table(table)));
  ward::testing::TcpListeners listeners(*b_, kAddressB, {7400});
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kAddressB, 7400)) << "no SA, no soft association: nothing in clear";
  ASSERT_TRUE(check(a().add_soft_association(SoftAssociation{kFilter, ip(kAddressB), 3s})));
  EXPECT_TRUE(ward::testing::tcp_connects(*a_, kAddressB, 7400)) << "the soft association lets the filter's traffic through in clear";
  EXPECT_NE(ward::testing::ping_once(*a_, kAddressB), 0) << "the more specific ICMP block still wins";
  ASSERT_EQ(a().counters().soft_associations.size(), 1u);
  EXPECT_TRUE(eventually([&] { return a().counters().soft_associations.empty(); }, 15s)) << "idle for 3 s: retired";
  EXPECT_FALSE(ward::testing::tcp_connects(*a_, kAddressB, 7400));
}

TEST_F(XfrmKernelSaTest, ADynamicFilterCarriesItsSasProtection) {
  ASSERT_TRUE(check(a().install_filter_table(FilterTable{})));
  ASSERT_TRUE(check(b().install_filter_table(FilterTable{})));
  const DynamicSelector from_a{ip(kAddressA), ip(kAddressB), 0, 0, 0};
  const DynamicSelector from_b{ip(kAddressB), ip(kAddressA), 0, 0, 0};
  auto a_out = sa_for(Suite::Ah, kSpiAToB, 0, crypto::Direction::Outbound, kAddressB);
  auto a_in = sa_for(Suite::Ah, kSpiBToA, 0, crypto::Direction::Inbound, kAddressB);
  auto b_out = sa_for(Suite::Ah, kSpiBToA, 0, crypto::Direction::Outbound, kAddressA);
  auto b_in = sa_for(Suite::Ah, kSpiAToB, 0, crypto::Direction::Inbound, kAddressA);
  a_out.dynamic = a_in.dynamic = from_a;
  b_out.dynamic = b_in.dynamic = from_b;
  for (auto* sa : {&a_out, &a_in}) ASSERT_TRUE(check(a().add_sa(std::move(*sa))));
  for (auto* sa : {&b_out, &b_in}) ASSERT_TRUE(check(b().add_sa(std::move(*sa))));
  ASSERT_EQ(ward::testing::ping_once(*a_, kAddressB), 0);
  const auto counted = a().counters();
  ASSERT_EQ(counted.dynamic_filters.size(), 1u);
  EXPECT_EQ(counted.dynamic_filters[0].sas, 2u);
  const auto* out = sa_counters(counted, kSpiAToB, crypto::Direction::Outbound);
  ASSERT_NE(out, nullptr);
  EXPECT_GE(out->packets, 1u);
  EXPECT_EQ(out->dynamic_filter_id, counted.dynamic_filters[0].id);
  ASSERT_TRUE(check(a().delete_sa(kSpiAToB, crypto::Direction::Outbound)));
  ASSERT_TRUE(check(a().delete_sa(kSpiBToA, crypto::Direction::Inbound)));
  EXPECT_TRUE(a().counters().dynamic_filters.empty());
  EXPECT_EQ(a_->exec_output("ip xfrm policy").find("proto ah"), std::string::npos) << "removed with its last SA";
}

TEST_F(XfrmKernelSaTest, IkeSocketsBypassTheFiltersTheyNegotiateFor) {
  ASSERT_TRUE(check(a().install_filter_table(negotiate_table(kAddressA, kAddressB))));
  ASSERT_TRUE(check(b().install_filter_table(negotiate_table(kAddressB, kAddressA))));
  const auto udp_round_trip = [&](bool bypass) {
    int receiver = -1;
    b_->run_inside([&] {
      receiver = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in at{};
      at.sin_family = AF_INET;
      at.sin_port = htons(7500);
      at.sin_addr.s_addr = htonl(ip(kAddressB).v4_host_order());
      ASSERT_EQ(::bind(receiver, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
      if (bypass) {
        ASSERT_TRUE(check(b().prepare_ike_socket(receiver, false)));
      }
    });
    bool received = false;
    a_->run_inside([&] {
      const int sender = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (bypass) {
        ASSERT_TRUE(check(a().prepare_ike_socket(sender, true)));
      }
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(7500);
      to.sin_addr.s_addr = htonl(ip(kAddressB).v4_host_order());
      (void)::sendto(sender, "ike", 3, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      ::close(sender);
    });
    char buffer[8];
    timeval wait{2, 0};
    ::setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    received = ::recv(receiver, buffer, sizeof buffer, 0) == 3;
    ::close(receiver);
    return received;
  };
  EXPECT_FALSE(udp_round_trip(false)) << "an ordinary socket's datagram waits for an SA";
  EXPECT_TRUE(udp_round_trip(true)) << "IKE's sockets pass in clear";
}

}  // namespace
}  // namespace ward::driver::xfrm_kernel_sa_test
