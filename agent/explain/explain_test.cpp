#include "agent/explain/explain.h"

#include <gtest/gtest.h>

#include "directory/model/test_support.h"

namespace ward::agent::explain {
namespace {

using model::PacketTuple;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

class ExplainLegal : public ::testing::Test {
 protected:
  ExplainLegal() : policy_(model::testing::load_example_policy("legal-policy.json")) {
    model::HostContext host;
    host.addresses = {ip("10.20.1.5")};
    table_ = model::compile(policy_, host);
  }
  model::Policy policy_;
  model::CompiledTable table_;
};

TEST_F(ExplainLegal, LegalToLegalIntraDepartmentRuleWins) {
  const auto e = explain(policy_, table_, PacketTuple{ip("10.20.1.5"), ip("10.20.1.7"), model::ip_protocol::kTcp, 40000, 445});
  ASSERT_TRUE(e.winner.has_value());
  EXPECT_EQ(e.winner->rule_name, "Legal intra-department communications");
  EXPECT_EQ(e.winner->filter_list_name, "Legal intra-department traffic");
  EXPECT_EQ(e.winner->filter_action_name, "Secure traffic within the Legal department");
  EXPECT_EQ(e.winner->action, model::ActionKind::Negotiate);
  ASSERT_TRUE(e.winner->generic.has_value());
  EXPECT_EQ(generic_filter_text(*e.winner->generic), "10.20.1.0/24 -> 10.20.1.0/24 any ports any -> any, mirrored");
  EXPECT_EQ(specific_filter_text(e.winner->specific), "10.20.1.0/24 -> 10.20.1.0/24 any ports any -> any");
  EXPECT_EQ(e.winner->position, 1u);
  EXPECT_EQ(table_.filters[e.winner->position - 1], e.winner->specific);

  ASSERT_EQ(e.runners_up.size(), 1u);
  const auto& r = e.runners_up[0];
  EXPECT_EQ(r.filter.rule_name, "Inter-department communications");
  EXPECT_EQ(r.filter.filter_list_name, "All IP traffic");
  EXPECT_EQ(r.reason, LossReason::LowerWeight);
  EXPECT_LT(r.filter.specific.weight, e.winner->specific.weight);
  EXPECT_EQ(r.why, "lower weight (" + std::to_string(r.filter.specific.weight) + " < " +
                       std::to_string(e.winner->specific.weight) + ")");
  EXPECT_EQ(generic_filter_text(*r.filter.generic), "me -> any any ports any -> any, mirrored");
  EXPECT_EQ(specific_filter_text(r.filter.specific), "10.20.1.5/32 -> 0.0.0.0/0 any ports any -> any");
}

TEST_F(ExplainLegal, LegalToSalesInterDepartmentRule) {
  const auto e = explain(policy_, table_, PacketTuple{ip("10.20.1.5"), ip("10.30.4.9"), model::ip_protocol::kAny, 0, 0});
  ASSERT_TRUE(e.winner.has_value());
  EXPECT_EQ(e.winner->rule_name, "Inter-department communications");
  EXPECT_EQ(e.winner->filter_action_name, "Secure traffic outside the Legal department");
  EXPECT_FALSE(e.winner->specific.mirror);
  EXPECT_TRUE(e.runners_up.empty());

  // The reply comes back through the mirrored filter.
  const auto reply = explain(policy_, table_, PacketTuple{ip("10.30.4.9"), ip("10.20.1.5"), model::ip_protocol::kAny, 0, 0});
  ASSERT_TRUE(reply.winner.has_value());
  EXPECT_EQ(reply.winner->rule_name, "Inter-department communications");
  EXPECT_TRUE(reply.winner->specific.mirror);
}

TEST_F(ExplainLegal, NoMatch) {
  const auto e = explain(policy_, table_, PacketTuple{ip("192.0.2.1"), ip("192.0.2.2"), model::ip_protocol::kAny, 0, 0});
  EXPECT_FALSE(e.winner.has_value());
  EXPECT_EQ(to_text(e), "packet: 192.0.2.1 -> 192.0.2.2 any\nno filter matches: the packet passes in clear, unfiltered\n");
  EXPECT_TRUE(to_json(e)["winner"].is_null());
}

// Which Windows behaviour applies: pass-through and fallback from the winner's action, a live soft
// association; for what no filter matches, the default response rule and a live dynamic filter.
TEST_F(ExplainLegal, SaysWhichWindowsBehaviourApplies) {
  auto& outside = policy_.filter_actions[1];  // "Secure traffic outside the Legal department"
  outside.accept_unsecured = true;
  outside.fallback_to_unsecured = true;
  policy_.rules.push_back({model::Guid::random(), "", "", std::nullopt, policy_.filter_actions[0].id, {model::AuthMethod::kerberos()},
                           {}, model::ConnectionType::All, true, true});
  model::HostContext host;
  host.addresses = {ip("10.20.1.5")};
  table_ = model::compile(policy_, host);

  const PacketTuple to_sales{ip("10.30.4.9"), ip("10.20.1.5"), model::ip_protocol::kTcp, 40000, 445};
  auto e = explain(policy_, table_, to_sales);
  ASSERT_EQ(e.behaviours.size(), 2u);
  EXPECT_EQ(e.behaviours[0].kind, BehaviourKind::AcceptUnsecured);
  EXPECT_EQ(e.behaviours[1].kind, BehaviourKind::FallbackToClear);
  LiveState live;
  live.filter_ids.assign(table_.filters.size(), 0);
  live.filter_ids[*model::first_match(table_, to_sales)] = 42;
  live.soft_associations.push_back({42, ip("10.30.4.9"), 250});
  e = explain(policy_, table_, to_sales, {}, &live);
  ASSERT_EQ(e.behaviours.size(), 3u);
  EXPECT_EQ(e.behaviours[0].kind, BehaviourKind::SoftAssociation);
  EXPECT_NE(e.behaviours[0].text.find("no IPsec (the peer did not answer IKE)"), std::string::npos) << e.behaviours[0].text;
  const auto text = to_text(e);
  EXPECT_NE(text.find("behaviour:\n  soft-association: soft association with 10.30.4.9"), std::string::npos) << text;
  EXPECT_NE(text.find("  accept-unsecured: inbound pass-through"), std::string::npos) << text;
  EXPECT_EQ(to_json(e)["behaviours"][2]["kind"], "fallback-to-clear");

  // Nothing matches: the default response rule answers if a peer negotiates; a live dynamic filter
  // protects the traffic now.
  const PacketTuple stranger{ip("192.0.2.1"), ip("192.0.2.2"), model::ip_protocol::kTcp, 1, 2};
  e = explain(policy_, table_, stranger);
  ASSERT_EQ(e.behaviours.size(), 1u);
  EXPECT_EQ(e.behaviours[0].kind, BehaviourKind::DefaultResponse);
  EXPECT_NE(to_text(e).find("no filter matches: the packet passes in clear, unfiltered\nbehaviour:\n  default-response:"), std::string::npos)
      << to_text(e);
  live.dynamic_filters.push_back({ip("192.0.2.2"), ip("192.0.2.1"), 0, 0, 0, "<Dynamic> default response"});
  e = explain(policy_, table_, stranger, {}, &live);
  ASSERT_EQ(e.behaviours.size(), 2u);
  EXPECT_EQ(e.behaviours[0].kind, BehaviourKind::DynamicFilter);
  EXPECT_NE(to_text(e).find("no filter of the policy matches\nbehaviour:\n  dynamic-filter: a dynamic filter protects it"),
            std::string::npos) << to_text(e);
  live.dynamic_filters[0].protocol = model::ip_protocol::kUdp;  // negotiated for UDP only: TCP is not covered
  EXPECT_EQ(explain(policy_, table_, stranger, {}, &live).behaviours.size(), 1u);
}

TEST_F(ExplainLegal, Renderings) {
  const auto e = explain(policy_, table_, PacketTuple{ip("10.20.1.5"), ip("10.20.1.7"), model::ip_protocol::kTcp, 40000, 445});
  const auto j = to_json(e);
  EXPECT_EQ(j["packet"]["text"], "10.20.1.5 -> 10.20.1.7 tcp 40000 -> 445");
  EXPECT_EQ(j["winner"]["rule"], "Legal intra-department communications");
  EXPECT_EQ(j["winner"]["action"], "negotiate");
  EXPECT_EQ(j["runners_up"][0]["lost_because"], "lower-weight");
  const auto text = to_text(e);
  EXPECT_NE(text.find("winner: #1 weight"), std::string::npos) << text;
  EXPECT_NE(text.find("rule \"Legal intra-department communications\""), std::string::npos) << text;
  EXPECT_NE(text.find("runners-up (in precedence order):\n  #"), std::string::npos) << text;
  EXPECT_NE(text.find("lost:          lower weight"), std::string::npos) << text;
  EXPECT_NE(text.find("filter action: \"Secure traffic within the Legal department\" (negotiate)"), std::string::npos) << text;
}

TEST(ExplainTieBreaks, SameWeightStrongerActionThenEarlierRule) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  // A third rule with the intra-department filter list and a block action: same weight, block wins.
  model::FilterAction block;
  block.id = model::testing::guid("{11111111-2222-4333-8444-555555555555}");
  block.name = "Block";
  block.kind = model::ActionKind::Block;
  policy.filter_actions.push_back(block);
  model::Rule rule = policy.rules[0];
  rule.id = model::testing::guid("{11111111-2222-4333-8444-666666666666}");
  rule.name = "Quarantine";
  rule.filter_action = block.id;
  policy.rules.push_back(rule);
  model::HostContext host;
  host.addresses = {ip("10.20.1.5")};
  const auto table = model::compile(policy, host);
  const auto e = explain(policy, table, PacketTuple{ip("10.20.1.5"), ip("10.20.1.7"), model::ip_protocol::kAny, 0, 0});
  ASSERT_TRUE(e.winner.has_value());
  EXPECT_EQ(e.winner->rule_name, "Quarantine");
  ASSERT_EQ(e.runners_up.size(), 2u);
  EXPECT_EQ(e.runners_up[0].filter.rule_name, "Legal intra-department communications");
  EXPECT_EQ(e.runners_up[0].reason, LossReason::WeakerAction);
  EXPECT_EQ(e.runners_up[0].why, "same weight, weaker action (negotiate loses to block)");
  EXPECT_EQ(e.runners_up[1].reason, LossReason::LowerWeight);
}

TEST(ExplainTieBreaks, SameWeightSameActionEarlierRuleWins) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  model::Rule rule = policy.rules[0];
  rule.id = model::testing::guid("{11111111-2222-4333-8444-777777777777}");
  rule.name = "Duplicate";
  policy.rules.push_back(rule);
  model::HostContext host;
  host.addresses = {ip("10.20.1.5")};
  const auto table = model::compile(policy, host);
  const auto e = explain(policy, table, PacketTuple{ip("10.20.1.5"), ip("10.20.1.7"), model::ip_protocol::kAny, 0, 0});
  ASSERT_TRUE(e.winner.has_value());
  EXPECT_EQ(e.winner->rule_name, "Legal intra-department communications");
  ASSERT_GE(e.runners_up.size(), 1u);
  EXPECT_EQ(e.runners_up[0].filter.rule_name, "Duplicate");
  EXPECT_EQ(e.runners_up[0].reason, LossReason::LaterRule);
}

TEST_F(ExplainLegal, FilterViews) {
  const auto specific = specific_filters_json(policy_, table_);
  ASSERT_EQ(specific.size(), table_.filters.size());
  EXPECT_EQ(specific[0]["rule"], "Legal intra-department communications");
  EXPECT_EQ(specific[0]["position"], 1);
  const auto generic = generic_filters_json(policy_);
  ASSERT_EQ(generic.size(), 2u);
  EXPECT_EQ(generic[1]["source"], "me");
  EXPECT_EQ(generic[1]["destination"], "any");
  EXPECT_EQ(generic[1]["filter_action"], "Secure traffic outside the Legal department");
}

}  // namespace
}  // namespace ward::agent::explain
