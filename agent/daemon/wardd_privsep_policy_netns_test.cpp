// wardd with [privsep] user: its IKE process answers each main mode 1 from the phase 1 table wardd
// sends with every policy it applies (ike_phase1_table.h, ikeproc/phase1_table.h), not by asking
// wardd. A (10.20.1.1) responds; B (10.20.1.2) restarts before each step, so that each step is a
// fresh main mode, and pings A. A policy that changes on A reaches A's very next main mode:
//   - A offers only AES-128/SHA-1/ECP-256 in main mode (B offers it second): B's main mode with A uses it;
//   - A's refreshed policy offers only AES-256/SHA-256/ECP-256: the next one uses that;
//   - A's next policy has no rule for B: B's next main mode is refused (A counts it as no_policy
//     and logs PolicyBridge's reason) and B's ping is never answered;
//   - the rule back: the main mode after that is answered again.
// Skips without root or `ip`.
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/daemon/wardd_host.h"
#include "agent/privsep/proc_test_support.h"
#include "directory/model/policy_json.h"
#include "tests/netns/netns.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::agent::daemon::wardd_privsep_policy_netns_test {
namespace {

using Host = testing::WarddHost;
using testing::esp_policy;
using testing::eventually;
using testing::show_sa;
using testing::wardctl;

constexpr const char* kAddressA = "10.20.1.1";
constexpr const char* kAddressB = "10.20.1.2";
constexpr const char* kSecret = "privsep policy secret";

model::Policy offering(const char* name, model::KeyExchangeMethod method) {
  auto policy = esp_policy(kSecret);
  policy.name = name;
  policy.key_exchange.methods = {method};
  return policy;
}

// One DH group for both: quick mode's PFS group is the policy's main mode group, and B's must match.
const model::KeyExchangeMethod kAes128{model::Cipher::Aes128Cbc, model::Integrity::Sha1, model::DhGroup::Ecp256};
const model::KeyExchangeMethod kAes256{model::Cipher::Aes256Cbc, model::Integrity::Sha256, model::DhGroup::Ecp256};

// B offers both.
model::Policy b_policy() {
  auto policy = esp_policy(kSecret);
  policy.key_exchange.methods = {kAes256, kAes128};
  return policy;
}

class WarddPrivsepPolicyNetnsTest : public testing::TwoWarddHosts {
 protected:
  void SetUp() override {
    set_up_hosts("pspolicy", kAddressA, kAddressB, [](Host& host, const std::filesystem::path& dir) {
      testing::lay_out(host, dir, "nfqueue", "", "[privsep]\nuser = nobody\n[ike]\nversion = ikev1\n");
    });
  }

  // A's policy file replaced and refreshed; back once `show policy` names it.
  void apply_on_a(const model::Policy& policy) {
    ASSERT_TRUE(test::write_private_file(a_.policy_file, model::policy_to_json(policy)));
    ASSERT_EQ(wardctl(a_, "refresh").first, 0) << test::file_tail(a_.log);
    ASSERT_TRUE(eventually([&] { return wardctl(a_, "show policy").second.find(policy.name) != std::string::npos; }))
        << policy.name << "\n" << test::file_tail(a_.log);
  }

  // B restarted (a fresh main mode), its ping to A answered or not.
  bool b_reaches_a_after_restart() {
    b_.wardd.stop();
    testing::start_wardd(b_, b_policy());
    return testing::ping_until_answered(b_, kAddressA);
  }

  // The ciphers of A's established main modes with B.
  std::vector<std::string> established_ciphers_with_b() {
    std::vector<std::string> out;
    for (const auto& mm : show_sa(a_).value("main_modes", nlohmann::json::array())) {
      if (mm.value("peer", "") == kAddressB && mm.value("state", "") == "established") out.push_back(mm.value("cipher", ""));
    }
    return out;
  }
  // A's main mode 1s refused because its policy had no answer (IkeCounters::no_policy).
  std::uint64_t no_policy_refusals() {
    std::uint64_t n = 0;
    for (const auto& service : show_sa(a_).value("ike", nlohmann::json::array())) n += service.value("no_policy", std::uint64_t{0});
    return n;
  }
  bool a_has_established_with_b(const std::string& cipher) {
    return eventually([&] {
      const auto ciphers = established_ciphers_with_b();
      return std::find(ciphers.begin(), ciphers.end(), cipher) != ciphers.end();
    });
  }
};

TEST_F(WarddPrivsepPolicyNetnsTest, APolicyChangeReachesTheNextMainModeInTheIkeProcess) {
  testing::start_wardd(a_, offering("A offers AES-128", kAes128));
  testing::start_wardd(b_, b_policy());
  ASSERT_GT(privsep::testing::privsep_child_of(a_.wardd.pid(), "ike"), 0) << test::file_tail(a_.log);

  ASSERT_TRUE(testing::ping_until_answered(b_, kAddressA)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  EXPECT_TRUE(a_has_established_with_b("AES-CBC-128")) << show_sa(a_).dump(1);

  apply_on_a(offering("A offers AES-256", kAes256));
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(b_reaches_a_after_restart()) << test::file_tail(a_.log) << test::file_tail(b_.log);
  EXPECT_TRUE(a_has_established_with_b("AES-CBC-256")) << show_sa(a_).dump(1);

  // No rule for B: the filter covers another subnet now.
  auto no_rule = offering("A has no rule for B", kAes256);
  auto& list = no_rule.filter_lists[0];
  for (auto& filter : list.filters) filter.destination = model::AddressSpec::subnet(*IpPrefix::parse("10.30.0.0/16"));
  apply_on_a(no_rule);
  ASSERT_FALSE(HasFatalFailure());
  const auto refused_before = no_policy_refusals();
  EXPECT_FALSE(b_reaches_a_after_restart()) << show_sa(a_).dump(1);
  EXPECT_GT(no_policy_refusals(), refused_before) << show_sa(a_).dump(1);
  const std::string refused = std::string("no negotiate rule covers ") + kAddressA + " <-> " + kAddressB;
  EXPECT_TRUE(eventually([&] { return test::read_text(a_.log).find(refused) != std::string::npos; })) << test::file_tail(a_.log);

  apply_on_a(offering("A offers AES-128 again", kAes128));
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(b_reaches_a_after_restart()) << test::file_tail(a_.log) << test::file_tail(b_.log);
  EXPECT_TRUE(a_has_established_with_b("AES-CBC-128")) << show_sa(a_).dump(1);
}

}  // namespace
}  // namespace ward::agent::daemon::wardd_privsep_policy_netns_test
