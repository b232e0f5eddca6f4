#include "gui/policy_ids.h"

#include <map>

namespace ward::gui {

model::Policy with_fresh_ids(model::Policy policy) {
  std::map<model::Guid, model::Guid> renamed;
  auto renew = [&](model::Guid& id) {
    const auto fresh = model::Guid::random();
    renamed[id] = fresh;
    id = fresh;
  };
  renew(policy.id);
  renew(policy.key_exchange.id);
  for (auto& list : policy.filter_lists) {
    renew(list.id);
    for (auto& filter : list.filters) renew(filter.id);
  }
  for (auto& action : policy.filter_actions) renew(action.id);
  for (auto& rule : policy.rules) {
    renew(rule.id);
    if (rule.filter_list) {
      if (const auto it = renamed.find(*rule.filter_list); it != renamed.end()) rule.filter_list = it->second;
    }
    if (const auto it = renamed.find(rule.filter_action); it != renamed.end()) rule.filter_action = it->second;
  }
  return policy;
}

model::Policy new_policy() {
  model::Policy policy;
  policy.id = model::Guid::random();
  policy.key_exchange.id = model::Guid::random();
  policy.key_exchange.methods.push_back(model::KeyExchangeMethod{});
  return policy;
}

}  // namespace ward::gui
