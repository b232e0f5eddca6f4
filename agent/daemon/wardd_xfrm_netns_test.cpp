// wardd with `[driver] backend = xfrm` as a real process in a network namespace: a local policy file
// that blocks TCP to one port becomes kernel XFRM policies (checked with `ip xfrm policy` and real
// connections to a peer namespace), and SIGTERM (exit 0) leaves none of Ward's policies behind.
#include <signal.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

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
  const auto has_policies = [&] { return a.exec_output("ip xfrm policy").find("dport " + std::to_string(kBlocked)) != std::string::npos; };
  ASSERT_TRUE(eventually(has_policies)) << a.exec_output("ip xfrm policy") << test::file_tail(log);
  const auto policies = a.exec_output("ip xfrm policy");
  EXPECT_NE(policies.find("action block"), std::string::npos) << policies;

  ward::testing::TcpListeners listeners(b, kAddressB, {kBlocked, kOpen});
  EXPECT_FALSE(ward::testing::tcp_connects(a, kAddressB, kBlocked));
  EXPECT_TRUE(ward::testing::tcp_connects(a, kAddressB, kOpen));

  ASSERT_EQ(::kill(wardd.pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return !wardd.running(); }));
  EXPECT_EQ(wardd.exit_description(), "exited with status 0") << test::file_tail(log);
  EXPECT_EQ(a.exec_output("ip xfrm policy"), "");
  EXPECT_TRUE(ward::testing::tcp_connects(a, kAddressB, kBlocked));
}

}  // namespace
}  // namespace ward::agent::daemon
