// wardd with [privsep] user: IKE runs in a process of its own (ike_process.h). Two wardd in two
// network namespaces negotiate ESP with a preshared key as in wardd_ike_netns_test, and:
//   - /proc shows wardd as root with its capabilities and the IKE process as `nobody` with none
//     (no capability in any set, no_new_privs, a seccomp filter), and the datagrams, policy
//     answers, SKEYID and SAs go through the channel between them (`show sa` asks the child);
//   - the IKE process killed with SIGKILL is noticed and logged, its SAs are removed, a new one
//     starts, and the next pings negotiate again; tshark on the peer's end of the link sees no
//     ICMP between the two hosts in clear at any time, only ESP;
//   - the key process (key_process.h) is `nobody` without capabilities as well and holds the
//     preshared key, which the IKE process never does;
//   - with [certificates], the IKE process signs through wardd and never gets the key; the key
//     process holds it (one of its primes in its memory only, no process keeps the file open),
//     and a SIGKILLed key process is replaced with the key and the next main mode signs with it;
//   - with Kerberos ([directory] realm, a real MIT krb5kdc shared by the binary's tests), the
//     IKE process runs main mode with every GSS-API step done by wardd, traffic is answered over
//     ESP, and the keytab is neither open in the child nor openable by its user; both sides'
//     steps run in their key processes, which alone read the keytabs (their keys in the key
//     processes' memory only, no process keeps a file open; the initiator's KDC messages sent on
//     by its wardd), and a SIGKILLed key process is replaced and accepts the next main mode.
// Skips without root, `ip` or tshark.
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/daemon/wardd_host.h"
#include "agent/privsep/proc_test_support.h"
#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/kdc_instance.h"
#include "tests/harness/process.h"
#include "tests/harness/process_memory.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon {
namespace {

using test::keytab_keys;
using test::memory_holds;

using namespace std::chrono_literals;
using Host = testing::WarddHost;
using testing::esp_policy;
using testing::eventually;
using testing::ping_until_answered;
using privsep::testing::privsep_child_of;
using privsep::testing::proc_status;
using testing::show_sa;
using testing::wardctl;

constexpr const char* kAddressA = "10.20.1.1";
constexpr const char* kAddressB = "10.20.1.2";
// Second addresses no filter covers: clear marker pings that show the capture is flushed.
constexpr const char* kMarkerA = "10.99.0.1";
constexpr const char* kMarkerB = "10.99.0.2";

// The first prime of an RSA key file as OpenSSL keeps it in memory (BIGNUM words, least significant
// first: little-endian bytes on every host Ward runs on).
std::vector<unsigned char> rsa_prime_in_memory(const std::filesystem::path& key_file) {
  std::vector<unsigned char> out;
  FILE* file = std::fopen(key_file.c_str(), "r");
  if (file == nullptr) return out;
  EVP_PKEY* key = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  BIGNUM* p = nullptr;
  if (key != nullptr && EVP_PKEY_get_bn_param(key, "rsa-factor1", &p) == 1) {
    out.resize(static_cast<std::size_t>(BN_num_bytes(p)));
    BN_bn2lebinpad(p, out.data(), static_cast<int>(out.size()));
  }
  BN_free(p);
  EVP_PKEY_free(key);
  return out;
}

// Whether any descriptor of `pid` is `file`.
bool has_open(pid_t pid, const std::filesystem::path& file) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    if (std::filesystem::read_symlink(entry.path(), error) == file) return true;
  }
  return false;
}

std::string caps_line(pid_t pid) {
  const auto s = proc_status(pid);
  auto get = [&](const char* k) { return s.count(k) != 0 ? s.at(k) : std::string("?"); };
  return "pid " + std::to_string(pid) + " (" + get("Name") + "): Uid " + get("Uid") + " Gid " + get("Gid") + " CapPrm " +
         get("CapPrm") + " CapEff " + get("CapEff") + " CapBnd " + get("CapBnd") + " CapAmb " + get("CapAmb") +
         " NoNewPrivs " + get("NoNewPrivs") + " Seccomp " + get("Seccomp");
}

class WarddPrivsepNetnsTest : public testing::TwoWarddHosts {
 protected:
  void SetUp() override {
    if (ward::testing::run_command("command -v tshark >/dev/null") != 0) GTEST_SKIP() << "needs tshark";
    set_up_hosts("privsep", kAddressA, kAddressB, [](Host& host, const std::filesystem::path& dir) {
      testing::lay_out(host, dir, "nfqueue", "", "[privsep]\nuser = nobody\n");
    });
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(a_.ns->exec(std::string("ip addr add ") + kMarkerA + "/24 dev " + links_.first), 0);
    ASSERT_EQ(b_.ns->exec(std::string("ip addr add ") + kMarkerB + "/24 dev " + links_.second), 0);
  }
  void TearDown() override {
    if (!capture_pid_.empty()) b_.ns->exec("kill $(cat " + capture_pid_ + ") 2>/dev/null");
  }

  // Both hosts get certificates from one root and run wardd with a policy that authenticates
  // with them; `a_settings` ends A's configuration, in its [certificates] section.
  void start_with_certificates(const std::string& a_settings = "") {
    auto root = test::make_rsa_ca(dir_->path(), "root", "/O=Ward/CN=Privsep Test Root");
    ASSERT_TRUE(root) << root.error().to_string();
    testing::use_certificate(a_, "a", *root, *root, kAddressA);
    testing::use_certificate(b_, "b", *root, *root, kAddressB);
    ASSERT_TRUE(test::write_file(a_.config, test::read_text(a_.config) + a_settings));
    auto policy = esp_policy("unused");
    policy.rules[0].auth_methods = {model::AuthMethod::certificate("CN=Privsep Test Root, O=Ward")};
    testing::start_wardd(a_, policy);
    testing::start_wardd(b_, policy);
  }

  pid_t wait_for_ike_process(const Host& host, pid_t other_than = -1) { return wait_for_child(host, "ike", other_than); }
  pid_t wait_for_key_process(const Host& host, pid_t other_than = -1) { return wait_for_child(host, "keys", other_than); }
  // `role` "ike" logs ike-process-ready, "keys" key-process-ready.
  static pid_t wait_for_child(const Host& host, const std::string& role, pid_t other_than) {
    pid_t pid = -1;
    const std::string ready = (role == "ike" ? "ike" : "key") + std::string("-process-ready pid=");
    eventually([&] {
      pid = privsep_child_of(host.wardd.pid(), role);
      return pid > 0 && pid != other_than && host_log_has(host, ready + std::to_string(pid));
    });
    return pid;
  }
  // What a sandboxed child of wardd must show in /proc/<pid>/status: nobody, no capability in any
  // set, no_new_privs, a seccomp filter.
  static void expect_sandboxed(pid_t pid, const char* what) {
    const auto status = proc_status(pid);
    EXPECT_EQ(status.at("Uid"), "65534\t65534\t65534\t65534") << what;
    EXPECT_EQ(status.at("Gid"), "65534\t65534\t65534\t65534") << what;
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"}) EXPECT_EQ(status.at(set), "0000000000000000") << what << " " << set;
    EXPECT_EQ(status.at("NoNewPrivs"), "1") << what;
    EXPECT_EQ(status.at("Seccomp"), "2") << what;
  }
  static bool host_log_has(const Host& host, const std::string& text) {
    return test::read_text(host.log).find(text) != std::string::npos;
  }

  void start_capture() {
    capture_ = (dir_->path() / "wire.pcap").string();
    capture_pid_ = capture_ + ".pid";
    ASSERT_EQ(b_.ns->exec("tshark -q -i " + links_.second + " -w " + capture_ + " >/dev/null 2>&1 & echo $! > " + capture_pid_), 0);
    for (int i = 0; i < 50 && b_.ns->exec("test -s " + capture_) != 0; ++i) std::this_thread::sleep_for(100ms);
  }
  std::size_t count(const std::string& filter) const {
    const auto n = ward::testing::command_output("tshark -r " + capture_ + " -Y '" + filter + "' 2>/dev/null | wc -l");
    return static_cast<std::size_t>(std::strtoul(n.c_str(), nullptr, 10));
  }
  // dumpcap writes in batches: a clear marker ping that shows up means all before it is written.
  void stop_capture() {
    const std::string marker = std::string("icmp.type == 8 && ip.dst == ") + kMarkerB;
    const auto before = count(marker);
    for (int i = 0; i < 100 && count(marker) == before; ++i) {
      a_.ns->exec(std::string("ping -c1 -W1 ") + kMarkerB + " >/dev/null 2>&1");
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_GT(count(marker), before) << "tshark on " << links_.second << " captures nothing";
    b_.ns->exec("kill -INT $(cat " + capture_pid_ + ")");
    for (int i = 0; i < 50 && b_.ns->exec("kill -0 $(cat " + capture_pid_ + ") 2>/dev/null") == 0; ++i) std::this_thread::sleep_for(100ms);
    capture_pid_.clear();
  }
  // Stops the capture; between the two hosts it saw ESP and never ICMP in clear.
  void expect_only_esp_between_hosts() {
    stop_capture();
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(count(between_hosts() + " && icmp"), 0U) << "ICMP between the hosts in clear";
    EXPECT_GT(count(between_hosts() + " && esp"), 0U);
  }
  static std::string between_hosts() { return std::string("ip.addr == ") + kAddressA + " && ip.addr == " + kAddressB; }

  // B's policy adds to A's a rule for exactly B <-> A whose action offers only DES: it fails closed
  // on B (agent/ikebridge/offers.h), its filter blocks and has nothing to propose, while the subnet
  // rule still authenticates A's main mode. A's quick mode for its traffic to B reaches B's IKE
  // process, which asks B's wardd (kQuickModeForPeer); wardd's policy refuses it with
  // NO-PROPOSAL-CHOSEN, typed across the channel, and that is what A is told (IKEv2: in IKE_AUTH,
  // for its CHILD_SA).
  void expect_refused_with_no_proposal_chosen_by_bs_policy() {
    auto policy_b = esp_policy("privsep secret");
    model::Filter b_to_a;
    b_to_a.id = model::Guid::random();
    b_to_a.source = model::AddressSpec::host(*IpAddress::parse(kAddressB));
    b_to_a.destination = model::AddressSpec::host(*IpAddress::parse(kAddressA));
    policy_b.filter_lists.push_back({model::Guid::random(), "B and A", "", {b_to_a}});
    auto des_only = policy_b.filter_actions[0];
    des_only.id = model::Guid::random();
    des_only.name = "DES only";
    des_only.security_methods = {{std::nullopt, model::EspTransform{model::Cipher::Des, model::Integrity::Sha1}, 100000, 900}};
    policy_b.filter_actions.push_back(des_only);
    auto rule = policy_b.rules[0];
    rule.id = model::Guid::random();
    rule.name = "B and A with DES";
    rule.filter_list = policy_b.filter_lists.back().id;
    rule.filter_action = des_only.id;
    policy_b.rules.push_back(rule);
    testing::start_wardd(a_, esp_policy("privsep secret"));
    testing::start_wardd(b_, policy_b);
    ASSERT_GT(wait_for_ike_process(b_), 0) << test::file_tail(b_.log);
    EXPECT_NE(ward::testing::ping_once(*a_.ns, kAddressB), 0);
    nlohmann::json failure;
    EXPECT_TRUE(eventually([&] {
      for (const auto& f : show_sa(a_).value("failures", nlohmann::json::array())) {
        if (f.value("peer", "") == kAddressB && f.value("role", "") == "initiator") failure = f;
      }
      return !failure.is_null();
    })) << show_sa(a_).dump(1) << test::file_tail(a_.log) << test::file_tail(b_.log);
    EXPECT_EQ(failure.value("failure_kind", ""), "no-proposal-chosen") << failure.dump(1);
    const auto reason = failure.value("reason", "");   // IKEv1 and IKEv2 spell the type their way
    EXPECT_TRUE(reason.find("NO-PROPOSAL-CHOSEN") != std::string::npos || reason.find("NO_PROPOSAL_CHOSEN") != std::string::npos)
        << failure.dump(1);
    // B's wardd logs what its IKE process told A, with the policy's words for why (the log escapes
    // the quotes around the rule's name).
    const std::string why = "NO-PROPOSAL-CHOSEN: " + std::string(kAddressB) + "/32 -> " + kAddressA +
                            "/32 falls under a block filter of rule \\\"B and A with DES\\\" (it fails closed: ";
    EXPECT_TRUE(eventually([&] { return host_log_has(b_, why); })) << why << "\n" << test::file_tail(b_.log);
    EXPECT_TRUE(show_sa(a_).value("sas", nlohmann::json::array()).empty()) << show_sa(a_).dump(1);
  }

  std::string capture_, capture_pid_;
};

TEST_F(WarddPrivsepNetnsTest, IkeRunsAsItsOwnUserWithoutCapabilitiesAndNegotiates) {
  testing::start_wardd(a_, esp_policy("privsep secret"));
  testing::start_wardd(b_, esp_policy("privsep secret"));
  const pid_t ike_a = wait_for_ike_process(a_);
  ASSERT_GT(ike_a, 0) << test::file_tail(a_.log);
  const pid_t keys_a = wait_for_key_process(a_);
  ASSERT_GT(keys_a, 0) << test::file_tail(a_.log);
  const auto wardd = proc_status(a_.wardd.pid());
  std::printf("wardd %s\nIKE   %s\nkeys  %s\n", caps_line(a_.wardd.pid()).c_str(), caps_line(ike_a).c_str(), caps_line(keys_a).c_str());
  EXPECT_EQ(wardd.at("Uid"), "0\t0\t0\t0");
  EXPECT_NE(wardd.at("CapEff"), "0000000000000000");
  expect_sandboxed(ike_a, "the IKE process");
  expect_sandboxed(keys_a, "the key process");
  // The key process has no socket but its channel to wardd (AF_UNIX): none in `ss` but that one.
  const auto key_sockets = ward::testing::command_output("ip netns exec " + a_.ns->name() + " ss -apn | grep 'pid=" + std::to_string(keys_a) + ",'");
  EXPECT_EQ(key_sockets.find("udp"), std::string::npos) << key_sockets;
  EXPECT_EQ(key_sockets.find("tcp"), std::string::npos) << key_sockets;
  // Its sockets came from wardd: UDP 500 and 4500 on the host address are open in the child.
  const auto sockets = ward::testing::command_output("ip netns exec " + a_.ns->name() + " ss -uanp");
  EXPECT_NE(sockets.find(std::string(kAddressA) + ":500 "), std::string::npos) << sockets;
  EXPECT_NE(sockets.find("pid=" + std::to_string(ike_a) + ","), std::string::npos) << sockets;

  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  EXPECT_EQ(sa_a["quick_modes"][0]["spi_in"], sa_b["quick_modes"][0]["spi_out"]);
  EXPECT_EQ(sa_a["quick_modes"][0]["auth_method"], "pre-shared key");
  EXPECT_EQ(sa_a["sas"].size(), 2U);
  EXPECT_NE(wardctl(a_, "show events").second.find("quick mode established"), std::string::npos);
  // The IKE process asked for SKEYID, which the key process computed (the IKE process has no key).
  EXPECT_EQ(test::read_text(a_.log).find("privsep secret"), std::string::npos);
  const std::string psk = "privsep secret";
  EXPECT_TRUE(memory_holds(keys_a, std::vector<unsigned char>(psk.begin(), psk.end()))) << "the key process has no preshared key";
  EXPECT_FALSE(memory_holds(ike_a, std::vector<unsigned char>(psk.begin(), psk.end()))) << "the IKE process holds the preshared key";

  // SIGTERM: the child deletes its SAs through wardd and tells B, whose SAs go too.
  ASSERT_EQ(::kill(a_.wardd.pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return !a_.wardd.running(); }));
  EXPECT_EQ(a_.wardd.exit_description(), "exited with status 0") << test::file_tail(a_.log);
  EXPECT_NE(::kill(ike_a, 0), 0) << "the IKE process outlived wardd";
  EXPECT_TRUE(eventually([&] { return show_sa(b_).value("quick_modes", nlohmann::json::array()).empty(); }))
      << show_sa(b_).dump(1);
}

// IKEv2 in the IKE process: the PSK AUTH needs prf(key, "Key Pad for IKEv2"), which the child
// gets through the SKEYID call (kSkeyid, which wardd forwards to its key process); the key never
// reaches the IKE process. SIGTERM deletes the
// IKEv2 SA, and B's CHILD_SA goes with it.
TEST_F(WarddPrivsepNetnsTest, TheIkeProcessNegotiatesIkev2WithAPresharedKeyKeptInWardd) {
  for (auto* host : {&a_, &b_}) testing::lay_out(*host, host->dir, "nfqueue", "", "[privsep]\nuser = nobody\n[ike]\nversion = ikev2-first\n");
  testing::start_wardd(a_, esp_policy("privsep secret"));
  testing::start_wardd(b_, esp_policy("privsep secret"));
  ASSERT_GT(wait_for_ike_process(a_), 0) << test::file_tail(a_.log);
  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  EXPECT_EQ(sa_a["main_modes"][0]["ike_version"], 2) << sa_a.dump(1);
  EXPECT_EQ(sa_b["main_modes"][0]["ike_version"], 2) << sa_b.dump(1);
  EXPECT_EQ(sa_a["quick_modes"][0]["ike_version"], 2);
  EXPECT_EQ(sa_a["quick_modes"][0]["spi_in"], sa_b["quick_modes"][0]["spi_out"]);
  EXPECT_EQ(sa_a["sas"].size(), 2U);
  EXPECT_EQ(test::read_text(a_.log).find("privsep secret"), std::string::npos);
  ASSERT_EQ(::kill(a_.wardd.pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return !a_.wardd.running(); }));
  EXPECT_TRUE(eventually([&] { return show_sa(b_).value("quick_modes", nlohmann::json::array()).empty(); }))
      << show_sa(b_).dump(1);
}

TEST_F(WarddPrivsepNetnsTest, ARuleThatFailsClosedInWarddIsRefusedToThePeerWithNoProposalChosen) {
  expect_refused_with_no_proposal_chosen_by_bs_policy();
}

TEST_F(WarddPrivsepNetnsTest, ARuleThatFailsClosedInWarddRefusesTheIkev2ChildSaWithNoProposalChosen) {
  for (auto* host : {&a_, &b_}) testing::lay_out(*host, host->dir, "nfqueue", "", "[privsep]\nuser = nobody\n[ike]\nversion = ikev2-first\n");
  expect_refused_with_no_proposal_chosen_by_bs_policy();
}

TEST_F(WarddPrivsepNetnsTest, AKilledIkeProcessIsRestartedAndTrafficResumesWithoutClearPackets) {
  start_capture();
  testing::start_wardd(a_, esp_policy("privsep secret"));
  testing::start_wardd(b_, esp_policy("privsep secret"));
  const pid_t first = wait_for_ike_process(a_);
  ASSERT_GT(first, 0) << test::file_tail(a_.log);
  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json before;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &before}})) << before.dump(1);

  ASSERT_EQ(::kill(first, SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] { return host_log_has(a_, "ike-process-exited pid=" + std::to_string(first) + " how=\"killed by SIGKILL\""); }))
      << test::file_tail(a_.log);
  EXPECT_TRUE(eventually([&] { return host_log_has(a_, "event=ike-sas-removed count=2"); })) << test::file_tail(a_.log);
  const pid_t second = wait_for_ike_process(a_, first);
  ASSERT_GT(second, 0) << test::file_tail(a_.log);
  EXPECT_NE(second, first);
  EXPECT_EQ(proc_status(second).at("CapEff"), "0000000000000000");

  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  std::printf("traffic answered again %lld ms after the SIGKILL\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at).count()));
  nlohmann::json after;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &after}})) << after.dump(1);
  EXPECT_NE(after["quick_modes"][0]["spi_in"], before["quick_modes"][0]["spi_in"]) << "negotiated afresh";
  EXPECT_TRUE(ping_until_answered(b_, kAddressA));

  expect_only_esp_between_hosts();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GE(count("isakmp.exchangetype == 2 && ip.src == " + std::string(kAddressA)), 2U) << "two main modes from A";
}

// [certificates] settings reach the IKE process with the certificate: A requires a CRL for every
// certificate of a peer's chain and its trust store has none, so A's IKE process refuses B's chain
// (a child that checked with the default, if-present, let the main mode through).
TEST_F(WarddPrivsepNetnsTest, TheIkeProcessChecksChainsWithTheConfiguredRevocation) {
  start_with_certificates("revocation = required\n");
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_GT(wait_for_ike_process(a_), 0) << test::file_tail(a_.log);
  EXPECT_NE(ward::testing::ping_once(*a_.ns, kAddressB), 0);
  EXPECT_TRUE(eventually([&] { return host_log_has(a_, "no CRL of"); })) << test::file_tail(a_.log);
  EXPECT_TRUE(show_sa(a_).value("quick_modes", nlohmann::json::array()).empty());
}

// [certificates] with the IKE process: it gets the certificate, its chain and the trust store and
// asks for each signature (kSign, which wardd hands to the key process); the private key never
// reaches it. A SIGKILLed child is replaced and signs again.
TEST_F(WarddPrivsepNetnsTest, WithCertificatesTheIkeProcessSignsThroughWarddWithoutTheKey) {
  start_with_certificates();
  ASSERT_FALSE(HasFatalFailure());
  const pid_t first = wait_for_ike_process(a_);
  ASSERT_GT(first, 0) << test::file_tail(a_.log);
  EXPECT_TRUE(host_log_has(a_, std::string("ike-started address=") + kAddressA + " port=500 process=ike")) << test::file_tail(a_.log);
  std::printf("wardd %s\nIKE   %s\n", caps_line(a_.wardd.pid()).c_str(), caps_line(first).c_str());
  const auto ike = proc_status(first);
  EXPECT_EQ(ike.at("Uid"), "65534\t65534\t65534\t65534");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"}) EXPECT_EQ(ike.at(set), "0000000000000000") << set;
  EXPECT_EQ(ike.at("NoNewPrivs"), "1");
  EXPECT_EQ(ike.at("Seccomp"), "2");
  // The key file is root's alone: the child, as nobody, could not open it.
  const auto key = a_.dir / "a.key";
  struct stat key_stat {};
  ASSERT_EQ(::stat(key.c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_uid, 0U);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600U);

  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa}})) << sa.dump(1);
  EXPECT_EQ(sa["quick_modes"][0]["auth_method"], "RSA signature (X.509)") << sa.dump(1);
  EXPECT_FALSE(host_log_has(a_, "ike-sa-refused")) << test::file_tail(a_.log);
  // No line of the key's PEM in the log.
  const auto key_pem = test::read_text(key);
  const auto second_line = key_pem.substr(key_pem.find('\n') + 1, 64);
  EXPECT_EQ(second_line.size(), 64U);
  EXPECT_FALSE(host_log_has(a_, second_line));

  ASSERT_EQ(::kill(first, SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  const pid_t second = wait_for_ike_process(a_, first);
  ASSERT_GT(second, 0) << test::file_tail(a_.log);
  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  std::printf("certificates: traffic answered again %lld ms after the SIGKILL\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at).count()));
  EXPECT_TRUE(eventually([&] {
    const auto after = show_sa(a_);
    return after.value("quick_modes", nlohmann::json::array()).size() == 1 &&
           after["quick_modes"][0]["auth_method"] == "RSA signature (X.509)";
  })) << show_sa(a_).dump(1);
}

// The certificate's private key is read by the key process only (a descriptor of the file opened
// by wardd, closed once read): one of the key's primes, as OpenSSL keeps it, is in the key
// process's memory and in neither wardd's nor the IKE process's, and no process keeps the file
// open. The key process SIGKILLed is logged and replaced, gets the key again, and the next main
// mode (the IKE process killed too, so that one is needed) signs through it.
TEST_F(WarddPrivsepNetnsTest, TheCertificateKeyLivesOnlyInTheKeyProcessWhichIsRestartedWithIt) {
  start_with_certificates();
  ASSERT_FALSE(HasFatalFailure());
  const pid_t ike = wait_for_ike_process(a_);
  const pid_t keys = wait_for_key_process(a_);
  ASSERT_GT(ike, 0) << test::file_tail(a_.log);
  ASSERT_GT(keys, 0) << test::file_tail(a_.log);
  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa}})) << sa.dump(1);
  EXPECT_EQ(sa["quick_modes"][0]["auth_method"], "RSA signature (X.509)") << sa.dump(1);

  const auto key_file = a_.dir / "a.key";
  const auto prime = rsa_prime_in_memory(key_file);
  ASSERT_GE(prime.size(), 64U);
  EXPECT_TRUE(memory_holds(keys, prime)) << "the key process does not hold the key";
  EXPECT_FALSE(memory_holds(a_.wardd.pid(), prime)) << "wardd holds the certificate's private key";
  EXPECT_FALSE(memory_holds(ike, prime)) << "the IKE process holds the certificate's private key";
  for (const pid_t pid : {a_.wardd.pid(), ike, keys}) EXPECT_FALSE(has_open(pid, key_file)) << "pid " << pid << " keeps the key file open";

  ASSERT_EQ(::kill(keys, SIGKILL), 0);
  EXPECT_TRUE(eventually([&] { return host_log_has(a_, "key-process-exited pid=" + std::to_string(keys) + " how=\"killed by SIGKILL\""); }))
      << test::file_tail(a_.log);
  const pid_t new_keys = wait_for_key_process(a_, keys);
  ASSERT_GT(new_keys, 0) << test::file_tail(a_.log);
  EXPECT_TRUE(eventually([&] { return memory_holds(new_keys, prime); })) << "the new key process did not get the key again";
  ASSERT_EQ(::kill(ike, SIGKILL), 0);
  ASSERT_GT(wait_for_ike_process(a_, ike), 0) << test::file_tail(a_.log);
  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  EXPECT_TRUE(eventually([&] {
    const auto after = show_sa(a_);
    return after.value("quick_modes", nlohmann::json::array()).size() == 1 && after["quick_modes"][0]["auth_method"] == "RSA signature (X.509)";
  })) << show_sa(a_).dump(1);
  EXPECT_FALSE(host_log_has(a_, "key-process-certificate-refused")) << test::file_tail(a_.log);
}

// IKEv2 with certificates in the IKE process: its IKE_AUTH signature (RFC 7427, an RSA PKCS#1
// DigestInfo of SHA-256 over the signed octets) is made by the key process through wardd (kSign),
// as main mode's SIG is; the key's prime is in the key process only.
TEST_F(WarddPrivsepNetnsTest, Ikev2WithCertificatesSignsThroughTheKeyProcess) {
  for (auto* host : {&a_, &b_}) testing::lay_out(*host, host->dir, "nfqueue", "", "[privsep]\nuser = nobody\n[ike]\nversion = ikev2-first\n");
  start_with_certificates();
  ASSERT_FALSE(HasFatalFailure());
  const pid_t ike = wait_for_ike_process(a_);
  const pid_t keys = wait_for_key_process(a_);
  ASSERT_GT(ike, 0) << test::file_tail(a_.log);
  ASSERT_GT(keys, 0) << test::file_tail(a_.log);
  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  EXPECT_EQ(sa_a["main_modes"][0]["ike_version"], 2) << sa_a.dump(1);
  EXPECT_EQ(sa_b["main_modes"][0]["ike_version"], 2) << sa_b.dump(1);
  EXPECT_EQ(sa_a["main_modes"][0]["auth_method"], "RSA signature (X.509)") << sa_a.dump(1);
  EXPECT_EQ(sa_a["quick_modes"][0]["spi_in"], sa_b["quick_modes"][0]["spi_out"]);
  EXPECT_FALSE(host_log_has(a_, "ike-sa-refused")) << test::file_tail(a_.log);
  EXPECT_TRUE(host_log_has(a_, "the peer authenticated as CN=b.ward.test,O=Ward")) << test::file_tail(a_.log);
  const auto prime = rsa_prime_in_memory(a_.dir / "a.key");
  ASSERT_GE(prime.size(), 64U);
  EXPECT_TRUE(memory_holds(keys, prime)) << "the key process does not hold the key";
  EXPECT_FALSE(memory_holds(ike, prime)) << "the IKE process holds the certificate's private key";
  EXPECT_FALSE(memory_holds(a_.wardd.pid(), prime)) << "wardd holds the certificate's private key";
}

// Kerberos: the realm's KDC listens on the root namespace's loopback, one per test binary; each
// host reaches it at the same 127.0.0.1:port through socat relays (a Unix socket crosses the
// namespaces), and names the peer's address in /etc/netns/<ns>/hosts (IKE asks for
// host/<the peer's name>).
class WarddPrivsepKerberosTest : public WarddPrivsepNetnsTest {
 protected:
  static constexpr const char* kSocat = "/usr/bin/socat";

  static void SetUpTestSuite() {
    auto kdc = test::KdcInstance::start({});
    if (!kdc) {
      kdc_error_ = new std::string(kdc.error().to_string());
      return;
    }
    kdc_ = kdc->release();
    for (const char* host : {"a", "b"}) {
      if (auto added = kdc_->add_principal(principal(host, false)); !added) kdc_error_ = new std::string(added.error().to_string());
      if (auto extracted = kdc_->extract_keytab(principal(host, false), keytab(host)); !extracted) {
        kdc_error_ = new std::string(extracted.error().to_string());
      }
    }
    krb5_config_ = new test::ScopedEnv("KRB5_CONFIG", kdc_->krb5_config().string());
  }
  static void TearDownTestSuite() {
    delete krb5_config_;
    delete kdc_;
    delete kdc_error_;
    krb5_config_ = nullptr;
    kdc_ = nullptr;
    kdc_error_ = nullptr;
  }
  static std::string fqdn(const std::string& host) { return "privsep-" + host + ".ward.test"; }
  static std::string principal(const std::string& host, bool with_realm = true) {
    return "host/" + fqdn(host) + (with_realm ? "@" + kdc_->realm() : "");
  }
  static std::filesystem::path keytab(const std::string& host) { return kdc_->dir() / (host + ".keytab"); }

  void SetUp() override {
    WarddPrivsepNetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(kdc_error_, nullptr) << "the KDC did not start: " << *kdc_error_;
    const auto kdc_socket = dir_->path() / "kdc.sock";
    const auto port = std::to_string(kdc_->port());
    auto relay = test::ChildProcess::spawn({kSocat, "UNIX-LISTEN:" + kdc_socket.string() + ",fork,mode=0600", "TCP:127.0.0.1:" + port}, {},
                                           dir_->path() / "kdc-relay.log");
    ASSERT_TRUE(relay) << relay.error().to_string();
    relays_.push_back(std::move(*relay));
    ASSERT_TRUE(test::wait_for_unix_listener(kdc_socket, std::chrono::seconds(10))) << "the KDC relay never listened";
    const std::string hosts =
        std::string("127.0.0.1 localhost\n") + kAddressA + " " + fqdn("a") + "\n" + kAddressB + " " + fqdn("b") + "\n";
    for (auto* host : {&a_, &b_}) {
      const std::string name = host == &a_ ? "a" : "b";
      const auto etc = std::filesystem::path("/etc/netns") / host->ns->name();
      std::filesystem::create_directories(etc);
      etc_netns_.push_back(etc);
      ASSERT_TRUE(test::write_file(etc / "hosts", hosts));
      auto in_ns = test::ChildProcess::spawn({testing::kIpTool, "netns", "exec", host->ns->name(), kSocat,
                                              "TCP-LISTEN:" + port + ",bind=127.0.0.1,fork,reuseaddr",
                                              "UNIX-CONNECT:" + kdc_socket.string()},
                                             {}, host->dir / "kdc-relay.log");
      ASSERT_TRUE(in_ns) << in_ns.error().to_string();
      relays_.push_back(std::move(*in_ns));
      ASSERT_TRUE(test::write_file(host->config, test::read_text(host->config) + "[directory]\nrealm = " + kdc_->realm() +
                                                     "\nkeytab = " + keytab(name).string() + "\nprincipal = " + principal(name) + "\n"));
    }
    for (auto* host : {&a_, &b_}) {
      ASSERT_TRUE(testing::eventually([&] { return host->ns->exec("ss -ltn | grep -q 127.0.0.1:" + port) == 0; }))
          << "the KDC relay in " << host->ns->name() << " never listened";
    }
  }
  void TearDown() override {
    WarddPrivsepNetnsTest::TearDown();
    for (const auto& etc : etc_netns_) std::filesystem::remove_all(etc);
  }

  static test::KdcInstance* kdc_;
  static test::ScopedEnv* krb5_config_;
  static std::string* kdc_error_;
  std::vector<test::ChildProcess> relays_;
  std::vector<std::filesystem::path> etc_netns_;
};

test::KdcInstance* WarddPrivsepKerberosTest::kdc_ = nullptr;
test::ScopedEnv* WarddPrivsepKerberosTest::krb5_config_ = nullptr;
std::string* WarddPrivsepKerberosTest::kdc_error_ = nullptr;

// Whether `path` opens for reading as `user` (setpriv: the IKE process's uid and gid, no groups).
bool readable_as(const std::string& user, const std::filesystem::path& path) {
  return ward::testing::run_command("setpriv --reuid=" + user + " --regid=" + user + " --clear-groups -- cat " + path.string() +
                                    " >/dev/null 2>&1") == 0;
}

TEST_F(WarddPrivsepKerberosTest, TheIkeProcessRunsKerberosMainModeThroughWarddWithoutTheKeytab) {
  start_capture();
  auto policy = esp_policy("unused");
  policy.rules[0].auth_methods = {model::AuthMethod::kerberos()};
  testing::start_wardd(a_, policy);
  testing::start_wardd(b_, policy);
  const pid_t ike_a = wait_for_ike_process(a_);
  ASSERT_GT(ike_a, 0) << test::file_tail(a_.log);
  EXPECT_EQ(proc_status(ike_a).at("Uid"), "65534\t65534\t65534\t65534");

  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  EXPECT_EQ(sa_a["quick_modes"][0]["auth_method"], "Kerberos (GSS-API)") << sa_a.dump(1);
  EXPECT_EQ(sa_b["quick_modes"][0]["auth_method"], "Kerberos (GSS-API)") << sa_b.dump(1);
  EXPECT_EQ(sa_a["quick_modes"][0]["spi_in"], sa_b["quick_modes"][0]["spi_out"]);
  EXPECT_FALSE(host_log_has(a_, "ike-sa-refused")) << test::file_tail(a_.log);
  EXPECT_FALSE(host_log_has(a_, "ike-gss-refused")) << test::file_tail(a_.log);

  // The keytab stays wardd's: no descriptor of it in the IKE process, and its user cannot open it
  // (while it can open a world-readable file of the realm: the check itself works).
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(ike_a) + "/fd")) {
    std::error_code error;
    const auto target = std::filesystem::read_symlink(entry.path(), error);
    EXPECT_NE(target, keytab("a")) << entry.path();
  }
  EXPECT_TRUE(readable_as("root", keytab("a")));
  EXPECT_FALSE(readable_as("65534", keytab("a"))) << "the IKE process's user can read the keytab";
  std::filesystem::permissions(dir_->path(), std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
  const auto world_readable = dir_->path() / "world-readable";
  ASSERT_TRUE(test::write_file(world_readable, "x"));
  std::filesystem::permissions(world_readable, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  EXPECT_TRUE(readable_as("65534", world_readable));

  EXPECT_TRUE(ping_until_answered(b_, kAddressA));
  expect_only_esp_between_hosts();
}

// A starts a Kerberos main mode with B, both with every GSS-API step in their key processes (A's
// tickets got there, its KDC messages sent on by A's wardd): the keys of each host's keytab are in
// its key process's memory and in neither its wardd's nor its IKE process's, and no process keeps
// a keytab open. B's key process SIGKILLed is replaced, reads the keytab again, and accepts the
// next main mode (A's IKE process killed too, so that one is needed).
TEST_F(WarddPrivsepKerberosTest, TheKeytabLivesOnlyInTheKeyProcessOnBothSidesWhichIsRestartedWithIt) {
  auto policy = esp_policy("unused");
  policy.rules[0].auth_methods = {model::AuthMethod::kerberos()};
  testing::start_wardd(a_, policy);
  testing::start_wardd(b_, policy);
  struct Side {
    Host* host;
    std::string name;
    pid_t ike, keys;
  };
  std::vector<Side> sides{{&a_, "a", wait_for_ike_process(a_), wait_for_key_process(a_)},
                          {&b_, "b", wait_for_ike_process(b_), wait_for_key_process(b_)}};
  for (const auto& side : sides) {
    ASSERT_GT(side.ike, 0) << test::file_tail(side.host->log);
    ASSERT_GT(side.keys, 0) << test::file_tail(side.host->log);
  }
  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  EXPECT_EQ(sa_a["quick_modes"][0]["auth_method"], "Kerberos (GSS-API)") << sa_a.dump(1);
  EXPECT_EQ(sa_b["quick_modes"][0]["auth_method"], "Kerberos (GSS-API)") << sa_b.dump(1);

  std::vector<unsigned char> b_key;
  for (const auto& side : sides) {
    EXPECT_FALSE(host_log_has(*side.host, "key-process-keytab-refused")) << test::file_tail(side.host->log);
    const auto keys = keytab_keys(keytab(side.name));
    ASSERT_FALSE(keys.empty()) << "klist -k -K " << keytab(side.name) << " printed no key";
    if (side.name == "b") b_key = keys.front();
    for (const auto& key : keys) {
      ASSERT_GE(key.size(), 16U);
      EXPECT_TRUE(memory_holds(side.keys, key)) << side.name << "'s key process does not hold a key of its keytab";
      EXPECT_FALSE(memory_holds(side.host->wardd.pid(), key)) << side.name << "'s wardd holds a key of its keytab";
      EXPECT_FALSE(memory_holds(side.ike, key)) << side.name << "'s IKE process holds a key of its keytab";
    }
    for (const pid_t pid : {side.host->wardd.pid(), side.ike, side.keys}) {
      EXPECT_FALSE(has_open(pid, keytab(side.name))) << "pid " << pid << " keeps " << side.name << "'s keytab open";
    }
  }

  const pid_t keys_b = sides[1].keys, ike_a = sides[0].ike;
  ASSERT_EQ(::kill(keys_b, SIGKILL), 0);
  EXPECT_TRUE(eventually([&] { return host_log_has(b_, "key-process-exited pid=" + std::to_string(keys_b) + " how=\"killed by SIGKILL\""); }))
      << test::file_tail(b_.log);
  const pid_t new_keys_b = wait_for_key_process(b_, keys_b);
  ASSERT_GT(new_keys_b, 0) << test::file_tail(b_.log);
  EXPECT_TRUE(eventually([&] { return memory_holds(new_keys_b, b_key); })) << "the new key process did not read the keytab again";
  ASSERT_EQ(::kill(ike_a, SIGKILL), 0);
  ASSERT_GT(wait_for_ike_process(a_, ike_a), 0) << test::file_tail(a_.log);
  ASSERT_TRUE(ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  EXPECT_TRUE(eventually([&] {
    const auto after = show_sa(a_);
    return after.value("quick_modes", nlohmann::json::array()).size() == 1 && after["quick_modes"][0]["auth_method"] == "Kerberos (GSS-API)";
  })) << show_sa(a_).dump(1);
  EXPECT_FALSE(host_log_has(b_, "key-process-keytab-refused")) << test::file_tail(b_.log);
}

}  // namespace
}  // namespace ward::agent::daemon
