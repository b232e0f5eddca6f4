// Two wardd (nfqueue backend) in two network namespaces negotiating what Windows 2000/2003
// policies offer: main mode 3DES/SHA-1/group 2 (DES/group 1 listed too, and skipped), then ESP
// 3DES/SHA-1, AH SHA-1 alone (transport mode), or AH SHA-1 + ESP 3DES/SHA-1. A ping triggers
// the negotiation; tshark on B's end of the veth shows what the packets really carried (ESP; AH
// around ICMP; AH around ESP) and never the clear ICMP; `show sa` and `show policy` say what was
// negotiated and skipped. Skips without root, `ip` or tshark. (Ward <-> charon with AH needs a
// kernel with AH for charon: tests/interop does ESP only.)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/daemon/wardd_host.h"
#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;
using Host = testing::WarddHost;
using testing::eventually;
using testing::show_sa;
using testing::wardctl;

constexpr const char* kAddressA = "10.20.1.1";
constexpr const char* kAddressB = "10.20.1.2";
constexpr const char* kMarkerA = "10.99.0.1";   // outside the policy's subnet: clear traffic
constexpr const char* kMarkerB = "10.99.0.2";

// The Legal intra-department rule with a preshared key, Windows' main mode methods (and its
// opt-in: a policy read from AD offering them has it) and `methods` as its filter action.
model::Policy windows_policy(std::vector<model::SecurityMethod> methods) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.name = "Legal with Windows offers";
  policy.allow_legacy_algorithms = true;
  policy.key_exchange.methods = {{model::Cipher::TripleDes, model::Integrity::Sha1, model::DhGroup::Modp1024},
                                 {model::Cipher::TripleDes, model::Integrity::Md5, model::DhGroup::Modp1024},
                                 {model::Cipher::Des, model::Integrity::Sha1, model::DhGroup::Modp768},
                                 {model::Cipher::Des, model::Integrity::Md5, model::DhGroup::Modp768}};
  auto rule = policy.rules[0];
  auto list = *policy.find_filter_list(*rule.filter_list);
  auto action = policy.filter_actions[0];
  action.security_methods = std::move(methods);
  rule.auth_methods = {model::AuthMethod::preshared("windows era secret")};
  policy.filter_lists = {list};
  policy.filter_actions = {action};
  policy.rules = {rule};
  return policy;
}

model::SecurityMethod esp(model::Cipher cipher, model::Integrity integrity) {
  return {std::nullopt, model::EspTransform{cipher, integrity}, 100000, 900};
}
model::SecurityMethod ah(model::Integrity integrity, std::optional<model::EspTransform> with = std::nullopt) {
  return {model::AhTransform{integrity}, with, 100000, 900};
}

class WarddLegacyNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    if (ward::testing::run_command("command -v tshark >/dev/null") != 0) GTEST_SKIP() << "needs tshark";
    auto dir = test::TempDir::create("wardd-legacy");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_ = std::make_unique<test::TempDir>(std::move(*dir));
    a_.ns = std::make_unique<Netns>("legacy-a");
    b_.ns = std::make_unique<Netns>("legacy-b");
    links_ = ward::testing::connect_veth(*a_.ns, std::string(kAddressA) + "/24", *b_.ns, std::string(kAddressB) + "/24");
    ASSERT_EQ(a_.ns->exec(std::string("ip addr add ") + kMarkerA + "/24 dev " + links_.first), 0);
    ASSERT_EQ(b_.ns->exec(std::string("ip addr add ") + kMarkerB + "/24 dev " + links_.second), 0);
    for (auto* host : {&a_, &b_}) {
      host->dir = dir_->path() / (host == &a_ ? "a" : "b");
      std::filesystem::create_directories(host->dir);
      host->socket = host->dir / "run" / "control.sock";
      host->policy_file = host->dir / "policy.json";
      host->config = host->dir / "ward.conf";
      host->log = host->dir / "wardd.log";
      ASSERT_TRUE(test::write_file(host->config, "[driver]\nbackend = nfqueue\n[control]\nsocket = " + host->socket.string() +
                                                     "\n[cache]\npath = " + (host->dir / "state" / "ward.db").string() +
                                                     "\n[policy]\nlocal_file = " + host->policy_file.string() +
                                                     "\n[log]\nlevel = debug\n"));
    }
  }
  void TearDown() override {
    if (!capture_pid_.empty()) b_.ns->exec("kill $(cat " + capture_pid_ + ") 2>/dev/null");
  }

  // Captures on B's end of the link, starts both wardd, pings A -> B until answered (the first
  // request waits for IKE), and returns the SA listings of A and B.
  std::pair<nlohmann::json, nlohmann::json> negotiate(const model::Policy& policy) {
    start_capture();
    testing::start_wardd(a_, policy);
    testing::start_wardd(b_, policy);
    int answered = ward::testing::ping_once(*a_.ns, kAddressB);
    for (int attempt = 1; attempt < 10 && answered != 0; ++attempt) answered = ward::testing::ping_once(*a_.ns, kAddressB);
    EXPECT_EQ(answered, 0) << test::file_tail(a_.log) << test::file_tail(b_.log);
    for (int i = 0; i < 3; ++i) ward::testing::ping_once(*b_.ns, kAddressA);
    nlohmann::json sa_a, sa_b;
    EXPECT_TRUE(eventually([&] {
      sa_a = show_sa(a_);
      sa_b = show_sa(b_);
      return sa_a.value("quick_modes", nlohmann::json::array()).size() == 1 &&
             sa_b.value("quick_modes", nlohmann::json::array()).size() == 1;
    })) << sa_a.dump(1) << sa_b.dump(1);
    sync_capture();
    b_.ns->exec("kill -INT $(cat " + capture_pid_ + ")");
    for (int i = 0; i < 50 && b_.ns->exec("kill -0 $(cat " + capture_pid_ + ") 2>/dev/null") == 0; ++i) std::this_thread::sleep_for(100ms);
    capture_pid_.clear();
    return {sa_a, sa_b};
  }

  // dumpcap writes packets in batches (the last ones before a SIGINT were lost): a marker ping
  // between second addresses of the two ends (10.99.0.0/24, which no filter of the test covers, so
  // it stays clear), sent until the capture holds one more of them than before, shows that
  // everything sent before it is in the file.
  std::size_t markers_seen() const {
    const auto n = ward::testing::command_output("tshark -r " + capture_ + " -Y 'icmp.type == 8 && ip.dst == " + kMarkerB +
                                                 "' 2>/dev/null | wc -l");
    return static_cast<std::size_t>(std::strtoul(n.c_str(), nullptr, 10));
  }
  void sync_capture() {
    const auto before = markers_seen();
    for (int i = 0; i < 100 && markers_seen() == before; ++i) {
      a_.ns->exec(std::string("ping -c1 -W1 ") + kMarkerB + " >/dev/null 2>&1");
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_GT(markers_seen(), before) << "tshark on " << links_.second << " captures nothing";
  }
  // Whether the capture was live before the test's traffic began is checked afterwards
  // (wire_protocols: the first main mode message, which the first ping's acquire sends, is in it).
  void start_capture() {
    capture_ = (dir_->path() / "wire.pcap").string();
    capture_pid_ = capture_ + ".pid";
    ASSERT_EQ(b_.ns->exec("tshark -q -i " + links_.second + " -w " + capture_ + " >/dev/null 2>&1 & echo $! > " + capture_pid_), 0);
    for (int i = 0; i < 50 && b_.ns->exec("test -s " + capture_) != 0; ++i) std::this_thread::sleep_for(100ms);
  }

  // "proto[/AH next header]" of every IPv4 packet between the two hosts, counted: e.g. {"50": 8}.
  std::map<std::string, int> wire_protocols() const {
    const auto first = ward::testing::command_output("tshark -r " + capture_ + " -Y 'isakmp.exchangetype == 2' 2>/dev/null | wc -l");
    EXPECT_NE(first, "0\n") << "the capture missed main mode: it started too late to judge the wire";
    const auto text = ward::testing::command_output("tshark -r " + capture_ + " -Y 'ip.addr == " + kAddressA + " && ip.addr == " +
                                                    kAddressB + "' -T fields -e ip.proto -e ah.next_header 2>/dev/null");
    std::map<std::string, int> counts;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      const auto tab = line.find('\t');
      const std::string proto = line.substr(0, tab);
      const std::string next = tab == std::string::npos ? "" : line.substr(tab + 1);
      ++counts[next.empty() ? proto : proto + "/" + next];
    }
    return counts;
  }

  static std::string describe(const std::map<std::string, int>& wire) {
    std::string text = "\non the wire (protocol[/AH next header]: packets):";
    for (const auto& [proto, n] : wire) text += " " + proto + ": " + std::to_string(n);
    return text;
  }

  void expect_windows_main_mode(const nlohmann::json& sa) {
    ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
    EXPECT_EQ(sa["main_modes"][0]["cipher"], "3DES-CBC");
    EXPECT_EQ(sa["main_modes"][0]["hash"], "SHA-1");
    EXPECT_EQ(sa["main_modes"][0]["dh_group"], 2);
  }

  std::unique_ptr<test::TempDir> dir_;
  Host a_, b_;
  std::pair<std::string, std::string> links_;
  std::string capture_, capture_pid_;
};

TEST_F(WarddLegacyNetnsTest, MainMode3desSha1Group2AndEsp3desSha1DesSkipped) {
  const auto [sa_a, sa_b] = negotiate(windows_policy({esp(model::Cipher::Des, model::Integrity::Sha1),
                                                      esp(model::Cipher::TripleDes, model::Integrity::Sha1)}));
  ASSERT_FALSE(HasFatalFailure());
  expect_windows_main_mode(sa_a);
  const auto& qm = sa_a["quick_modes"][0];
  EXPECT_EQ(qm["protocols"], "ESP");
  EXPECT_EQ(qm["cipher"], "3DES-CBC");
  EXPECT_EQ(qm["integrity"], "HMAC-SHA1-96");
  const auto wire = wire_protocols();
  EXPECT_GT(wire.count("50") ? wire.at("50") : 0, 3) << "ESP";
  EXPECT_EQ(wire.count("1"), 0U) << "no clear ICMP on the wire";
  EXPECT_EQ(wire.count("51"), 0U);

  // What A left out, in show policy and (once) in its log.
  const auto [status, text] = wardctl(a_, "show policy --json");
  ASSERT_EQ(status, 0) << text;
  const auto policy = nlohmann::json::parse(text);
  EXPECT_EQ(policy["offers"]["legacy_algorithms"], true);
  EXPECT_EQ(policy["offers"]["skipped"].size(), 3U) << policy["offers"].dump(1);   // 2 main mode + 1 ESP DES
  EXPECT_TRUE(policy["offers"]["fail_closed"].empty());
  const auto log = test::read_text(a_.log);
  EXPECT_NE(log.find("event=offer-skipped"), std::string::npos);
  EXPECT_NE(log.find("security method 1 (ESP DES/SHA-1) skipped: DES is broken"), std::string::npos);
}

TEST_F(WarddLegacyNetnsTest, AhSha1AloneInTransportModeCarriesIcmpInAh) {
  const auto [sa_a, sa_b] = negotiate(windows_policy({ah(model::Integrity::Sha1)}));
  ASSERT_FALSE(HasFatalFailure());
  expect_windows_main_mode(sa_a);
  const auto& qm = sa_b["quick_modes"][0];
  EXPECT_EQ(qm["protocols"], "AH");
  EXPECT_EQ(qm["ah_integrity"], "HMAC-SHA1-96");
  EXPECT_GT(qm.value("packets_in", 0), 0) << qm.dump(1);
  const auto wire = wire_protocols();
  EXPECT_GT(wire.count("51/1") ? wire.at("51/1") : 0, 3) << "AH around ICMP" << describe(wire);
  EXPECT_EQ(wire.count("1"), 0U) << "no bare ICMP";
  EXPECT_EQ(wire.count("50"), 0U);
}

TEST_F(WarddLegacyNetnsTest, AhPlusEspBundleCarriesEspInsideAh) {
  const auto [sa_a, sa_b] = negotiate(windows_policy({ah(model::Integrity::Sha1, model::EspTransform{model::Cipher::TripleDes,
                                                                                                     model::Integrity::Sha1})}));
  ASSERT_FALSE(HasFatalFailure());
  expect_windows_main_mode(sa_a);
  const auto& qa = sa_a["quick_modes"][0];
  const auto& qb = sa_b["quick_modes"][0];
  EXPECT_EQ(qa["protocols"], "AH+ESP");
  EXPECT_EQ(qa["ah_spi_in"], qb["ah_spi_out"]);
  EXPECT_EQ(qa["ah_spi_out"], qb["ah_spi_in"]);
  EXPECT_NE(qa["ah_spi_in"], qa["spi_in"]);
  for (const auto& row : sa_b["sas"]) EXPECT_EQ(row["protocol"], "AH+ESP") << sa_b.dump(1);
  const auto wire = wire_protocols();
  EXPECT_GT(wire.count("51/50") ? wire.at("51/50") : 0, 3) << "AH around ESP";
  EXPECT_EQ(wire.count("50"), 0U) << "no ESP without its AH";
  EXPECT_EQ(wire.count("51/1"), 0U);
  EXPECT_EQ(wire.count("1"), 0U);
}

}  // namespace
}  // namespace ward::agent::daemon
