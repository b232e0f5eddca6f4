#include "directory/model/fresh_ids.h"

namespace ward::model {

std::map<Guid, Guid> renew_ids(Policy& policy) {
  std::map<Guid, Guid> renamed;
  const auto renew = [&](Guid& id) { id = renamed.try_emplace(id, Guid::random()).first->second; };
  renew(policy.id);
  renew(policy.key_exchange.id);
  for (auto& list : policy.filter_lists) {
    renew(list.id);
    for (auto& filter : list.filters) renew(filter.id);
  }
  for (auto& action : policy.filter_actions) renew(action.id);
  const auto follow = [&](Guid& reference) {
    if (const auto it = renamed.find(reference); it != renamed.end()) reference = it->second;
  };
  for (auto& rule : policy.rules) {
    renew(rule.id);
    if (rule.filter_list) follow(*rule.filter_list);
    follow(rule.filter_action);
  }
  return renamed;
}

}  // namespace ward::model
