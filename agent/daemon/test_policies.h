// Policies wardd's process-level tests (wardd_netns_test, wardd_xfrm_netns_test) write to its
// local policy file.
#pragma once

#include <cstdint>
#include <string>

#include "directory/model/test_support.h"

namespace ward::agent::daemon::testing {

// The Legal example cut down to one rule: block TCP from this host to `port` (mirrored).
inline model::Policy tcp_block_policy(std::uint16_t port, const std::string& name) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.name = name;
  auto rule = policy.rules[1];
  auto list = *policy.find_filter_list(*rule.filter_list);
  auto action = *policy.find_filter_action(rule.filter_action);
  list.filters.resize(1);
  list.filters[0].protocol = model::ip_protocol::kTcp;
  list.filters[0].destination_ports = PortRange::single(port);
  action.kind = model::ActionKind::Block;
  action.security_methods.clear();
  policy.filter_lists = {list};
  policy.filter_actions = {action};
  policy.rules = {rule};
  return policy;
}

}  // namespace ward::agent::daemon::testing
