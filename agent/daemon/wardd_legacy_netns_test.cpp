// Two wardd (nfqueue backend; xfrm in the UML build) in two network namespaces negotiating what Windows 2000/2003
// policies offer: main mode 3DES/SHA-1/group 2 (DES/group 1 listed too, and skipped), then ESP
// 3DES/SHA-1, AH SHA-1 alone (transport mode), or AH SHA-1 + ESP 3DES/SHA-1. A ping triggers
// the negotiation; a capture on B's end of the veth (tests/netns/packet_capture.h) shows what the
// packets really carried (ESP; AH around ICMP; AH around ESP) and never the clear ICMP; `show sa`
// and `show policy` say what was negotiated and skipped. Skips without root or `ip`. Built twice:
// with the nfqueue backend on the host, and inside User-mode Linux with `backend = auto`, where the
// kernel does ESP and AH (wardd_legacy_uml_test).
#include <unistd.h>

#include <algorithm>
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
#include "tests/netns/packet_capture.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;
using Host = testing::WarddHost;
using testing::eventually;
using testing::show_sa;
using testing::wardctl;

constexpr const char* kAddressA = "10.20.1.1";
constexpr const char* kAddressB = "10.20.1.2";
constexpr int kIdentityProtection = 2;   // ISAKMP exchange type of main mode

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

class WarddLegacyNetnsTest : public testing::TwoWarddHosts {
 protected:
  void SetUp() override {
    set_up_hosts("legacy", kAddressA, kAddressB, [](Host& host, const std::filesystem::path& dir) { testing::lay_out(host, dir); });
  }
  // Captures on B's end of the link, starts both wardd, pings A -> B until answered (the first
  // request waits for IKE), and returns the SA listings of A and B.
  std::pair<nlohmann::json, nlohmann::json> negotiate(const model::Policy& policy) {
    capture_ = std::make_unique<ward::testing::PacketCapture>(*b_.ns, links_.second);
    testing::start_wardd(a_, policy);
    testing::start_wardd(b_, policy);
    EXPECT_TRUE(testing::ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
    for (int i = 0; i < 3; ++i) ward::testing::ping_once(*b_.ns, kAddressA);
    nlohmann::json sa_a, sa_b;
    EXPECT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
    return {sa_a, sa_b};
  }

  // "proto[/AH next header]" of every IPv4 packet between the two hosts, counted: e.g. {"50": 8}.
  std::map<std::string, int> wire_protocols() const {
    const auto packets = capture_->packets();
    EXPECT_TRUE(std::any_of(packets.begin(), packets.end(), [](const auto& p) { return p.isakmp_exchange == kIdentityProtection; }))
        << "the capture missed main mode: it started too late to judge the wire";
    return capture_->protocols_between(*IpAddress::parse(kAddressA), *IpAddress::parse(kAddressB));
  }

  static std::string describe(const std::map<std::string, int>& wire) { return ward::testing::PacketCapture::describe(wire); }

  void expect_windows_main_mode(const nlohmann::json& sa) {
    ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
    EXPECT_EQ(sa["main_modes"][0]["cipher"], "3DES-CBC");
    EXPECT_EQ(sa["main_modes"][0]["hash"], "SHA-1");
    EXPECT_EQ(sa["main_modes"][0]["dh_group"], 2);
  }

  std::unique_ptr<ward::testing::PacketCapture> capture_;
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
