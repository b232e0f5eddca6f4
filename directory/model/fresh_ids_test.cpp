#include "directory/model/fresh_ids.h"

#include <gtest/gtest.h>

#include <set>

#include "directory/model/test_support.h"
#include "directory/model/validation.h"

namespace ward::model {
namespace {

std::set<Guid> all_ids(const Policy& policy) {
  std::set<Guid> ids{policy.id, policy.key_exchange.id};
  for (const auto& list : policy.filter_lists) {
    ids.insert(list.id);
    for (const auto& filter : list.filters) ids.insert(filter.id);
  }
  for (const auto& action : policy.filter_actions) ids.insert(action.id);
  for (const auto& rule : policy.rules) ids.insert(rule.id);
  return ids;
}

TEST(FreshIds, EveryObjectIsRenamedAndRulesFollowTheirListsAndActions) {
  const Policy original = testing::load_example_policy("legal-policy.json");
  Policy copy = original;
  const auto renamed = renew_ids(copy);

  const auto before = all_ids(original);
  const auto after = all_ids(copy);
  ASSERT_EQ(before.size(), after.size());
  for (const auto& id : after) EXPECT_EQ(before.count(id), 0u) << id.to_string() << " was kept";
  EXPECT_EQ(renamed.size(), before.size());

  ASSERT_EQ(copy.rules.size(), original.rules.size());
  for (std::size_t i = 0; i < copy.rules.size(); ++i) {
    const auto& rule = copy.rules[i];
    const auto& old_rule = original.rules[i];
    EXPECT_EQ(rule.filter_action, renamed.at(old_rule.filter_action));
    ASSERT_EQ(rule.filter_list.has_value(), old_rule.filter_list.has_value());
    if (rule.filter_list) {
      EXPECT_EQ(*rule.filter_list, renamed.at(*old_rule.filter_list));
      EXPECT_NE(copy.find_filter_list(*rule.filter_list), nullptr);
    }
    EXPECT_NE(copy.find_filter_action(rule.filter_action), nullptr);
  }
  EXPECT_TRUE(validate(copy).empty());
}

TEST(FreshIds, TwoCopiesShareNoIds) {
  const Policy original = testing::load_example_policy("domain-policy.json");
  const auto first = all_ids(with_fresh_ids(original));
  for (const auto& id : all_ids(with_fresh_ids(original))) EXPECT_EQ(first.count(id), 0u);
}

}  // namespace
}  // namespace ward::model
