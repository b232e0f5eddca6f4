// For the tests that run wardd as a real process in a network namespace (wardd_ike_netns_test,
// wardd_nat_netns_test): a host's files and process, starting wardd with a local policy, wardctl
// against its socket, and polling. The including target defines WARDD_PATH and WARDCTL_PATH.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon::testing {

// The [driver] backend the tests' wardd run with: nfqueue on the host (its kernel has no ESP);
// the User-mode Linux builds of the same tests (a kernel with ESP and AH) define WARD_TEST_BACKEND
// as auto, which picks xfrm there.
#ifdef WARD_TEST_BACKEND
inline constexpr const char* kTestBackend = WARD_TEST_BACKEND;
#else
inline constexpr const char* kTestBackend = "nfqueue";
#endif

inline constexpr std::chrono::seconds kWarddWaitLimit{15};
inline constexpr const char* kIpTool = "/usr/sbin/ip";

struct WarddHost {
  std::unique_ptr<ward::testing::Netns> ns;
  std::filesystem::path dir, socket, policy_file, config, log;
  test::ChildProcess wardd;
};

// Polls `done` every 100 ms until it holds or kWarddWaitLimit passes.
template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kWarddWaitLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

// wardctl `command` against the host's socket: exit status and output.
inline std::pair<int, std::string> wardctl(const WarddHost& host, const std::string& command) {
  const auto out = host.dir / "wardctl.out";
  const int status = ward::testing::run_command(std::string(WARDCTL_PATH) + " --socket " + host.socket.string() + " " +
                                                command + " > " + out.string() + " 2>&1");
  return {status, model::testing::read_text(out.string())};
}

// `show sa --json`, or an empty object when wardctl fails or prints no JSON.
inline nlohmann::json show_sa(const WarddHost& host) {
  const auto [status, text] = wardctl(host, "show sa --json");
  if (status != 0) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json::object() : parsed;
}

// Writes `policy` as the host's local policy file, starts wardd in the host's namespace and waits
// until `show policy` says it is applied.
inline void start_wardd(WarddHost& host, const model::Policy& policy) {
  ASSERT_TRUE(test::write_private_file(host.policy_file, model::policy_to_json(policy)));
  auto child = test::ChildProcess::spawn({kIpTool, "netns", "exec", host.ns->name(), WARDD_PATH, "--config", host.config.string()},
                                         {}, host.log);
  ASSERT_TRUE(child) << child.error().to_string();
  host.wardd = std::move(*child);
  // The control socket answers at once (on the boot policy); wait for the file's policy.
  ASSERT_TRUE(eventually([&] { return wardctl(host, "--json show policy").second.find("\"state\": \"applied\"") != std::string::npos; }))
      << test::file_tail(host.log);
#ifdef WARD_TEST_EXPECTED_BACKEND
  // The User-mode Linux builds: `auto` must have found the kernel's ESP and AH.
  const auto [status, text] = wardctl(host, "show policy --json");
  const auto shown = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(shown.is_discarded()) << text;
  ASSERT_EQ(shown["dataplane"]["backend"], WARD_TEST_EXPECTED_BACKEND) << shown["dataplane"].dump();
#endif
}

// Adds [certificates] to the host's ward.conf: an RSA certificate `name` ("/O=Ward/CN=<name>.ward.test",
// subjectAltName IP:`address`) from `issuer`, with `trusted` as the trust store.
inline void use_certificate(WarddHost& host, const std::string& name, const test::TestCa& issuer, const test::TestCa& trusted,
                            const std::string& address) {
  auto cert = test::issue_rsa_certificate(issuer, host.dir, name, "/O=Ward/CN=" + name + ".ward.test",
                                          test::RsaCertificateOptions{{"IP:" + address}, "", "", 10, {}});
  ASSERT_TRUE(cert) << cert.error().to_string();
  ASSERT_TRUE(test::write_file(host.config, test::read_text(host.config) + "[certificates]\ncertificate = " +
                                                cert->certificate.string() + "\nprivate_key = " + cert->private_key.string() +
                                                "\ntrust = " + trusted.certificate.string() + "\n"));
}

}  // namespace ward::agent::daemon::testing
