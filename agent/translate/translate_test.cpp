// translate: the Legal example policy compiled for a host, as the driver's filter table.
#include "agent/translate/translate.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "directory/model/test_support.h"

namespace ward::agent::translate {
namespace {

using model::testing::load_example_policy;

model::CompiledTable compile_for(const model::Policy& policy, std::initializer_list<const char*> addresses) {
  model::HostContext host;
  for (const char* a : addresses) host.addresses.push_back(*IpAddress::parse(a));
  return model::compile(policy, host);
}

TEST(TranslateTest, KeepsOrderFieldsAndActions) {
  const auto policy = load_example_policy("legal-policy.json");
  const auto compiled = compile_for(policy, {"10.20.1.5"});
  FilterIds ids;
  const auto out = translate(policy, compiled, ids);
  ASSERT_EQ(out.table.filters.size(), compiled.filters.size());
  ASSERT_FALSE(compiled.filters.empty());
  for (std::size_t i = 0; i < compiled.filters.size(); ++i) {
    const auto& c = compiled.filters[i];
    const auto& d = out.table.filters[i];
    EXPECT_EQ(d.source, c.source) << i;
    EXPECT_EQ(d.destination, c.destination) << i;
    EXPECT_EQ(d.protocol, c.protocol) << i;
    EXPECT_EQ(d.source_ports, c.source_ports) << i;
    EXPECT_EQ(d.destination_ports, c.destination_ports) << i;
    EXPECT_EQ(d.weight, c.weight) << i;
    EXPECT_EQ(d.action, to_driver_action(c.action)) << i;
    EXPECT_EQ(d.tunnel_endpoint, c.tunnel_endpoint) << i;
    EXPECT_NE(d.id, 0u) << i;
  }
}

TEST(TranslateTest, MirrorSharesIdAndOriginsNameThePolicyObjects) {
  const auto policy = load_example_policy("legal-policy.json");
  const auto compiled = compile_for(policy, {"10.20.1.5"});
  FilterIds ids;
  const auto out = translate(policy, compiled, ids);
  std::set<std::uint32_t> distinct;
  for (std::size_t i = 0; i < compiled.filters.size(); ++i) {
    const auto& c = compiled.filters[i];
    const auto id = out.table.filters[i].id;
    distinct.insert(id);
    ASSERT_TRUE(out.origins.contains(id));
    const auto& origin = out.origins.at(id);
    EXPECT_EQ(origin.rule_index, c.rule_index);
    EXPECT_EQ(origin.filter_index, c.filter_index);
    EXPECT_EQ(origin.rule_name, policy.rules[c.rule_index].name);
    EXPECT_EQ(origin.action, c.action);
    // Every other compiled filter from the same (rule, filter) -- the mirror included -- has this id.
    for (std::size_t j = 0; j < compiled.filters.size(); ++j) {
      const bool same = compiled.filters[j].rule_index == c.rule_index && compiled.filters[j].filter_index == c.filter_index;
      EXPECT_EQ(out.table.filters[j].id == id, same) << i << " vs " << j;
    }
  }
  // The Legal policy: two rules with one filter each, both mirrored.
  EXPECT_EQ(distinct.size(), 2u);
  EXPECT_EQ(out.origins.size(), 2u);
  const bool has_mirror = std::any_of(compiled.filters.begin(), compiled.filters.end(), [](auto& f) { return f.mirror; });
  EXPECT_TRUE(has_mirror);
  const auto& first = out.origins.at(out.table.filters.front().id);
  EXPECT_FALSE(first.filter_list_name.empty());
  EXPECT_FALSE(first.filter_action_name.empty());
}

TEST(TranslateTest, IdsAreStableAcrossRefreshesAndNeverReused) {
  auto policy = load_example_policy("legal-policy.json");
  FilterIds ids;
  const auto before = translate(policy, compile_for(policy, {"10.20.1.5"}), ids);
  // A refresh on a host that gained an address, with the rules in the other order.
  std::swap(policy.rules[0], policy.rules[1]);
  const auto after = translate(policy, compile_for(policy, {"10.20.1.5", "10.20.1.6"}), ids);
  for (const auto& [id, origin] : before.origins) {
    bool found = false;
    for (const auto& [id2, origin2] : after.origins) {
      if (origin2.rule_id == origin.rule_id && origin2.filter_id == origin.filter_id) {
        EXPECT_EQ(id2, id);
        found = true;
      }
    }
    EXPECT_TRUE(found);
  }
  // A rule that is new gets a new id, never one of the old ones.
  policy.rules[0].id = model::testing::guid("{11111111-2222-3333-4444-555555555555}");
  const auto changed = translate(policy, compile_for(policy, {"10.20.1.5"}), ids);
  for (const auto& [id, origin] : changed.origins) {
    if (origin.rule_id == policy.rules[0].id) {
      EXPECT_FALSE(before.origins.contains(id));
    }
  }
  EXPECT_EQ(ids.size(), 3u);
}

TEST(TranslateTest, ActionMapping) {
  EXPECT_EQ(to_driver_action(model::ActionKind::Permit), driver::FilterAction::Permit);
  EXPECT_EQ(to_driver_action(model::ActionKind::Block), driver::FilterAction::Block);
  EXPECT_EQ(to_driver_action(model::ActionKind::Negotiate), driver::FilterAction::Negotiate);
}

TEST(TranslateTest, TunnelEndpointCarriedOver) {
  auto policy = load_example_policy("legal-policy.json");
  policy.rules[1].tunnel_endpoint = *IpAddress::parse("10.20.9.1");
  const auto compiled = compile_for(policy, {"10.20.1.5"});
  FilterIds ids;
  const auto out = translate(policy, compiled, ids);
  bool seen = false;
  for (std::size_t i = 0; i < compiled.filters.size(); ++i) {
    if (compiled.filters[i].rule_index != 1) continue;
    ASSERT_TRUE(out.table.filters[i].tunnel_endpoint.has_value());
    EXPECT_EQ(out.table.filters[i].tunnel_endpoint->to_string(), "10.20.9.1");
    seen = true;
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace ward::agent::translate
