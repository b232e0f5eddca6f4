// wardd with `[driver] backend = xfrm` as a real process in a network namespace: a local policy file
// that blocks TCP to one port is enforced by the kernel filter table (`nft list table inet ward`),
// not by XFRM policies (the SPD carries only negotiate filters), checked with real connections to a
// peer namespace; `wardctl show filters` reports the kernel's count of blocked packets for the filter;
// and SIGTERM (exit 0) leaves none of Ward's policies, nor its table, behind.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "directory/model/policy_json.h"
#include "agent/daemon/test_policies.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;

constexpr const char* kAddressA = "10.20.5.1";  // wardd's host
constexpr const char* kAddressB = "10.20.5.2";  // the peer
constexpr const char* kIpTool = "/usr/sbin/ip";
constexpr std::uint16_t kBlocked = 7019;
constexpr std::uint16_t kOpen = 7020;
constexpr auto kWaitLimit = 15s;


template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

TEST(WarddXfrmNetnsTest, TheXfrmBackendEnforcesThePolicyInTheKernelAndCleansUp) {
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  auto dir = test::TempDir::create("wardd-xfrm");
  ASSERT_TRUE(dir) << dir.error().to_string();
  Netns a("wardd-xfrm-a");
  Netns b("wardd-xfrm-b");
  ward::testing::connect_veth(a, std::string(kAddressA) + "/24", b, std::string(kAddressB) + "/24");
  const auto socket = dir->path() / "run" / "control.sock";
  const auto policy_file = dir->path() / "policy.json";
  const auto config = dir->path() / "ward.conf";
  const auto log = dir->path() / "wardd.log";
  ASSERT_TRUE(test::write_file(policy_file, model::policy_to_json(testing::tcp_block_policy(kBlocked, "Block " + std::to_string(kBlocked)))));
  ASSERT_TRUE(test::write_file(config, "[driver]\nbackend = xfrm\n[control]\nsocket = " + socket.string() +
                                           "\n[cache]\npath = " + (dir->path() / "state" / "ward.db").string() +
                                           "\n[policy]\nlocal_file = " + policy_file.string() + "\n[log]\nlevel = debug\n"));

  auto child = test::ChildProcess::spawn({kIpTool, "netns", "exec", a.name(), WARDD_PATH, "--config", config.string()}, {}, log);
  ASSERT_TRUE(child) << child.error().to_string();
  auto wardd = std::move(*child);
  const auto wardctl = [&](const std::string& command) {
    const auto out = dir->path() / "wardctl.out";
    (void)ward::testing::run_command(std::string(WARDCTL_PATH) + " --socket " + socket.string() + " " + command + " > " + out.string() +
                                     " 2>&1");
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const auto has_table = [&] {
    return a.exec_output("nft list table inet ward").find(". tcp . 0-65535 . " + std::to_string(kBlocked) + " counter") != std::string::npos;
  };
  ASSERT_TRUE(eventually(has_table)) << a.exec_output("nft list table inet ward") << test::file_tail(log);
  const auto policies = a.exec_output("ip xfrm policy");
  EXPECT_EQ(policies.find("dir "), std::string::npos) << "the SPD carries negotiate filters only, and this policy has none (IKE's "
                                                          "sockets have policies of their own)\n" << policies;
  EXPECT_NE(wardctl("show policy").find("permit and block: nftables table inet ward"), std::string::npos) << wardctl("show policy");

  {
    ward::testing::TcpListeners listeners(b, kAddressB, {kBlocked, kOpen});
    EXPECT_FALSE(ward::testing::tcp_connects(a, kAddressB, kBlocked));
    EXPECT_TRUE(ward::testing::tcp_connects(a, kAddressB, kOpen));
  }
  const auto filters = nlohmann::json::parse(wardctl("--json show filters"), nullptr, false);
  ASSERT_FALSE(filters.is_discarded()) << wardctl("--json show filters");
  std::uint64_t blocked = 0;
  for (const auto& row : filters["filters"]) {
    if (row.value("destination_ports", "") == std::to_string(kBlocked)) blocked += row.value("packets", std::uint64_t{0});
  }
  EXPECT_GE(blocked, 1u) << "the blocked SYN(s), counted by the kernel: " << filters.dump(1);

  ASSERT_EQ(::kill(wardd.pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return !wardd.running(); }));
  EXPECT_EQ(wardd.exit_description(), "exited with status 0") << test::file_tail(log);
  EXPECT_EQ(a.exec_output("ip xfrm policy"), "");
  EXPECT_EQ(a.exec_output("nft list tables"), "") << "the table went with wardd";
  ward::testing::TcpListeners listeners(b, kAddressB, {kBlocked});
  EXPECT_TRUE(ward::testing::tcp_connects(a, kAddressB, kBlocked));
}

}  // namespace
}  // namespace ward::agent::daemon
