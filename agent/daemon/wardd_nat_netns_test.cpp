// Ward <-> Ward NAT traversal through a real NAT: three network namespaces — a client on a private
// subnet (192.168.77.2/24), a router that masquerades 192.168.77.0/24 behind its public address
// (iptables MASQUERADE, 10.77.0.1/24), and a server (10.77.0.2/24) with no route to the private
// subnet — and two wardd processes (nfqueue backend) with local preshared-key policies in
// transport mode. The client's rule covers it <-> the server; the server's covers it <-> any
// IPv4 address, as a responder that cannot know its peers' public addresses needs.
//
// Asserted: main mode detects the NAT and floats to UDP 4500 (`show sa --json`: nat_t, peer_port
// 4500, the server sees the router's address as the peer); ping and a TCP connection pass; tshark
// on the server's veth sees only UDP 500/4500 (IKE, ESP-in-UDP), no clear ICMP or TCP. The TCP
// handshake needs RFC 3948 3.1.2 (the inner TCP checksum refreshed after decapsulation on both
// sides: each peer computed it over addresses the NAT changed). Skips without root / `ip`.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "agent/daemon/wardd_host.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;

constexpr const char* kClient = "192.168.77.2";
constexpr const char* kRouterPrivate = "192.168.77.1";
constexpr const char* kRouterPublic = "10.77.0.1";
constexpr const char* kServer = "10.77.0.2";
constexpr const char* kPrivateSubnet = "192.168.77.0/24";
constexpr std::uint16_t kTcpPort = 5001;
constexpr const char* kPsk = "nat traversal secret";

// The Legal example's intra-department rule with one filter, me <-> `peer` (mirrored, any
// protocol), negotiating ESP AES-256-GCM in transport mode with a preshared key.
model::Policy transport_policy(const std::string& name, const model::AddressSpec& peer) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.name = name;
  auto rule = policy.rules[0];
  auto list = *policy.find_filter_list(*rule.filter_list);
  auto action = policy.filter_actions[1];  // "Secure traffic outside": AES-256-GCM, then AES-CBC
  list.filters.resize(1);
  list.filters[0].source = model::AddressSpec::my_address();
  list.filters[0].destination = peer;
  list.filters[0].mirrored = true;
  rule.filter_action = action.id;
  rule.auth_methods = {model::AuthMethod::preshared(kPsk)};
  rule.tunnel_endpoint.reset();
  policy.filter_lists = {list};
  policy.filter_actions = {action};
  policy.rules = {rule};
  return policy;
}

using Host = testing::WarddHost;
using testing::eventually;
using testing::kIpTool;
using testing::show_sa;
using testing::wardctl;

long long milliseconds_since(std::chrono::steady_clock::time_point start) {
  return static_cast<long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
}

class WarddNatNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    if (ward::testing::run_command("command -v iptables >/dev/null && command -v tshark >/dev/null") != 0) {
      GTEST_SKIP() << "needs iptables and tshark";
    }
    auto dir = test::TempDir::create("wardd-nat");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_ = std::make_unique<test::TempDir>(std::move(*dir));
    client_.ns = std::make_unique<Netns>("nat-client");
    router_ = std::make_unique<Netns>("nat-router");
    server_.ns = std::make_unique<Netns>("nat-server");
    ward::testing::connect_veth(*client_.ns, std::string(kClient) + "/24", *router_,
                                std::string(kRouterPrivate) + "/24");
    const auto public_links = ward::testing::connect_veth(*router_, std::string(kRouterPublic) + "/24", *server_.ns,
                                                          std::string(kServer) + "/24");
    server_link_ = public_links.second;
    // The router: forwards, and masquerades the private subnet behind its public address.
    ASSERT_EQ(router_->exec("sysctl -qw net.ipv4.ip_forward=1"), 0);
    ASSERT_EQ(router_->exec(std::string("iptables -t nat -A POSTROUTING -s ") + kPrivateSubnet + " -o " +
                            public_links.first + " -j MASQUERADE"),
              0);
    ASSERT_EQ(client_.ns->exec(std::string("ip route add default via ") + kRouterPrivate), 0);
    testing::lay_out(client_, dir_->path() / "client");
    testing::lay_out(server_, dir_->path() / "server");
  }

  void TearDown() override {
    if (!capture_pid_file_.empty()) {
      server_.ns->exec("kill $(cat " + capture_pid_file_ + ") 2>/dev/null");
      std::remove(capture_pid_file_.c_str());
      std::remove(capture_.c_str());
    }
  }

  void start(Host& host, const model::Policy& policy) { testing::start_wardd(host, policy); }

  // tshark on the server's end of the public link, writing to a file; returns once it writes.
  void start_capture() {
    capture_ = "/tmp/ward-nat-" + std::to_string(getpid()) + ".pcap";
    capture_pid_file_ = capture_ + ".pid";
    ASSERT_EQ(server_.ns->exec("tshark -q -i " + server_link_ + " -w " + capture_ + " >/dev/null 2>&1 & echo $! > " +
                               capture_pid_file_),
              0);
    for (int i = 0; i < 50 && server_.ns->exec("test -s " + capture_) != 0; ++i) std::this_thread::sleep_for(100ms);
  }

  void stop_capture() {
    server_.ns->exec("kill -INT $(cat " + capture_pid_file_ + ")");
    for (int i = 0; i < 50 && server_.ns->exec("kill -0 $(cat " + capture_pid_file_ + ") 2>/dev/null") == 0; ++i) {
      std::this_thread::sleep_for(100ms);
    }
  }

  std::string tshark(const std::string& arguments) const {
    return ward::testing::command_output("tshark -r " + capture_ + " " + arguments + " 2>/dev/null");
  }

  std::string logs() const { return test::file_tail(client_.log) + test::file_tail(server_.log); }

  std::unique_ptr<test::TempDir> dir_;
  Host client_, server_;
  std::unique_ptr<Netns> router_;
  std::string server_link_, capture_, capture_pid_file_;
};

TEST_F(WarddNatNetnsTest, TransportModeThroughMasqueradeFloatsTo4500AndCarriesPingAndTcp) {
  // Without Ward, the NAT works: the server answers the router's address, not the client's.
  ASSERT_EQ(ward::testing::ping_once(*client_.ns, kServer), 0) << "the NAT itself does not forward";
  ASSERT_NE(server_.ns->exec(std::string("ip route get ") + kClient + " >/dev/null 2>&1"), 0)
      << "the server must have no route to the private subnet";

  start(client_, transport_policy("NAT client: me <-> server", model::AddressSpec::host(*IpAddress::parse(kServer))));
  // "Any IPv4 address" (0.0.0.0/0): the IPv6 half of "any" would only catch link-local chatter.
  start(server_, transport_policy("NAT server: me <-> any IPv4", model::AddressSpec::subnet(*IpPrefix::parse("0.0.0.0/0"))));
  start_capture();
  ASSERT_FALSE(HasFatalFailure());

  // The first echo request waits in the client's dataplane for the SA IKE negotiates through the NAT.
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::ping_until_answered(client_, kServer)) << logs();
  const long long first_answer_ms = milliseconds_since(started);

  nlohmann::json sa_client, sa_server;
  ASSERT_TRUE(testing::one_quick_mode_each({{&client_, &sa_client}, {&server_, &sa_server}}))
      << sa_client.dump(1) << sa_server.dump(1);
  std::printf("through the NAT: first answered ping (main mode + quick mode included) after %lld ms\n",
              first_answer_ms);

  // Main mode found the NAT and floated to UDP 4500 on both sides; the server's peer is the router.
  ASSERT_EQ(sa_client["main_modes"].size(), 1U) << sa_client.dump(1);
  ASSERT_EQ(sa_server["main_modes"].size(), 1U) << sa_server.dump(1);
  const auto& mm_client = sa_client["main_modes"][0];
  const auto& mm_server = sa_server["main_modes"][0];
  EXPECT_EQ(mm_client["nat_t"], true) << mm_client.dump(1);
  EXPECT_EQ(mm_server["nat_t"], true) << mm_server.dump(1);
  EXPECT_EQ(mm_client["peer_port"], 4500) << mm_client.dump(1);
  EXPECT_EQ(mm_server["peer_port"], 4500) << mm_server.dump(1);
  const auto& qm_client = sa_client["quick_modes"][0];
  const auto& qm_server = sa_server["quick_modes"][0];
  EXPECT_EQ(qm_client["peer"], kServer);
  EXPECT_EQ(qm_server["peer"], kRouterPublic) << "the server sees the client as the NAT's public address";
  EXPECT_EQ(qm_client["spi_in"], qm_server["spi_out"]);
  EXPECT_EQ(qm_client["spi_out"], qm_server["spi_in"]);

  // Ping RTT over ESP-in-UDP through the NAT.
  const auto ping = client_.ns->exec_output(std::string("ping -c5 -i0.2 -W2 ") + kServer);
  EXPECT_NE(ping.find(" 0% packet loss"), std::string::npos) << ping;
  std::smatch rtt;
  if (std::regex_search(ping, rtt, std::regex(R"(= ([0-9.]+)/([0-9.]+)/([0-9.]+))"))) {
    std::printf("ping RTT through the NAT (5 echoes): min %s ms, avg %s ms, max %s ms\n", rtt[1].str().c_str(),
                rtt[2].str().c_str(), rtt[3].str().c_str());
  }

  // TCP: the server decapsulates a SYN whose checksum the client computed over 192.168.77.2, the
  // client a SYN-ACK computed over 10.77.0.1; both need the RFC 3948 3.1.2 refresh.
  {
    ward::testing::TcpListeners listener(*server_.ns, kServer, {kTcpPort});
    bool connected = ward::testing::tcp_connects(*client_.ns, kServer, kTcpPort);
    for (int attempt = 1; attempt < 3 && !connected; ++attempt) {
      connected = ward::testing::tcp_connects(*client_.ns, kServer, kTcpPort);
    }
    EXPECT_TRUE(connected) << "TCP through the NAT over ESP-in-UDP\n" << logs();
  }
  const auto after = show_sa(client_);
  ASSERT_EQ(after.value("quick_modes", nlohmann::json::array()).size(), 1U) << after.dump(1);
  EXPECT_GE(after["quick_modes"][0].value("packets_in", 0), 6) << after.dump(1);

  // The server's wire: only UDP to or from ports 500 and 4500 (IKE, then ESP-in-UDP), nothing clear.
  std::this_thread::sleep_for(500ms);  // let tshark read the last packets before it is stopped
  stop_capture();
  const auto protocols = tshark("-Y ip -T fields -e ip.proto | sort | uniq -c");
  EXPECT_NE(protocols.find(" 17\n"), std::string::npos) << protocols;
  for (const char* clear : {" 1\n", " 6\n", " 50\n"}) EXPECT_EQ(protocols.find(clear), std::string::npos) << protocols;
  EXPECT_EQ(tshark("-Y 'udp && !(udp.port == 500 || udp.port == 4500)' | wc -l"), "0\n")
      << tshark("-Y 'udp && !(udp.port == 500 || udp.port == 4500)'");
  EXPECT_EQ(tshark("-Y 'icmp || tcp' | wc -l"), "0\n");
  const int esp_in_udp = std::stoi(tshark("-Y 'udp.port == 4500 && esp' | wc -l"));
  const int ike_on_4500 = std::stoi(tshark("-Y 'udp.port == 4500 && isakmp' | wc -l"));
  // At least the five echo requests and replies sent once the SA was up (the first, held ping and
  // the TCP handshake come on top).
  EXPECT_GE(esp_in_udp, 10) << tshark("-Y 'udp.port == 4500'");
  EXPECT_GE(ike_on_4500, 2) << "main mode 5/6 and quick mode float to 4500";
  std::printf("server's wire: %d ESP-in-UDP and %d IKE packets on UDP 4500; by IP protocol:\n%s", esp_in_udp,
              ike_on_4500, protocols.c_str());
}

}  // namespace
}  // namespace ward::agent::daemon
