#include "directory/model/policy.h"

#include <algorithm>

namespace ward::model {

namespace {
template <class T>
const T* find_by_id(const std::vector<T>& items, const Guid& id) {
  const auto it = std::find_if(items.begin(), items.end(), [&](const T& item) { return item.id == id; });
  return it == items.end() ? nullptr : &*it;
}
}  // namespace

const FilterList* Policy::find_filter_list(const Guid& wanted) const { return find_by_id(filter_lists, wanted); }
const FilterAction* Policy::find_filter_action(const Guid& wanted) const { return find_by_id(filter_actions, wanted); }

bool Policy::is_default_response_action(const FilterAction& action) const {
  if (!action.name.empty()) return false;
  bool used = false;
  for (const auto& rule : rules) {
    if (rule.filter_action != action.id) continue;
    if (!rule.default_response) return false;
    used = true;
  }
  return used;
}

std::string display_name(const Rule& rule) {
  return rule.name.empty() && rule.default_response ? std::string(kDefaultResponseDisplayName) : rule.name;
}

std::string display_name(const Policy& policy, const FilterAction& action) {
  return policy.is_default_response_action(action) ? std::string(kDefaultResponseDisplayName) : action.name;
}

}  // namespace ward::model
