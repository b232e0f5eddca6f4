// The IKE process answers phase1_for from wardd's Phase1Table exactly as wardd's PolicyBridge
// answers kPhase1For: for several policies (the Legal example; a hand-built one with a preshared
// key rule, a Kerberos rule this build cannot use, a rule with an empty key and certificates of a
// trusted and an unknown CA, a tunnel rule, a block rule and the default response rule; one that
// fails closed), every lookup of a grid of local and peer addresses and filter ids gives the same
// bytes (the encoded RemotePhase1Policy) or the same refusal through both.
#include "agent/daemon/ike_phase1_table.h"

#include <gtest/gtest.h>

#include "agent/daemon/ike_process.h"
#include "agent/ikebridge/offers.h"
#include "agent/ikeproc/phase1_table.h"
#include "directory/model/test_support.h"
#include "agent/ikebridge/test_credentials.h"
#include "tests/harness/process.h"

namespace ward::agent::daemon {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }
const IpAddress kHost = ip("10.1.0.5");

model::FilterList list_to(const char* name, model::AddressSpec destination) {
  model::FilterList list{model::Guid::random(), name, {}, {}};
  list.filters.push_back(model::Filter{model::Guid::random(), name, model::AddressSpec::my_address(), std::move(destination),
                                       model::ip_protocol::kAny, PortRange::any(), PortRange::any(), true});
  return list;
}

model::Rule rule_of(const char* name, const model::FilterList* list, const model::FilterAction& action,
                    std::vector<model::AuthMethod> auth) {
  model::Rule rule;
  rule.id = model::Guid::random();
  rule.name = name;
  if (list != nullptr) rule.filter_list = list->id;
  rule.filter_action = action.id;
  rule.auth_methods = std::move(auth);
  return rule;
}

model::Policy hand_built_policy() {
  model::Policy p;
  p.id = model::Guid::random();
  p.name = "phase 1 table test";
  p.key_exchange.methods = {{model::Cipher::Aes256Cbc, model::Integrity::Sha256, model::DhGroup::Ecp256},
                            {model::Cipher::Aes128Cbc, model::Integrity::Sha1, model::DhGroup::Modp2048}};
  p.key_exchange.quick_mode_limit = 3;
  p.filter_lists = {list_to("servers", model::AddressSpec::subnet(prefix("10.2.0.0/16"))),
                    list_to("one server", model::AddressSpec::host(ip("10.2.0.9"))),
                    list_to("kerberos", model::AddressSpec::subnet(prefix("10.3.0.0/16"))),
                    list_to("certificates", model::AddressSpec::subnet(prefix("10.4.0.0/16"))),
                    list_to("tunnel", model::AddressSpec::subnet(prefix("10.9.0.0/16")))};
  model::FilterAction secure;
  secure.id = model::Guid::random();
  secure.name = "require ESP";
  secure.security_methods = {model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Aes256Gcm, model::Integrity::None}, 50000, 1800}};
  model::FilterAction block;
  block.id = model::Guid::random();
  block.name = "block";
  block.kind = model::ActionKind::Block;
  p.filter_actions = {secure, block};
  const auto& lists = p.filter_lists;
  auto tunnel = rule_of("tunnel", &lists[4], secure, {model::AuthMethod::preshared("tunnel secret")});
  tunnel.tunnel_endpoint = ip("192.0.2.1");
  auto default_response = rule_of("default response", nullptr, secure, {model::AuthMethod::preshared("default secret"),
                                                                         model::AuthMethod::kerberos()});
  default_response.default_response = true;
  p.rules = {rule_of("block one", &lists[1], block, {}),
             rule_of("servers", &lists[0], secure, {model::AuthMethod::preshared("server secret"), model::AuthMethod::kerberos()}),
             rule_of("kerberos only", &lists[2], secure, {model::AuthMethod::kerberos()}),
             rule_of("certificates", &lists[3], secure,
                     {model::AuthMethod::preshared(""), model::AuthMethod::certificate("CN=Contoso Root"),
                      model::AuthMethod::certificate("CN=Ward Root, O=Ward")}),
             tunnel,
             default_response};
  return p;
}

class IkeBridgePhase1TableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::TempDir::create("ward-phase1-table");
    ASSERT_TRUE(dir.has_value()) << dir.error().to_string();
    dir_ = std::make_unique<test::TempDir>(std::move(*dir));
    auto credentials = ikebridge::testing::ward_root_host_credentials(dir_->path());
    ASSERT_TRUE(credentials.has_value()) << credentials.error();
    factory_.enable_certificates(*credentials);
  }

  static std::shared_ptr<const ikebridge::BridgeSnapshot> snapshot_of(model::Policy policy, std::vector<IpAddress> addresses) {
    auto s = std::make_shared<ikebridge::BridgeSnapshot>();
    s->policy = std::move(policy);
    model::HostContext host;
    host.addresses = std::move(addresses);
    s->compiled = model::compile(s->policy, host);
    s->offers = ikebridge::plan_offers(s->policy, false);
    ikebridge::enforce_fail_closed(s->compiled, s->offers);
    translate::FilterIds ids;
    s->translation = translate::translate(s->policy, s->compiled, ids);
    return s;
  }

  // Every lookup of the grid through the bridge (as kPhase1For answers it) and through the table:
  // the same answers. Returns how many were answered and how many refused.
  std::pair<int, int> expect_same_answers(const std::shared_ptr<const ikebridge::BridgeSnapshot>& s,
                                          const std::vector<IpAddress>& locals, const std::vector<IpAddress>& peers) {
    ikebridge::PolicyBridge bridge{factory_};
    bridge.replace(s);
    const auto table = phase1_table(*s, [&](const model::AuthMethod& method) -> Expected<ikeproc::RemoteAuth, std::string> {
      auto provider = factory_.make(method);
      if (!provider) return unexpected(std::move(provider.error()));
      return remote_auth(*provider, keys_, gss_);
    });
    std::vector<std::optional<std::uint32_t>> filters{std::nullopt, 999999};
    for (const auto& [id, origin] : s->translation.origins) filters.emplace_back(id);
    int answered = 0, refused = 0;
    for (const auto& local : locals) {
      for (const auto& peer : peers) {
        for (const auto& filter : filters) {
          const std::string what = local.to_string() + " <-> " + peer.to_string() + (filter ? " filter " + std::to_string(*filter) : "");
          auto expected = bridge.phase1_for(local, peer, filter);
          auto actual = ikeproc::answer_phase1(table, local, peer, filter);
          if (expected.has_value() != actual.has_value()) {
            ADD_FAILURE() << what << ": " << (expected ? "the table refused: " + actual.error() : "the bridge refused: " + expected.error());
            continue;
          }
          if (!expected) {
            EXPECT_EQ(actual.error(), expected.error()) << what;
            ++refused;
            continue;
          }
          ikeproc::RemotePhase1Policy remote{{}, expected->proposals, expected->allow_legacy, expected->quick_mode_limit};
          for (const auto& provider : expected->auth) {
            auto named = remote_auth(provider, keys_, gss_);
            if (named) remote.auth.push_back(*named);
            else ADD_FAILURE() << what << ": " << named.error();
          }
          EXPECT_EQ(ikeproc::encode(*actual), ikeproc::encode(remote)) << what;
          ++answered;
        }
      }
    }
    return {answered, refused};
  }

  std::unique_ptr<test::TempDir> dir_;
  ikebridge::AuthFactory factory_;
  KeyHandles keys_;
  ikeproc::GssService gss_;
};

TEST_F(IkeBridgePhase1TableTest, AnswersAsThePolicyBridgeForAHandBuiltPolicy) {
  const auto s = snapshot_of(hand_built_policy(), {kHost});
  const std::vector<IpAddress> peers{ip("10.2.0.1"), ip("10.2.0.9"), ip("10.3.0.1"), ip("10.4.0.1"), ip("10.9.1.1"),
                                     ip("192.0.2.1"), ip("10.99.0.1"), ip("fd00::9")};
  const auto [answered, refused] = expect_same_answers(s, {kHost, ip("10.1.0.6")}, peers);
  EXPECT_GT(answered, 20);
  EXPECT_GT(refused, 2);
  const auto table = phase1_table(*s, [](const model::AuthMethod&) -> Expected<ikeproc::RemoteAuth, std::string> {
    return unexpected(std::string("not made"));
  });
  EXPECT_EQ(table.rules.size(), s->policy.rules.size());
  ASSERT_TRUE(table.default_response_rule);
  EXPECT_EQ(*table.default_response_rule, 5U);
}

TEST_F(IkeBridgePhase1TableTest, AnswersAsThePolicyBridgeWithoutADefaultResponseOrKeyExchange) {
  auto policy = hand_built_policy();
  policy.rules.pop_back();   // no default response: uncovered peers are refused
  const std::vector<IpAddress> peers{ip("10.2.0.1"), ip("10.3.0.1"), ip("10.4.0.1"), ip("192.0.2.1"), ip("10.99.0.1")};
  auto [answered, refused] = expect_same_answers(snapshot_of(policy, {kHost}), {kHost}, peers);
  EXPECT_GT(answered, 5);
  EXPECT_GT(refused, 5);
  // Only DES in main mode: every negotiate rule fails closed, nothing to propose.
  policy.key_exchange.methods = {{model::Cipher::Des, model::Integrity::Sha1, model::DhGroup::Modp1024}};
  std::tie(answered, refused) = expect_same_answers(snapshot_of(policy, {kHost}), {kHost}, peers);
  EXPECT_EQ(answered, 0);
  EXPECT_GT(refused, 5);
}

TEST_F(IkeBridgePhase1TableTest, AnswersAsThePolicyBridgeForTheLegalExample) {
  const auto host = ip("10.20.1.1");
  const std::vector<IpAddress> peers{ip("10.20.1.2"), ip("10.20.2.7"), ip("10.30.0.1"), ip("192.168.1.1"), ip("172.16.0.1")};
  const auto [answered, refused] =
      expect_same_answers(snapshot_of(model::testing::load_example_policy("legal-policy.json"), {host}), {host}, peers);
  EXPECT_GT(answered + refused, 10);
}

}  // namespace
}  // namespace ward::agent::daemon
