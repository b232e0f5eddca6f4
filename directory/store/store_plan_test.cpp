// policy_writer's plans replayed against a model of Active Directory's reference check: every DN
// an object names (forward references and owners) must exist when the add or modify runs. Also:
// what the plans undo with, and what they do with objects another policy shares.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "directory/adblob/ad_object.h"
#include "directory/adblob/policy_to_ad.h"
#include "directory/model/fresh_ids.h"
#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "directory/store/policy_writer.h"

namespace ward::store {
namespace {

using adblob::normalized_dn;

constexpr std::string_view kDomain = "DC=ward,DC=test";
const std::set<std::string> kReferenceAttributes{"ipsecisakmpreference", "ipsecnfareference", "ipsecfilterreference",
                                                 "ipsecnegotiationpolicyreference", "ipsecownersreference"};

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A directory that refuses, as AD does, a DN value naming an object that does not exist.
class ReferenceCheckingDirectory {
 public:
  explicit ReferenceCheckingDirectory(std::span<const adblob::AdObject> existing) {
    for (const auto& object : existing) objects_.insert(normalized_dn(object.dn));
  }
  // An error text, or empty.
  std::string apply(const WriteStep& step) {
    const auto key = normalized_dn(step.dn);
    switch (step.kind) {
      case WriteStep::Kind::kAdd:
        if (objects_.contains(key)) return "exists: " + step.dn;
        for (const auto& attribute : step.attributes) {
          if (auto missing = check(attribute.name, attribute.values); !missing.empty()) return missing;
        }
        objects_.insert(key);
        return {};
      case WriteStep::Kind::kModify:
        if (!objects_.contains(key)) return "no such object: " + step.dn;
        for (const auto& change : step.changes) {
          if (change.op == ldap::Modification::Op::kDelete) continue;
          if (auto missing = check(change.attribute, change.values); !missing.empty()) return missing;
        }
        return {};
      case WriteStep::Kind::kDelete:
        objects_.erase(key);
        return {};
    }
    return {};
  }

 private:
  std::string check(const std::string& attribute, const std::vector<std::string>& values) const {
    if (!kReferenceAttributes.contains(lower(attribute))) return {};
    for (const auto& value : values) {
      if (!objects_.contains(normalized_dn(value))) return "000020B5: Referenced object not found: " + attribute + " " + value;
    }
    return {};
  }
  std::set<std::string> objects_;
};

std::vector<adblob::AdObject> objects_of(const model::Policy& policy) {
  auto objects = adblob::policy_to_ad(policy, kDomain);
  EXPECT_TRUE(objects);
  return objects ? *objects : std::vector<adblob::AdObject>{};
}

void replay(const WritePlan& plan, std::span<const adblob::AdObject> existing) {
  ReferenceCheckingDirectory directory(existing);
  bool deleting = false;
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& step = plan.steps[i];
    if (step.kind == WriteStep::Kind::kDelete) deleting = true;
    EXPECT_FALSE(deleting && step.kind != WriteStep::Kind::kDelete) << "step " << i << ": a write after the deletes";
    const auto error = directory.apply(step);
    EXPECT_TRUE(error.empty()) << "step " << i << " (" << step.dn << "): " << error;
  }
}

TEST(WritePlan, ANewPolicyIsAddedWithoutForwardReferencesThenReferenced) {
  const auto objects = objects_of(model::testing::load_example_policy("legal-policy.json"));
  const auto plan = plan_new_policy(objects);
  replay(plan, {});
  // MS-GPIPSEC's order: policy, ISAKMP, NFAs, negotiation policies, filters; the policy's
  // references are the very last write.
  ASSERT_FALSE(plan.steps.empty());
  EXPECT_EQ(plan.steps.front().kind, WriteStep::Kind::kAdd);
  EXPECT_EQ(normalized_dn(plan.steps.front().dn), normalized_dn(objects.front().dn));
  EXPECT_EQ(plan.steps.back().kind, WriteStep::Kind::kModify);
  EXPECT_EQ(normalized_dn(plan.steps.back().dn), normalized_dn(objects.front().dn));
  for (const auto& step : plan.steps) {
    if (step.kind != WriteStep::Kind::kAdd) continue;
    for (const auto& attribute : step.attributes) {
      EXPECT_NE(lower(attribute.name), "ipsecnfareference") << step.dn;
      EXPECT_NE(lower(attribute.name), "ipsecfilterreference") << step.dn;
    }
  }
}

TEST(WritePlan, AnUpdateAddsChangesAndDeletesInAReferenceSafeOrder) {
  const auto before_policy = model::testing::load_example_policy("legal-policy.json");
  auto after_policy = before_policy;
  model::FilterList list;
  list.id = model::Guid::random();
  list.name = "new list";
  list.filters.push_back(after_policy.filter_lists.front().filters.front());
  after_policy.filter_lists.push_back(list);
  after_policy.rules.front().filter_list = list.id;  // the old list is no longer used
  after_policy.rules.pop_back();                     // nor the last rule
  const auto before = objects_of(before_policy);
  const auto after = objects_of(after_policy);
  const auto plan = plan_update(before, after);
  replay(plan, before);
  std::size_t deletes = 0;
  for (const auto& step : plan.steps) {
    if (step.kind == WriteStep::Kind::kDelete) ++deletes;
    if (step.kind == WriteStep::Kind::kModify) {
      // Undoing a modification restores exactly the values read.
      EXPECT_FALSE(step.undo_changes.empty()) << step.dn;
    }
  }
  EXPECT_GE(deletes, 2u);  // the rule's NFA and the unused filter list
  EXPECT_TRUE(plan_update(before, before).steps.empty()) << "an unchanged policy writes nothing";
}

TEST(WritePlan, ASharedObjectLosesOnlyThisPoliciesOwners) {
  const auto policy = model::testing::load_example_policy("domain-policy.json");
  auto objects = objects_of(policy);
  const std::string foreign_nfa = "CN=ipsecNFA{00000000-1111-2222-3333-444444444444},CN=IP Security,CN=System,DC=ward,DC=test";
  auto& filter = objects.back();  // a filter list another policy's rule uses too
  ASSERT_EQ(filter.object_class, adblob::AdClass::Filter);
  filter.owners_references.push_back(foreign_nfa);
  std::vector<adblob::AdObject> existing = objects;
  adblob::AdObject other;
  other.dn = foreign_nfa;
  other.object_class = adblob::AdClass::Nfa;
  existing.push_back(other);
  const auto plan = plan_delete(objects);
  replay(plan, existing);
  bool kept = false;
  for (const auto& step : plan.steps) {
    if (normalized_dn(step.dn) != normalized_dn(filter.dn)) continue;
    ASSERT_EQ(step.kind, WriteStep::Kind::kModify);
    ASSERT_EQ(step.changes.size(), 1u);
    EXPECT_EQ(step.changes[0].values, std::vector<std::string>{foreign_nfa});
    kept = true;
  }
  EXPECT_TRUE(kept) << "the shared filter list was deleted";
}

}  // namespace
}  // namespace ward::store
