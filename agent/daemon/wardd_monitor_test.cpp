// wardd as a real process (sim driver, local policy) with [monitor] enabled: the built wardctl
// reads the policy remotely over mutual TLS, refresh is refused there, and a wardctl without the
// helpdesk's certificate gets nothing.
#include <signal.h>

#include <chrono>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;

class WarddMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::TempDir::create("wardd-monitor");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_ = std::make_unique<test::TempDir>(std::move(*dir));
    const auto& d = dir_->path();
    auto ca = test::make_test_ca(d, "helpdesk");
    auto other = test::make_test_ca(d, "other");
    ASSERT_TRUE(ca && other);
    auto server = test::issue_server_certificate(*ca, d, "agent", "agent", {"IP:127.0.0.1"});
    auto client = test::issue_client_certificate(*ca, d, "helpdesk-1", "helpdesk-1");
    auto stranger = test::issue_client_certificate(*other, d, "stranger", "stranger");
    ASSERT_TRUE(server && client && stranger);
    auto port = test::free_loopback_port();
    ASSERT_TRUE(port) << port.error().to_string();
    ca_ = ca->certificate;
    client_ = *client;
    stranger_ = *stranger;
    ASSERT_TRUE(test::write_file(d / "policy.json", model::policy_to_json(model::testing::load_example_policy("legal-policy.json"))));
    ASSERT_TRUE(test::write_file(
        d / "ward.conf", "[driver]\nbackend = sim\n[control]\nsocket = " + (d / "run" / "control.sock").string() +
                             "\n[cache]\npath = " + (d / "state" / "ward.db").string() +
                             "\n[policy]\nlocal_file = " + (d / "policy.json").string() +
                             "\n[monitor]\nenabled = yes\nlisten = 127.0.0.1:" + std::to_string(*port) + "\ntls_cert = " + server->certificate.string() +
                             "\ntls_key = " + server->private_key.string() + "\ntls_ca = " + ca->certificate.string() +
                             "\n[log]\nlevel = info\n"));
    auto child = test::ChildProcess::spawn({WARDD_PATH, "--config", (d / "ward.conf").string()}, {}, log_path());
    ASSERT_TRUE(child) << child.error().to_string();
    wardd_ = std::move(*child);
    // The monitor listens as soon as wardd is up (on the boot policy); the file's policy comes
    // right after: wait for both.
    const std::regex listening("event=monitor-listening .*port=([0-9]+)");
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    std::smatch match;
    std::string log;
    while (std::chrono::steady_clock::now() < deadline && wardd_.running()) {
      log = model::testing::read_text(log_path().string());
      if (std::regex_search(log, match, listening) && log.find("event=policy-applied") != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_FALSE(match.empty()) << log;
    EXPECT_EQ(match[1].str(), std::to_string(*port));
    endpoint_ = "127.0.0.1:" + match[1].str();
  }

  std::filesystem::path log_path() const { return dir_->path() / "wardd.log"; }

  std::pair<int, std::string> wardctl(const test::TestCertificate& who, const std::string& command) const {
    const auto out = dir_->path() / "wardctl.out";
    const std::string line = std::string(WARDCTL_PATH) + " --monitor " + endpoint_ + " --cert " + who.certificate.string() +
                             " --key " + who.private_key.string() + " --ca " + ca_.string() + " --timeout 5 " +
                             command + " > " + out.string() + " 2>&1";
    const int status = std::system(line.c_str());
    return {WEXITSTATUS(status), model::testing::read_text(out.string())};
  }

  std::unique_ptr<test::TempDir> dir_;
  std::filesystem::path ca_;
  test::TestCertificate client_, stranger_;
  std::string endpoint_;
  test::ChildProcess wardd_;
};

TEST_F(WarddMonitorTest, HelpdeskReadsRemotelyButCannotChangeAnything) {
  const auto [status, policy] = wardctl(client_, "show policy");
  EXPECT_EQ(status, 0) << policy;
  EXPECT_NE(policy.find("Communication for the Legal Department"), std::string::npos) << policy;
  const auto [explain_status, explained] = wardctl(client_, "explain 10.20.1.10 10.20.2.10 tcp 40000 445");
  EXPECT_EQ(explain_status, 0) << explained;
  const auto [refresh_status, refreshed] = wardctl(client_, "refresh");
  EXPECT_EQ(refresh_status, 1) << refreshed;
  EXPECT_NE(refreshed.find("read-only"), std::string::npos) << refreshed;
  const auto [stranger_status, stranger_text] = wardctl(stranger_, "show policy");
  EXPECT_NE(stranger_status, 0) << stranger_text;
  EXPECT_EQ(stranger_text.find("Legal"), std::string::npos) << stranger_text;
  // The stranger's wardctl can give up before wardd has logged its side of the refused handshake.
  const auto logged_refusal = [&] { return model::testing::read_text(log_path().string()).find("TLS handshake failed") != std::string::npos; };
  for (auto until = std::chrono::steady_clock::now() + 5s; !logged_refusal() && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(logged_refusal());

  wardd_.stop();
  EXPECT_EQ(wardd_.exit_description(), "exited with status 0") << test::file_tail(log_path());
}

}  // namespace
}  // namespace ward::agent::daemon
