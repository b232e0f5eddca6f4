// The fast path with ESP in UDP (RFC 3948, port 4500, as IKE negotiates behind a NAT): two hosts in
// network namespaces over a veth pair, each with the nfqueue dataplane's fast path and static
// UDP-encapsulated SAs. Ping and TCP pass both ways; each side sends a superpacket's ESP packets
// as one UDP_SEGMENT send (A from a socket of its own on 4500, B through its "IKE" socket, which
// holds 4500 there and was handed to the dataplane as IKE hands its NAT-T socket), and takes the
// peer's as GSO frames from its packet ring, cut back into datagrams; IKE's own datagrams on 4500
// (the non-ESP marker) still reach the IKE socket, and ESP in UDP never does. Over IPv4, and the
// superpackets over IPv6 too.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "driver/crypto/test_sas.h"
#include "driver/nfqueue/nfqueue_dataplane.h"
#include "driver/nfqueue/static_sas.h"
#include "tests/netns/iperf3.h"
#include "tests/netns/netns.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::driver::esp_in_udp_netns_test {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;

constexpr const char* kAddressA = "10.20.13.1";
constexpr const char* kAddressB = "10.20.13.2";
constexpr const char* kAddress6A = "fd00:20:13::1";
constexpr const char* kAddress6B = "fd00:20:13::2";
constexpr std::uint32_t kSpiAtoB = 0x3001;
constexpr std::uint32_t kSpiBtoA = 0x4001;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

struct NullListener : DataplaneListener {
  void on_acquire(const Acquire&) override {}
  void on_expiry(const SaExpiry&) override {}
};

// The socket address of `text` (IPv4, or IPv6 when it has a colon) and `port`.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

SocketAddress socket_address(const char* text, std::uint16_t port) {
  SocketAddress out;
  if (std::strchr(text, ':') != nullptr) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    inet_pton(AF_INET6, text, &in6->sin6_addr);
    out.length = sizeof *in6;
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&out.storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    inet_pton(AF_INET, text, &in4->sin_addr);
    out.length = sizeof *in4;
  }
  return out;
}

class EspInUdpNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override { set_up(kAddressA, kAddressB); }

  // Hosts A and B at `a` and `b` (both IPv4 or both IPv6).
  void set_up(const char* a, const char* b) {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    const bool v6 = std::strchr(a, ':') != nullptr;
    a_ = std::make_unique<Netns>("espudp-a");
    b_ = std::make_unique<Netns>("espudp-b");
    // nodad: an IPv6 address is usable at once, not after duplicate address detection.
    const std::string prefix = v6 ? "/64 nodad" : "/24";
    const auto links = ward::testing::connect_veth(*a_, a + prefix, *b_, b + prefix);
    if (v6) {
      // Neighbour discovery between the two addresses is host-to-host ICMPv6, which the filters
      // below would protect (the peer's advertisement would arrive in ESP): static neighbours.
      const auto mac = [](const Netns& ns, const std::string& link) {
        auto text = ns.exec_output("cat /sys/class/net/" + link + "/address");
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
        return text;
      };
      ASSERT_EQ(a_->exec(std::string("ip -6 neigh replace ") + b + " lladdr " + mac(*b_, links.second) + " dev " + links.first + " nud permanent"), 0);
      ASSERT_EQ(b_->exec(std::string("ip -6 neigh replace ") + a + " lladdr " + mac(*a_, links.first) + " dev " + links.second + " nud permanent"), 0);
    }
    // B's IKE NAT-T socket, bound before the dataplane starts, as wardd's IKE service binds it.
    b_->run_inside([&] {
      ike_socket_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const auto self = socket_address(b, 4500);
      ASSERT_EQ(bind(ike_socket_, self.get(), self.length), 0) << std::strerror(errno);
    });
    start(*a_, dataplane_a_, a, b, kSpiAtoB, kSpiBtoA);
    start(*b_, dataplane_b_, b, a, kSpiBtoA, kSpiAtoB);
    ASSERT_TRUE(dataplane_b_->prepare_ike_socket(ike_socket_, true).has_value());
  }

  void TearDown() override {
    dataplane_a_.reset();
    dataplane_b_.reset();
    if (ike_socket_ >= 0) close(ike_socket_);
  }

  void start(const Netns& ns, std::unique_ptr<NfqueueDataplane>& out, const char* self, const char* peer, std::uint32_t spi_out,
             std::uint32_t spi_in) {
    ns.run_inside([&] {
      NfqueueOptions options;
      options.tcp_segmentation = options.tun_injection = options.esp_ring = true;
      auto dataplane = NfqueueDataplane::start(listener_, options);
      ASSERT_TRUE(dataplane.has_value()) << dataplane.error();
      out = std::move(*dataplane);
    });
    ASSERT_TRUE(out);
    ASSERT_TRUE(out->esp_ring_used()) << out->fast_path_status();
    ASSERT_TRUE(out->tcp_segmentation_used()) << out->fast_path_status();
    const auto me = IpPrefix::host(ip(self));
    const auto other = IpPrefix::host(ip(peer));
    ASSERT_TRUE(out->install_filter_table({{DriverFilter{1, me, other, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}},
                                            DriverFilter{1, other, me, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}}}})
                    .has_value());
    crypto::testing::SaShape shape;
    shape.cipher = crypto::Cipher::AesGcm128;
    shape.udp = true;
    for (const auto& [spi, direction] : {std::pair{spi_out, crypto::Direction::Outbound}, std::pair{spi_in, crypto::Direction::Inbound}}) {
      auto added = out->add_sa(SaInstall{testing::static_sa(spi, direction, shape, ip(self), ip(peer)), 1, ip(peer), {}});
      ASSERT_TRUE(added.has_value()) << added.error();
    }
  }

  std::uint64_t sa_packets(const NfqueueDataplane& dataplane, std::uint32_t spi) {
    for (const auto& sa : dataplane.counters().sas) {
      if (sa.spi == spi) return sa.packets;
    }
    return 0;
  }

  // Sends `payload` from A:4500 to B:4500 as IKE's NAT-T socket would (a raw socket: A's own port
  // 4500 is its dataplane's). From any other port it would be A's clear traffic to B, and A's Ward
  // would protect it.
  void send_to_b_4500(const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> packet(28 + payload.size());
    packet[0] = 0x45;
    packet[2] = static_cast<std::uint8_t>(packet.size() >> 8);
    packet[3] = static_cast<std::uint8_t>(packet.size());
    packet[8] = 64;
    packet[9] = IPPROTO_UDP;
    inet_pton(AF_INET, kAddressA, packet.data() + 12);
    inet_pton(AF_INET, kAddressB, packet.data() + 16);
    packet[20] = packet[22] = 4500 >> 8;
    packet[21] = packet[23] = 4500 & 0xFF;
    packet[24] = static_cast<std::uint8_t>((packet.size() - 20) >> 8);
    packet[25] = static_cast<std::uint8_t>(packet.size() - 20);
    std::memcpy(packet.data() + 28, payload.data(), payload.size());
    a_->run_inside([&] {
      const int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
      const auto to = socket_address(kAddressB, 0);
      EXPECT_EQ(sendto(fd, packet.data(), packet.size(), 0, to.get(), to.length),
                static_cast<ssize_t>(packet.size()));
      close(fd);
    });
  }

  // What the IKE socket received within `wait` (empty: nothing).
  std::vector<std::uint8_t> ike_received(std::chrono::milliseconds wait) {
    pollfd ready{ike_socket_, POLLIN, 0};
    if (poll(&ready, 1, static_cast<int>(wait.count())) <= 0) return {};
    std::vector<std::uint8_t> got(2048);
    const ssize_t n = recv(ike_socket_, got.data(), got.size(), MSG_DONTWAIT);
    got.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return got;
  }

  // Pings both ways and an 8 MB TCP stream each way between A at `a` and B at `b`: each side sent
  // its superpackets' ESP packets as UDP_SEGMENT sends and took the peer's as GSO frames from its
  // ring.
  void expect_superpackets_both_ways(const char* a, const char* b) {
    EXPECT_EQ(a_->exec(std::string("ping -c3 -i0.2 -W2 ") + b + " >/dev/null"), 0);
    EXPECT_EQ(b_->exec(std::string("ping -c2 -i0.2 -W2 ") + a + " >/dev/null"), 0);
    // WARD_BENCH_IPERF_BYTES (iperf3's -n, 8M by default): a longer stream for a steadier figure.
    const char* bytes = std::getenv("WARD_BENCH_IPERF_BYTES");
    const std::string amount = bytes != nullptr && *bytes != '\0' ? bytes : "8M";
    // This process's CPU seconds (both dataplanes, and the kernel's work in their threads) per run.
    const auto cpu_seconds = [] {
      rusage usage{};
      getrusage(RUSAGE_SELF, &usage);
      return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    };
    std::vector<double> cpu;
    std::uint16_t port = 5201;
    const auto iperf = [&](const std::string& options) {
      const double before = cpu_seconds();
      // Each run against a one-off server on a port of its own (iperf3_once says why).
      auto out = ward::testing::iperf3_once(*b_, *a_, b, port++, "-n " + amount + options);
      cpu.push_back(cpu_seconds() - before);
      return out;
    };
    const auto forward = iperf("");
    const auto reverse = iperf(" -R");
    const auto received = [](const std::string& json) -> std::uint64_t {
      try {
        return nlohmann::json::parse(json).at("end").at("sum_received").at("bytes").get<std::uint64_t>();
      } catch (const std::exception&) {
        return 0;
      }
    };
    EXPECT_GT(received(forward), 0U) << forward.substr(0, 400);
    EXPECT_GT(received(reverse), 0U) << reverse.substr(0, 400);
    // A figure for the record (driver/nfqueue/README.md), never a pass/fail criterion.
    const auto gbit = [](const std::string& json) {
      try {
        return nlohmann::json::parse(json).at("end").at("sum_received").at("bytes").get<double>() * 8 / 1e9;
      } catch (const std::exception&) {
        return 0.0;
      }
    };
    const auto gbits = [](const std::string& json) {
      try {
        return nlohmann::json::parse(json).at("end").at("sum_received").at("bits_per_second").get<double>() / 1e9;
      } catch (const std::exception&) {
        return 0.0;
      }
    };
    std::printf("ESP in UDP, %s (iperf3 -n %s): A to B %.2f Gbit/s, %.2f CPU s/Gbit; B to A %.2f Gbit/s, %.2f CPU s/Gbit\n",
                std::strchr(a, ':') ? "IPv6" : "IPv4", amount.c_str(), gbits(forward), cpu[0] / std::max(gbit(forward), 1e-9),
                gbits(reverse), cpu[1] / std::max(gbit(reverse), 1e-9));

    for (const auto* side : {&dataplane_a_, &dataplane_b_}) {
      const bool on_a = side == &dataplane_a_;
      SCOPED_TRACE(on_a ? "A (its own socket on 4500)" : "B (IKE's socket)");
      const auto counters = (*side)->backend_counters();
      // Whole superpackets left as UDP_SEGMENT sends (many datagrams each), none refused, and the
      // peer's came in as GSO frames that were all cut.
      EXPECT_GT(counters.udp_gso_sends, 0U);
      // More than one datagram per send on average: how many depends on the stream's pace (an ASan
      // run beside other tests carried 0.01 Gbit/s with 2.9 datagrams per send).
      EXPECT_GT(counters.udp_gso_datagrams, counters.udp_gso_sends);
      EXPECT_EQ(counters.raw_send_errors, 0U);
      EXPECT_GT(counters.ring_superpackets, 0U);
      EXPECT_EQ(counters.ring_unsplit, 0U);
      EXPECT_EQ(counters.inject_errors, 0U);
    }
    // Each side opened what the other protected (the veth loses nothing; 5 % for ring overflow on a
    // loaded machine): nothing sent twice, nothing opened twice (the ring and the queue).
    for (const auto spi : {kSpiAtoB, kSpiBtoA}) {
      const auto& sender = spi == kSpiAtoB ? *dataplane_a_ : *dataplane_b_;
      const auto& receiver = spi == kSpiAtoB ? *dataplane_b_ : *dataplane_a_;
      const auto opened = sa_packets(receiver, spi);
      EXPECT_GT(opened, 1000U) << "SPI " << spi;
      EXPECT_LE(sa_packets(sender, spi), opened + opened / 20 + 2) << "SPI " << spi;
      EXPECT_LE(opened, sa_packets(sender, spi)) << "SPI " << spi;
      EXPECT_GE(receiver.backend_counters().ring_packets, opened) << "SPI " << spi << ": opened from the ring, not the queue";
    }
  }

  NullListener listener_;
  std::unique_ptr<Netns> a_, b_;
  int ike_socket_ = -1;
  std::unique_ptr<NfqueueDataplane> dataplane_a_, dataplane_b_;
};

TEST_F(EspInUdpNetnsTest, TcpAndPingPassInUdpGsoSuperpacketsAndIkeStillGetsItsDatagrams) {
  expect_superpackets_both_ways(kAddressA, kAddressB);

  // IKE's datagrams on 4500 (the non-ESP marker) reach IKE's socket; ESP in UDP (an unknown SPI
  // here) is taken by the ring and dropped by the kernel table, never delivered to it.
  const auto unknown_before = dataplane_b_->counters().unknown_spi;
  send_to_b_4500({0x77, 0x77, 0x77, 0x77, 0, 0, 0, 1, 0xEE});
  const std::vector<std::uint8_t> ike{0, 0, 0, 0, 'I', 'K', 'E', 0x21, 0x20, 0x22, 0x08};
  send_to_b_4500(ike);
  EXPECT_EQ(ike_received(2000ms), ike) << "the first datagram the IKE socket gets is IKE's";
  EXPECT_TRUE(ike_received(200ms).empty());
  for (int i = 0; i < 50 && dataplane_b_->counters().unknown_spi == unknown_before; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(dataplane_b_->counters().unknown_spi, unknown_before + 1) << "the ESP-in-UDP datagram went to the engine once";
}

// IPv6 ESP in UDP goes the same way: A from a socket of its own on [::]:4500, B through its IKE
// socket on [fd00:20:13::2]:4500, both with UDP_SEGMENT (IPV6_PKTINFO, IPV6_TCLASS, IPV6_HOPLIMIT
// from Ward's header).
class EspInUdpIpv6NetnsTest : public EspInUdpNetnsTest {
 protected:
  void SetUp() override { set_up(kAddress6A, kAddress6B); }
};

TEST_F(EspInUdpIpv6NetnsTest, TcpAndPingPassInUdpGsoSuperpackets) { expect_superpackets_both_ways(kAddress6A, kAddress6B); }

}  // namespace
}  // namespace ward::driver::esp_in_udp_netns_test
