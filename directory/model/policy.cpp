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

}  // namespace ward::model
