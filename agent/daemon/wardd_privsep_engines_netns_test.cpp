// wardd with [privsep] user and [ike] engines = 2: its IKE process runs two engines per address,
// as IKE in wardd does. wardd binds a group of two sockets on UDP 500 and on 4500 (SO_REUSEPORT,
// the BPF program choosing a peer's socket by its address: ike/net/reuseport.h) and hands the
// groups to the child, which starts an engine per socket. A (10.20.1.1) negotiates with two
// addresses of B that hash to different engines of A: each acquire goes to the engine owning its
// peer and the peer's datagrams to that engine's socket, and both handshakes end in SAs that
// `show sa` on A lists, each main mode on the engine that owns its peer, with `engines` 2 for A's
// service and the work of both engines summed in its counters. Responder side: B initiates to A
// from one address, then (restarted) from the other, and each main mode is answered by the engine
// of A that owns that address, with A's phase 1 answered in its IKE process (its phase 1 table).
// Skips without root or `ip`.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/daemon/wardd_host.h"
#include "agent/privsep/proc_test_support.h"
#include "ike/net/reuseport.h"
#include "tests/netns/netns.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::agent::daemon::wardd_privsep_engines_netns_test {
namespace {

using Host = testing::WarddHost;
using testing::esp_policy;
using testing::eventually;
using privsep::testing::privsep_child_of;
using testing::show_sa;

constexpr unsigned kEngines = 2;
constexpr const char* kAddressA = "10.20.1.1";
constexpr const char* kAddressB = "10.20.1.2";

// B's second address: the first in 10.20.1.3.. that A's engines do not give to the same
// engine as kAddressB.
std::string other_engines_peer() {
  const auto first = ike::net::peer_engine(*IpAddress::parse(kAddressB), kEngines);
  for (int last = 3; last < 250; ++last) {
    const std::string address = "10.20.1." + std::to_string(last);
    if (ike::net::peer_engine(*IpAddress::parse(address), kEngines) != first) return address;
  }
  return {};
}

class WarddPrivsepEnginesNetnsTest : public testing::TwoWarddHosts {
 protected:
  void SetUp() override {
    set_up_hosts("psengines", kAddressA, kAddressB, [](Host& host, const std::filesystem::path& dir) {
      testing::lay_out(host, dir, "nfqueue", "", "[privsep]\nuser = nobody\n[ike]\nversion = ikev1\nengines = " + std::to_string(kEngines) + "\n");
    });
  }

  // B gets a second address (other_engines_peer(): second_peer_), then both hosts start.
  void start_with_second_peer() {
    second_peer_ = other_engines_peer();
    ASSERT_FALSE(second_peer_.empty());
    ASSERT_EQ(b_.ns->exec("ip addr add " + second_peer_ + "/24 dev " + links_.second), 0);
    testing::start_wardd(a_, esp_policy("engines secret"));
    testing::start_wardd(b_, esp_policy("engines secret"));
  }

  // Waits until the IKE process of `host` is ready: its pid.
  static pid_t ike_process_of(const Host& host) {
    pid_t pid = -1;
    const bool ready = eventually([&] {
      pid = privsep_child_of(host.wardd.pid(), "ike");
      return pid > 0 && test::read_text(host.log).find("ike-process-ready pid=" + std::to_string(pid)) != std::string::npos;
    });
    return ready ? pid : -1;
  }

  // A's established main mode with `peer` as responder, once there is one (null otherwise).
  nlohmann::json a_responded_to(const std::string& peer) {
    nlohmann::json found;
    eventually([&] {
      for (const auto& mm : show_sa(a_).value("main_modes", nlohmann::json::array())) {
        if (mm.value("peer", "") == peer && mm.value("role", "") == "responder" && mm.value("state", "") == "established") found = mm;
      }
      return !found.is_null();
    });
    return found;
  }

  // The lines of `ss -uanp` in A's namespace for local:port held by `pid`.
  std::size_t sockets_of(pid_t pid, const std::string& local) const {
    const auto listing = ward::testing::command_output("ip netns exec " + a_.ns->name() + " ss -uanp");
    std::size_t n = 0;
    for (std::size_t at = 0, end = 0; at < listing.size(); at = end + 1) {
      end = listing.find('\n', at);
      if (end == std::string::npos) end = listing.size();
      const auto line = listing.substr(at, end - at);
      if (line.find(" " + local + " ") != std::string::npos && line.find("pid=" + std::to_string(pid) + ",") != std::string::npos) ++n;
    }
    return n;
  }

  std::string second_peer_;
};

TEST_F(WarddPrivsepEnginesNetnsTest, TheIkeProcessRunsTheConfiguredEnginesAndEachNegotiatesWithItsPeers) {
  start_with_second_peer();
  ASSERT_FALSE(HasFatalFailure());
  const std::string second_peer = second_peer_;
  const pid_t ike_a = ike_process_of(a_);
  ASSERT_GT(ike_a, 0) << test::file_tail(a_.log);
  // The child holds both sockets of each group wardd bound (wardd keeps them too).
  EXPECT_EQ(sockets_of(ike_a, std::string(kAddressA) + ":500"), kEngines);
  EXPECT_EQ(sockets_of(ike_a, std::string(kAddressA) + ":4500"), kEngines);

  // A initiates to both of B's addresses: each acquire goes to the engine owning its peer, and
  // the peer's answers come back to that engine's socket (any other engine would not know the
  // exchange: unknown_sa, and the handshake never ends).
  for (const auto& peer : {std::string(kAddressB), second_peer}) {
    ASSERT_TRUE(testing::ping_until_answered(a_, peer)) << peer << test::file_tail(a_.log) << test::file_tail(b_.log);
  }

  nlohmann::json sa;
  ASSERT_TRUE(eventually([&] {
    sa = show_sa(a_);
    return sa.value("quick_modes", nlohmann::json::array()).size() == 2;
  })) << sa.dump(1);
  ASSERT_EQ(sa["ike"].size(), 1U) << sa.dump(1);
  EXPECT_EQ(sa["ike"][0]["engines"], kEngines) << sa.dump(1);
  EXPECT_EQ(sa["ike"][0]["main_modes_established"], 2U) << sa.dump(1);
  EXPECT_EQ(sa["ike"][0]["quick_modes_established"], 2U) << sa.dump(1);
  EXPECT_EQ(sa["ike"][0]["unknown_sa"], 0U) << sa.dump(1);
  std::vector<unsigned> engines_used;
  for (const auto& peer : {std::string(kAddressB), second_peer}) {
    nlohmann::json found;
    for (const auto& mm : sa["main_modes"]) {
      if (mm.value("peer", "") == peer) found = mm;
    }
    ASSERT_FALSE(found.is_null()) << peer << "\n" << sa.dump(1);
    EXPECT_EQ(found["state"], "established") << found.dump(1);
    EXPECT_EQ(found["engine"], ike::net::peer_engine(*IpAddress::parse(peer), kEngines)) << found.dump(1);
    engines_used.push_back(found.value("engine", 0U));
  }
  EXPECT_NE(engines_used[0], engines_used[1]) << "both peers on one engine";
  for (const auto& qm : sa["quick_modes"]) EXPECT_EQ(qm["auth_method"], "pre-shared key") << qm.dump(1);
}

// B initiates from each of its addresses in turn (B's ping from its second address: the source
// the acquire names, and B's service on that address starts the main mode); A answers each on the
// engine that owns the peer's address.
TEST_F(WarddPrivsepEnginesNetnsTest, EachEngineOfTheIkeProcessAnswersThePeersItOwns) {
  start_with_second_peer();
  ASSERT_FALSE(HasFatalFailure());
  const std::string second_peer = second_peer_;
  ASSERT_GT(ike_process_of(a_), 0) << test::file_tail(a_.log);

  std::vector<unsigned> engines_used;
  for (const auto& peer : {std::string(kAddressB), second_peer}) {
    if (peer != kAddressB) {   // a fresh B: its SAs with A gone, the next acquire is the second address's
      b_.wardd.stop();
      testing::start_wardd(b_, esp_policy("engines secret"));
    }
    bool answered = false;
    for (int attempt = 0; attempt < 10 && !answered; ++attempt) {
      answered = b_.ns->exec("ping -c1 -W1 -I " + peer + " " + kAddressA + " >/dev/null 2>&1") == 0;
    }
    ASSERT_TRUE(answered) << peer << test::file_tail(a_.log) << test::file_tail(b_.log);
    const auto mm = a_responded_to(peer);
    ASSERT_FALSE(mm.is_null()) << peer << "\n" << show_sa(a_).dump(1) << test::file_tail(b_.log);
    EXPECT_EQ(mm["engine"], ike::net::peer_engine(*IpAddress::parse(peer), kEngines)) << mm.dump(1);
    engines_used.push_back(mm.value("engine", 0U));
  }
  EXPECT_NE(engines_used[0], engines_used[1]) << "both peers on one engine";
  const auto sa = show_sa(a_);
  ASSERT_EQ(sa["ike"].size(), 1U) << sa.dump(1);
  EXPECT_EQ(sa["ike"][0]["unknown_sa"], 0U) << sa.dump(1);
  EXPECT_GE(sa["ike"][0]["main_modes_established"], 2U) << sa.dump(1);
}

}  // namespace
}  // namespace ward::agent::daemon::wardd_privsep_engines_netns_test
