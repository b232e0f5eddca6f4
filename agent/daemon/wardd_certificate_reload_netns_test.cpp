// [certificates] reloaded while wardd runs (certificate_reload.h): two wardd in network namespaces
// authenticate with RSA certificates from one root; A's trust store is a directory. A's admin
// revokes B's certificate and drops the root's new CRL into that directory; after SIGHUP (or the
// minute's check) A refuses B's next main mode as revoked, without a restart. A broken file added
// afterwards is reported and leaves the set in use (B stays refused). Run with IKE in wardd and
// with IKE in its own process ([privsep] user = nobody: the set reaches the child).
// Skips without root or `ip`.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/daemon/wardd_host.h"
#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon {
namespace {

using Host = testing::WarddHost;
using testing::eventually;
using testing::show_sa;

constexpr const char* kAddressA = "10.20.1.1";
constexpr const char* kAddressB = "10.20.1.2";
constexpr const char* kRootName = "CN=Reload Test Root, O=Ward";

model::Policy certificate_policy() {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.name = "Legal ESP with certificates";
  auto rule = policy.rules[0];
  auto list = *policy.find_filter_list(*rule.filter_list);
  auto action = policy.filter_actions[1];
  rule.filter_action = action.id;
  rule.auth_methods = {model::AuthMethod::certificate(kRootName)};
  policy.filter_lists = {list};
  policy.filter_actions = {action};
  policy.rules = {rule};
  return policy;
}

bool log_has(const Host& host, const std::string& text) { return test::read_text(host.log).find(text) != std::string::npos; }

// The parameter: ward.conf's [privsep] user ("" for IKE inside wardd).
class WarddCertificateReloadTest : public testing::TwoWarddHostsOn<::testing::TestWithParam<std::string>> {
 protected:
  void SetUp() override {
    set_up_hosts("certreload", kAddressA, kAddressB, [this](Host& host, const std::filesystem::path& dir) {
      if (&host == &a_) {
        auto root = test::make_rsa_ca(dir_->path(), "root", "/O=Ward/CN=Reload Test Root");
        ASSERT_TRUE(root) << root.error().to_string();
        root_ = *root;
      }
      const std::string name = &host == &a_ ? "a" : "b";
      std::filesystem::create_directories(dir / "trust");
      std::filesystem::copy_file(root_.certificate, dir / "trust" / "root.crt");
      auto certificate = test::issue_rsa_certificate(root_, dir, name, "/O=Ward/CN=" + name + ".ward.test",
                                                     test::RsaCertificateOptions{{std::string("IP:") + (&host == &a_ ? kAddressA : kAddressB)}, "", "", 10, {}});
      ASSERT_TRUE(certificate) << certificate.error().to_string();
      if (&host == &b_) b_certificate_ = *certificate;
      testing::lay_out(host, dir, testing::kTestBackend, "",
                       (GetParam().empty() ? std::string() : "[privsep]\nuser = " + GetParam() + "\n") + "[certificates]\ncertificate = " +
                           certificate->certificate.string() + "\nprivate_key = " + certificate->private_key.string() +
                           "\ntrust = " + (dir / "trust").string() + "\n");
    });
  }

  // B starts again: its SAs are deleted (A is told) and its next ping needs a new main mode.
  void restart_b() {
    b_.wardd.stop();
    testing::start_wardd(b_, certificate_policy());
  }

  // B pings A until A has refused B's main mode `times` times in all as revoked (B's IKE may
  // still be starting when the first ping leaves); false if a ping was answered or A never refused.
  bool refused_as_revoked(std::size_t times) {
    bool answered = false;
    const bool refused = eventually([&] {
      answered = answered || ward::testing::ping_once(*b_.ns, kAddressA) == 0;
      return occurrences(a_, "is revoked") >= times;
    });
    return refused && !answered;
  }
  static std::size_t occurrences(const Host& host, const std::string& text) {
    const auto log = test::read_text(host.log);
    std::size_t n = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + text.size())) ++n;
    return n;
  }

  test::TestCa root_;
  test::TestCertificate b_certificate_;
};

TEST_P(WarddCertificateReloadTest, ANewCrlInTheTrustStoreRevokesThePeerWithoutARestart) {
  testing::start_wardd(a_, certificate_policy());
  testing::start_wardd(b_, certificate_policy());
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(testing::ping_until_answered(b_, kAddressA)) << test::file_tail(a_.log) << test::file_tail(b_.log);

  // The CA revokes B; A's admin puts the new CRL in A's trust directory and reloads.
  ASSERT_TRUE(test::revoke_certificate(root_, b_certificate_));
  auto crl = test::make_crl(root_, a_.dir / "trust", "root");
  ASSERT_TRUE(crl) << crl.error().to_string();
  ASSERT_EQ(::kill(a_.wardd.pid(), SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return log_has(a_, "event=certificates-reloaded") && log_has(a_, "crls=1"); })) << test::file_tail(a_.log);

  restart_b();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(refused_as_revoked(1)) << "a revoked peer's traffic passed, or A never refused it\n" << test::file_tail(a_.log);
  EXPECT_TRUE(show_sa(a_).value("quick_modes", nlohmann::json::array()).empty()) << show_sa(a_).dump(1);
  const auto refused_before = occurrences(a_, "is revoked");

  // A file that does not load: reported, and the set in use (with the CRL) stays.
  ASSERT_TRUE(test::write_file(a_.dir / "trust" / "half-copied.crl", "-----BEGIN X509 CRL-----\nMIIB\n"));
  ASSERT_EQ(::kill(a_.wardd.pid(), SIGHUP), 0);
  EXPECT_TRUE(eventually([&] { return log_has(a_, "event=certificates-reload-failed"); })) << test::file_tail(a_.log);
  restart_b();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(refused_as_revoked(refused_before + 1)) << "the broken reload dropped the CRL\n" << test::file_tail(a_.log);
  EXPECT_TRUE(show_sa(a_).value("quick_modes", nlohmann::json::array()).empty()) << show_sa(a_).dump(1);
}

INSTANTIATE_TEST_SUITE_P(IkeInWarddOrApart, WarddCertificateReloadTest, ::testing::Values(std::string(), std::string("nobody")),
                         [](const auto& test_info) { return test_info.param.empty() ? std::string("InWardd") : std::string("PrivsepChild"); });

}  // namespace
}  // namespace ward::agent::daemon
