// The packaged service, as an administrator gets it: the ward-agent .deb built by cpack from this
// build tree, installed with dpkg in a real systemd booted by systemd-nspawn (one boot for the
// binary), wardd.service started with systemctl. The container's network is a namespace this
// test made, joined by a veth to a peer namespace from which traffic is checked.
//
//  - `systemctl start wardd` succeeds (Type=notify) and wardd holds exactly the unit's
//    capabilities (CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_SETUID, CAP_SETGID), runs as
//    root:ward, never restarted;
//  - its IKE process ([privsep] user = _ward, the user the postinst made) runs as _ward with no
//    capability, no_new_privs and a seccomp filter;
//  - the local policy blocks TCP to one port of the container and not another, seen from the peer;
//  - `systemctl reload wardd` applies a changed policy file before it returns;
//  - the journal holds wardd's events with PRIORITY, MESSAGE_ID and WARD_* fields;
//  - the control socket admits root and members of group ward, refuses other users;
//  - `systemctl stop wardd`: exit 0, kernel rules gone.
// Figures printed: cpack time, boot time, start time.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "agent/daemon/log.h"
#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/installer/nspawn_machine.h"
#include "tests/netns/netns.h"

namespace ward {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kHostAddress = "10.20.7.1";  // the container
constexpr const char* kPeerAddress = "10.20.7.2";
constexpr std::uint16_t kFirstPort = 7009;
constexpr std::uint16_t kSecondPort = 7010;
// CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7), CAP_NET_BIND_SERVICE (10) and CAP_NET_ADMIN (12):
// the unit's CapabilityBoundingSet (SETGID and SETUID for the IKE process to become _ward, KILL to
// stop it).
constexpr std::uint64_t kUnitCapabilities = (1ull << 5) | (1ull << 6) | (1ull << 7) | (1ull << 10) | (1ull << 12);

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// A policy that blocks TCP from any peer to this host's `port` (mirrored: the replies too).
model::Policy block_inbound_tcp(std::uint16_t port) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.name = "Block TCP " + std::to_string(port);
  auto rule = policy.rules[1];
  auto list = *policy.find_filter_list(*rule.filter_list);
  auto action = *policy.find_filter_action(rule.filter_action);
  list.filters.resize(1);
  list.filters[0].source = model::AddressSpec::any();
  list.filters[0].destination = model::AddressSpec::my_address();
  list.filters[0].protocol = model::ip_protocol::kTcp;
  list.filters[0].source_ports = PortRange::any();
  list.filters[0].destination_ports = PortRange::single(port);
  action.kind = model::ActionKind::Block;
  action.security_methods.clear();
  policy.filter_lists = {list};
  policy.filter_actions = {action};
  policy.rules = {rule};
  return policy;
}

// The value of a capability line (CapEff, CapBnd, ...) of /proc/PID/status; all ones if missing.
std::uint64_t capabilities(const std::string& status, const std::string& name) {
  const std::regex line("\n" + name + ":\\s*([0-9a-f]+)");
  std::smatch match;
  if (!std::regex_search(status, match, line)) return ~0ull;
  return std::stoull(match[1].str(), nullptr, 16);
}

void print_identity(const std::string& who, const std::string& pid, const std::string& status) {
  std::cout << who << "'s /proc/" << pid << "/status:\n";
  std::istringstream lines(status);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Uid:", 0) == 0 || line.rfind("Gid:", 0) == 0 || line.rfind("Cap", 0) == 0 || line.rfind("NoNewPrivs", 0) == 0 ||
        line.rfind("Seccomp:", 0) == 0) {
      std::cout << "  " << line << "\n";
    }
  }
}

class WarddService : public ::testing::Test {
 protected:
  // wardd's child whose command line says --privsep-child ROLE ("ike", "keys") runs as _ward with
  // no capability, no_new_privs and a seccomp filter, and said it was ready (EVENT-ready).
  void expect_sandboxed_child(const std::string& role, const std::string& what, const std::string& event);
  static void SetUpTestSuite() {
    if (test::NspawnMachine::unavailable() || !ward::testing::can_use_network_namespaces(nullptr)) return;
    auto dir = test::TempDir::create("ward-service-test");
    ASSERT_TRUE(dir) << dir.error().to_string();
    work_ = new test::TempDir(std::move(*dir));
    const auto packages = work_->path() / "packages";
    std::filesystem::create_directories(packages);

    // The agent's package only, from the binaries already built.
    const auto config = work_->path() / "CPackAgentOnly.cmake";
    ASSERT_TRUE(test::write_file(config, "include(\"" + std::string(WARD_BUILD_DIR) + "/CPackConfig.cmake\")\n"
                                                                                       "set(CPACK_COMPONENTS_ALL agent)\n"));
    const auto cpack_started = Clock::now();
    const auto cpack = test::run_captured({CPACK_COMMAND, "--config", config.string(), "-B", (work_->path() / "cpack").string()},
                                          work_->path());
    ASSERT_EQ(cpack.exit_code, 0) << cpack.describe();
    std::cout << "cpack (ward-agent only): "
              << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - cpack_started).count() << " ms\n";
    for (const auto& entry : std::filesystem::directory_iterator(work_->path() / "cpack")) {
      if (entry.path().extension() == ".deb") std::filesystem::copy_file(entry.path(), packages / "ward-agent.deb");
    }
    ASSERT_TRUE(std::filesystem::exists(packages / "ward-agent.deb")) << cpack.describe();
    ASSERT_TRUE(test::write_file(packages / "ward.conf", "[driver]\nbackend = nfqueue\n[policy]\nlocal_file = "
                                                          "/etc/ward/local-policy.json\n[log]\nlevel = info\n[privsep]\nuser = _ward\n"));
    ASSERT_TRUE(test::write_file(packages / "policy-first.json", model::policy_to_json(block_inbound_tcp(kFirstPort))));
    ASSERT_TRUE(test::write_file(packages / "policy-second.json", model::policy_to_json(block_inbound_tcp(kSecondPort))));

    host_ = new ward::testing::Netns("svc-host");
    peer_ = new ward::testing::Netns("svc-peer");
    ward::testing::connect_veth(*host_, std::string(kHostAddress) + "/24", *peer_, std::string(kPeerAddress) + "/24");
    test::NspawnOptions options;
    options.machine_name = "ward-" + std::to_string(::getpid()) + "-svc";
    options.network_namespace = host_->name();
    // The machine's /etc starts empty (--volatile=yes): iptables-restore and friends are
    // alternatives links through /etc/alternatives, which a real install has.
    options.read_only_binds = {{packages, "/ward-packages"}, {"/etc/alternatives", "/etc/alternatives"}};
    options.capabilities = {"CAP_NET_ADMIN"};  // what a host's PID 1 has
    options.console_log = work_->path() / "console.log";
    auto machine = test::NspawnMachine::boot(options);
    ASSERT_TRUE(machine) << machine.error().to_string();
    machine_ = machine->release();
    std::cout << "systemd-nspawn boot: " << machine_->boot_time().count() << " ms\n";

    // dpkg in the machine: an empty package database (the root is a fresh tmpfs), our package
    // only (its dependencies are the host's, already in /usr).
    const auto installed = machine_->run(
        "set -e; mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates /var/lib/dpkg/triggers;"
        " touch /var/lib/dpkg/status /var/lib/dpkg/available;"
        " dpkg --force-depends -i /ward-packages/ward-agent.deb;"
        " install -m 0644 /ward-packages/ward.conf /etc/ward/ward.conf;"
        " install -m 0644 /ward-packages/policy-first.json /etc/ward/local-policy.json;"
        // no network manager waits for an online network here
        " systemctl mask --quiet systemd-networkd-wait-online.service NetworkManager-wait-online.service");
    ASSERT_EQ(installed.exit_code, 0) << installed.describe();
  }

  static void TearDownTestSuite() {
    delete machine_;
    delete peer_;
    delete host_;
    delete work_;
    machine_ = nullptr;
    peer_ = host_ = nullptr;
    work_ = nullptr;
  }

  void SetUp() override {
    if (auto why = test::NspawnMachine::unavailable()) GTEST_SKIP() << *why;
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    ASSERT_NE(machine_, nullptr) << "the machine did not boot (see SetUpTestSuite's failure)";
  }

  void TearDown() override {
    if (HasFailure() && machine_ != nullptr) {
      std::cout << machine_->run("systemctl status --no-pager wardd; journalctl -u wardd --no-pager | tail -40").out;
    }
  }

  static test::CapturedRun in_machine(const std::string& command) { return machine_->run(command); }
  static std::string property(const std::string& name) {
    return trimmed(in_machine("systemctl show -P " + name + " wardd").out);
  }
  static bool peer_connects(std::uint16_t port) { return ward::testing::tcp_connects(*peer_, kHostAddress, port); }

  // The unit started once for all tests below, in order (gtest runs them in declaration order).
  static void ensure_started() {
    if (started_) return;
    started_ = true;
    const auto asked = Clock::now();
    const auto start = in_machine("systemctl start wardd");
    ASSERT_EQ(start.exit_code, 0) << start.describe();
    std::cout << "systemctl start wardd (Type=notify, READY=1): "
              << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked).count() << " ms\n";
  }

  static inline test::TempDir* work_ = nullptr;
  static inline ward::testing::Netns* host_ = nullptr;
  static inline ward::testing::Netns* peer_ = nullptr;
  static inline test::NspawnMachine* machine_ = nullptr;
  static inline bool started_ = false;
};

TEST_F(WarddService, StartsWithExactlyTheUnitsCapabilities) {
  ensure_started();
  EXPECT_EQ(property("ActiveState"), "active");
  const auto pid = property("MainPID");
  ASSERT_NE(pid, "0");
  const auto status = in_machine("cat /proc/" + pid + "/status").out;
  print_identity("wardd", pid, status);
  EXPECT_EQ(capabilities(status, "CapEff"), kUnitCapabilities);
  EXPECT_EQ(capabilities(status, "CapPrm"), kUnitCapabilities);
  EXPECT_EQ(capabilities(status, "CapBnd"), kUnitCapabilities);
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos);
  const auto ward_gid = trimmed(in_machine("getent group ward | cut -d: -f3").out);
  EXPECT_TRUE(std::regex_search(status, std::regex("\nGid:\\s+" + ward_gid + "\\s"))) << status;
  EXPECT_EQ(property("NRestarts"), "0");
}

void WarddService::expect_sandboxed_child(const std::string& role, const std::string& what, const std::string& event) {
  const auto wardd = property("MainPID");
  std::string pid;
  for (int i = 0; i < 50 && pid.empty(); ++i) {
    pid = trimmed(in_machine("pgrep -P " + wardd + " -f -- '--privsep-child " + role + "'").out);
    if (pid.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(pid.empty()) << in_machine("journalctl -u wardd --no-pager | tail -20").out;
  // The child exists before it has entered its sandbox (it drops its user and capabilities first
  // thing, then reports ready): its status is read once wardd logged it ready, not before.
  const auto ready = event + "-ready: pid=" + pid;
  std::string journal;
  for (int i = 0; i < 100; ++i) {
    journal = in_machine("journalctl -u wardd --no-pager").out;
    if (journal.find(ready) != std::string::npos || journal.find(event + "-failed") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  const auto status = in_machine("cat /proc/" + pid + "/status").out;
  print_identity(what, pid, status);
  const auto uid = trimmed(in_machine("id -u _ward").out);
  ASSERT_FALSE(uid.empty()) << "the postinst made no user _ward";
  EXPECT_TRUE(std::regex_search(status, std::regex("\nUid:\\s+" + uid + "\\s+" + uid + "\\s+" + uid + "\\s+" + uid + "\n"))) << status;
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb"}) EXPECT_EQ(capabilities(status, set), 0u) << what << " " << set;
  // The bounding set stays the unit's (emptying it needs CAP_SETPCAP, which the unit does not
  // grant); with no_new_privs and exec refused by the filter nothing can use it.
  EXPECT_EQ(capabilities(status, "CapBnd") & ~kUnitCapabilities, 0u);
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;
  EXPECT_NE(journal.find(ready), std::string::npos) << journal.substr(0, 4000);
  EXPECT_EQ(journal.find(event + "-failed"), std::string::npos) << journal.substr(0, 4000);
}

TEST_F(WarddService, TheIkeProcessRunsAsWardWithoutCapabilities) {
  ensure_started();
  expect_sandboxed_child("ike", "IKE process", "ike-process");
}

// The key process (agent/daemon/key_process.h) needs nothing more of the unit than the IKE process.
TEST_F(WarddService, TheKeyProcessRunsAsWardWithoutCapabilities) {
  ensure_started();
  expect_sandboxed_child("keys", "key process", "key-process");
}

TEST_F(WarddService, EnforcesThePolicySeenFromThePeer) {
  ensure_started();
  ward::testing::TcpListeners listeners(*host_, kHostAddress, {kFirstPort, kSecondPort});
  const auto shown = in_machine("wardctl --json show policy");
  ASSERT_EQ(shown.exit_code, 0) << shown.describe();
  EXPECT_EQ(nlohmann::json::parse(shown.out)["policy"]["name"], "Block TCP 7009");
  EXPECT_FALSE(peer_connects(kFirstPort));
  EXPECT_TRUE(peer_connects(kSecondPort));
  EXPECT_EQ(ward::testing::ping_once(*peer_, kHostAddress), 0);
}

TEST_F(WarddService, ReloadAppliesTheChangedPolicyBeforeItReturns) {
  ensure_started();
  ward::testing::TcpListeners listeners(*host_, kHostAddress, {kFirstPort, kSecondPort});
  ASSERT_EQ(in_machine("install -m 0644 /ward-packages/policy-second.json /etc/ward/local-policy.json").exit_code, 0);
  const auto reload = in_machine("systemctl reload wardd");
  ASSERT_EQ(reload.exit_code, 0) << reload.describe();
  // No waiting: reload returned after the refresh.
  EXPECT_TRUE(peer_connects(kFirstPort));
  EXPECT_FALSE(peer_connects(kSecondPort));
  EXPECT_EQ(nlohmann::json::parse(in_machine("wardctl --json show policy").out)["policy"]["name"], "Block TCP 7010");
}

TEST_F(WarddService, TheJournalHasStructuredEvents) {
  ensure_started();
  const auto journal = in_machine("journalctl -u wardd -o json --no-pager");
  ASSERT_EQ(journal.exit_code, 0) << journal.describe();
  bool applied = false;
  bool boot_policy = false;
  bool ike_started = false;
  std::istringstream lines(journal.out);
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_object() || entry.value("SYSLOG_IDENTIFIER", "") != "wardd") continue;
    const auto event = entry.value("WARD_EVENT", "");
    if (event == "policy-applied" && entry.value("WARD_POLICY", "") == "Block TCP 7009") {
      applied = true;
      EXPECT_EQ(entry.value("PRIORITY", ""), "6");
      EXPECT_EQ(entry.value("MESSAGE_ID", ""), agent::daemon::journal_message_id("policy-applied"));
      EXPECT_NE(entry.value("MESSAGE", "").find("policy-applied:"), std::string::npos);
    }
    // UDP 500 bound under the unit's capabilities (CAP_NET_BIND_SERVICE).
    if (event == "ike-started" && entry.value("WARD_ADDRESS", "") == kHostAddress) ike_started = true;
    EXPECT_NE(event, "ike-start-failed") << line;
    // First start, nothing cached: the boot policy until the file's policy, at error level.
    if (event == "boot-policy") {
      boot_policy = true;
      EXPECT_EQ(entry.value("PRIORITY", ""), "3");
    }
  }
  EXPECT_TRUE(applied) << journal.out.substr(0, 4000);
  EXPECT_TRUE(boot_policy);
  EXPECT_TRUE(ike_started);
}

TEST_F(WarddService, TheControlSocketAdmitsRootAndGroupWardOnly) {
  ensure_started();
  ASSERT_EQ(in_machine("useradd --no-create-home helpdesk && usermod -a -G ward helpdesk && "
                       "useradd --no-create-home stranger").exit_code, 0);
  // setpriv, not runuser: the machine's /etc has no PAM configuration.
  const auto member = in_machine("setpriv --reuid=helpdesk --regid=$(id -g helpdesk) --init-groups wardctl show policy");
  EXPECT_EQ(member.exit_code, 0) << member.describe();
  const auto stranger = in_machine("setpriv --reuid=stranger --regid=$(id -g stranger) --init-groups wardctl show policy");
  EXPECT_NE(stranger.exit_code, 0) << stranger.describe();
  EXPECT_EQ(trimmed(in_machine("stat -c '%a %U %G' /run/ward/control.sock").out), "660 root ward");
}

TEST_F(WarddService, StopsCleanly) {
  ensure_started();
  const auto stop = in_machine("systemctl stop wardd");
  ASSERT_EQ(stop.exit_code, 0) << stop.describe();
  EXPECT_EQ(property("ActiveState"), "inactive");
  EXPECT_EQ(property("Result"), "success");
  EXPECT_EQ(property("ExecMainStatus"), "0");
  EXPECT_EQ(host_->exec_output("iptables -t raw -S | grep -c WARD || true"), "0\n");
  EXPECT_EQ(property("NRestarts"), "0");
  // wardd alone got the SIGTERM (KillMode=mixed) and stopped its children itself: none exited on
  // its own signal and was started again during the stop (with control-group, each did, and the
  // stop sometimes outlasted TimeoutStopSec).
  const auto journal = in_machine("journalctl -u wardd --no-pager").out;
  const auto stopping = journal.rfind("stopping: signal=SIGTERM");
  ASSERT_NE(stopping, std::string::npos) << journal.substr(0, 4000);
  const auto after = journal.substr(stopping);
  EXPECT_EQ(after.find("-process-started"), std::string::npos) << after;
  EXPECT_EQ(after.find("-process-exited"), std::string::npos) << after;
}

}  // namespace
}  // namespace ward
