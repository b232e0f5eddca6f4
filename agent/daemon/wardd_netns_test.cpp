// wardd as a real process in a network namespace: a local policy file that blocks TCP to one port,
// checked with real connections to a peer namespace and with the built wardctl; then a broken
// policy + SIGHUP (kept, event recorded), a fixed one + SIGHUP (applied), and SIGTERM (exit 0,
// kernel rules gone). `backend = auto` runs what the kernel probe found and says why.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "directory/model/policy_json.h"
#include "driver/xfrm/kernel_probe.h"
#include "agent/daemon/test_policies.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;
using driver::xfrm::KernelIpsecProbe;

constexpr const char* kAddressA = "10.20.1.1";  // wardd's host
constexpr const char* kAddressB = "10.20.1.2";  // the peer
constexpr const char* kIpTool = "/usr/sbin/ip";
constexpr std::uint16_t kFirstBlocked = 7009;
constexpr std::uint16_t kOpen = 7010;
constexpr std::uint16_t kSecondBlocked = 7011;
constexpr auto kWaitLimit = 15s;


class WarddNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    auto dir = test::TempDir::create("wardd-netns");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_ = std::make_unique<test::TempDir>(std::move(*dir));
    a_ = std::make_unique<Netns>("wardd-a");
    b_ = std::make_unique<Netns>("wardd-b");
    ward::testing::connect_veth(*a_, std::string(kAddressA) + "/24", *b_, std::string(kAddressB) + "/24");
    socket_ = dir_->path() / "run" / "control.sock";
    policy_file_ = dir_->path() / "policy.json";
    config_ = dir_->path() / "ward.conf";
    ASSERT_TRUE(test::write_file(config_, "[driver]\nbackend = nfqueue\n[control]\nsocket = " + socket_.string() +
                                              "\n[cache]\npath = " + (dir_->path() / "state" / "ward.db").string() +
                                              "\n[policy]\nlocal_file = " + policy_file_.string() +
                                              "\n[log]\nlevel = debug\n"));
  }

  void write_policy(const model::Policy& policy) {
    ASSERT_TRUE(test::write_file(policy_file_, model::policy_to_json(policy)));
  }

  void start_wardd() {
    auto child = test::ChildProcess::spawn({kIpTool, "netns", "exec", a_->name(), WARDD_PATH, "--config", config_.string()},
                                           {}, log_path());
    ASSERT_TRUE(child) << child.error().to_string();
    wardd_ = std::move(*child);
  }

  std::filesystem::path log_path() const { return dir_->path() / "wardd.log"; }

  // wardctl's output (stdout and stderr) and exit status.
  std::pair<int, std::string> wardctl(const std::string& command) const {
    const auto out = dir_->path() / "wardctl.out";
    const int status = ward::testing::run_command(std::string(WARDCTL_PATH) + " --socket " + socket_.string() + " " +
                                                  command + " > " + out.string() + " 2>&1");
    return {status, model::testing::read_text(out.string())};
  }

  // Polls `done` until it holds or kWaitLimit passes.
  template <typename Done>
  bool eventually(Done done) const {
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return done();
  }

  // The control socket answers at once (on the boot policy): the file's policy comes right after.
  bool applied() const { return wardctl("--json show policy").second.find("\"state\": \"applied\"") != std::string::npos; }

  bool connects(std::uint16_t port) const { return ward::testing::tcp_connects(*a_, kAddressB, port); }

  std::unique_ptr<test::TempDir> dir_;
  std::unique_ptr<Netns> a_;
  std::unique_ptr<Netns> b_;
  std::filesystem::path socket_, policy_file_, config_;
  test::ChildProcess wardd_;
};

TEST_F(WarddNetnsTest, EnforcesKeepsBrokenRefreshesFixedAndCleansUp) {
  write_policy(testing::tcp_block_policy(kFirstBlocked, "Block 7009"));
  start_wardd();
  ASSERT_TRUE(eventually([&] { return applied(); })) << test::file_tail(log_path());

  const auto [policy_status, policy_text] = wardctl("show policy");
  EXPECT_NE(policy_text.find("Block 7009"), std::string::npos) << policy_text;
  EXPECT_NE(policy_text.find("applied"), std::string::npos) << policy_text;
  const auto [filters_status, filters_text] = wardctl("show filters");
  EXPECT_EQ(filters_status, 0);
  EXPECT_NE(filters_text.find("7009"), std::string::npos) << filters_text;
  EXPECT_NE(filters_text.find("block"), std::string::npos) << filters_text;
  const auto [explain_status, explain_text] = wardctl(std::string("explain ") + kAddressA + " " + kAddressB + " tcp 40000 7009");
  EXPECT_EQ(explain_status, 0) << explain_text;
  EXPECT_NE(explain_text.find("block"), std::string::npos) << explain_text;

  ward::testing::TcpListeners listeners(*b_, kAddressB, {kFirstBlocked, kOpen, kSecondBlocked});
  EXPECT_FALSE(connects(kFirstBlocked));
  EXPECT_TRUE(connects(kOpen));
  EXPECT_TRUE(connects(kSecondBlocked));

  // A broken policy: kept the old one, said so.
  auto broken = testing::tcp_block_policy(kSecondBlocked, "Broken");
  broken.rules[0].filter_action = model::testing::guid("{99999999-9999-9999-9999-999999999999}");
  write_policy(broken);
  ASSERT_EQ(::kill(wardd_.pid(), SIGHUP), 0);
  EXPECT_TRUE(eventually([&] { return wardctl("show events").second.find("policy-rejected") != std::string::npos; }))
      << wardctl("show events").second << test::file_tail(log_path());
  EXPECT_NE(wardctl("show events").second.find("keeping policy"), std::string::npos);
  EXPECT_NE(wardctl("show policy").second.find("Block 7009"), std::string::npos);
  EXPECT_FALSE(connects(kFirstBlocked));
  EXPECT_TRUE(connects(kSecondBlocked));

  // Fixed: applied.
  write_policy(testing::tcp_block_policy(kSecondBlocked, "Block 7011"));
  ASSERT_EQ(::kill(wardd_.pid(), SIGHUP), 0);
  EXPECT_TRUE(eventually([&] { return wardctl("show policy").second.find("Block 7011") != std::string::npos; }))
      << test::file_tail(log_path());
  EXPECT_TRUE(connects(kFirstBlocked));
  EXPECT_FALSE(connects(kSecondBlocked));
  EXPECT_TRUE(connects(kOpen));

  // SIGTERM: exit 0, no kernel table left.
  EXPECT_NE(a_->exec_output("nft list tables").find("inet ward"), std::string::npos);
  ASSERT_EQ(::kill(wardd_.pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return !wardd_.running(); }));
  EXPECT_EQ(wardd_.exit_description(), "exited with status 0") << test::file_tail(log_path());
  const auto tables = a_->exec_output("nft list tables");
  EXPECT_EQ(tables.find("ward"), std::string::npos) << tables;
  EXPECT_TRUE(connects(kSecondBlocked));

  const auto log = model::testing::read_text(log_path().string());
  EXPECT_NE(log.find("event=policy-rejected"), std::string::npos) << log;
  EXPECT_NE(log.find("event=stopped"), std::string::npos) << log;
}

// `[driver] backend = auto`: wardd runs what the kernel probe found (driver/xfrm/kernel_probe.h;
// on this host's kernel, without ESP: nfqueue; inside User-mode Linux the wardd UML tests see xfrm),
// logs the choice and why, and `wardctl show policy` says it; the filters are enforced.
TEST_F(WarddNetnsTest, AutoRunsTheBackendTheKernelCanAndSaysWhy) {
  std::string text = model::testing::read_text(config_.string());
  text.replace(text.find("backend = nfqueue"), std::string("backend = nfqueue").size(), "backend = auto");
  ASSERT_TRUE(test::write_file(config_, text));
  KernelIpsecProbe probe;
  a_->run_inside([&] { probe = driver::xfrm::probe_kernel_ipsec(); });
  const std::string expected = probe.esp && probe.ah ? "xfrm" : "nfqueue";
  write_policy(testing::tcp_block_policy(kFirstBlocked, "Block 7009"));
  start_wardd();
  ASSERT_TRUE(eventually([&] { return applied(); })) << test::file_tail(log_path());

  const auto shown = nlohmann::json::parse(wardctl("show policy --json").second, nullptr, false);
  ASSERT_FALSE(shown.is_discarded());
  EXPECT_EQ(shown["dataplane"]["configured"], "auto") << shown["dataplane"].dump();
  EXPECT_EQ(shown["dataplane"]["backend"], expected) << shown["dataplane"].dump();
  EXPECT_NE(shown["dataplane"]["why"].get<std::string>().find(probe.esp ? "accepted an ESP state" : "refused an ESP state"),
            std::string::npos)
      << shown["dataplane"].dump();
  EXPECT_NE(wardctl("show policy").second.find("Dataplane:"), std::string::npos) << wardctl("show policy").second;
  EXPECT_NE(model::testing::read_text(log_path().string()).find("event=dataplane backend=" + expected), std::string::npos)
      << test::file_tail(log_path());
  std::printf("auto chose %s: %s\n", expected.c_str(), shown["dataplane"]["why"].get<std::string>().c_str());

  ward::testing::TcpListeners listeners(*b_, kAddressB, {kFirstBlocked, kOpen});
  EXPECT_FALSE(connects(kFirstBlocked));
  EXPECT_TRUE(connects(kOpen));
}

}  // namespace
}  // namespace ward::agent::daemon
