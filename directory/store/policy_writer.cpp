#include "directory/store/policy_writer.h"

#include <algorithm>
#include <map>
#include <set>

#include "directory/store/ad_entry.h"
#include "directory/store/policy_store.h"

namespace ward::store {

namespace attr = adblob::attr;
using adblob::AdClass;
using adblob::AdObject;
using adblob::normalized_dn;

namespace {

// [MS-GPIPSEC] 2.2.1's creation order.
int creation_rank(AdClass c) {
  switch (c) {
    case AdClass::Policy: return 0;
    case AdClass::IsakmpPolicy: return 1;
    case AdClass::Nfa: return 2;
    case AdClass::NegotiationPolicy: return 3;
    case AdClass::Filter: return 4;
  }
  return 5;
}

// Modification order: what is referenced before what references it, the policy last.
int modification_rank(AdClass c) {
  switch (c) {
    case AdClass::IsakmpPolicy: return 0;
    case AdClass::NegotiationPolicy: return 1;
    case AdClass::Filter: return 2;
    case AdClass::Nfa: return 3;
    case AdClass::Policy: return 4;
  }
  return 5;
}

// Deletion order: NFAs (they reference the rest), then ISAKMP, actions, filters; a policy object
// (plan_delete only) before all of them.
int deletion_rank(AdClass c) {
  switch (c) {
    case AdClass::Policy: return 0;
    case AdClass::Nfa: return 1;
    case AdClass::IsakmpPolicy: return 2;
    case AdClass::NegotiationPolicy: return 3;
    case AdClass::Filter: return 4;
  }
  return 5;
}

std::vector<const AdObject*> sorted(std::vector<const AdObject*> objects, int (*rank)(AdClass)) {
  std::stable_sort(objects.begin(), objects.end(),
                   [&](const AdObject* a, const AdObject* b) { return rank(a->object_class) < rank(b->object_class); });
  return objects;
}

// The object as first added: no references to objects that may not exist yet.
AdObject without_forward_references(const AdObject& object) {
  AdObject out = object;
  out.isakmp_reference.reset();
  out.nfa_references.clear();
  out.filter_references.clear();
  out.negotiation_policy_reference.reset();
  return out;
}

WriteStep add_step(const AdObject& object) {
  return {WriteStep::Kind::kAdd, object.dn, to_attributes(object), {}, {}};
}

std::optional<WriteStep> modify_step(const AdObject& before, const AdObject& after) {
  auto changes = modifications(before, after);
  if (changes.empty()) return std::nullopt;
  return WriteStep{WriteStep::Kind::kModify, before.dn, {}, std::move(changes), modifications(after, before)};
}

// The owners of `object` that are not among `ours` (this policy's DN and its NFAs' DNs).
std::vector<std::string> foreign_owners(const AdObject& object, const std::set<std::string>& ours) {
  std::vector<std::string> out;
  for (const auto& owner : object.owners_references) {
    if (!ours.contains(normalized_dn(owner))) out.push_back(owner);
  }
  return out;
}

// DNs that are this policy's: the policy object and the NFAs it had.
std::set<std::string> own_dns(std::span<const AdObject> stored) {
  std::set<std::string> out;
  for (const auto& object : stored) {
    if (object.object_class == AdClass::Policy || object.object_class == AdClass::Nfa) out.insert(normalized_dn(object.dn));
  }
  return out;
}

StoreError injected(const WriteStep& step) {
  return StoreError{step.dn, {}, "injected failure (test)"};
}

Expected<void, StoreError> run_step(ldap::Session& session, const WriteStep& step) {
  switch (step.kind) {
    case WriteStep::Kind::kAdd:
      if (auto done = session.add(step.dn, step.attributes); !done) return unexpected(from_ldap(done.error(), step.dn));
      return {};
    case WriteStep::Kind::kModify:
      if (auto done = session.modify(step.dn, step.changes); !done) {
        return unexpected(from_ldap(done.error(), step.dn, step.changes.front().attribute));
      }
      return {};
    case WriteStep::Kind::kDelete:
      if (auto done = session.remove(step.dn); !done && done.error().result_code != ldap::result_code::kNoSuchObject) {
        return unexpected(from_ldap(done.error(), step.dn));
      }
      return {};
  }
  return {};
}

// Undoes `done` (adds and modifications) newest first; the first failure's text, or empty.
std::string undo(ldap::Session& session, const std::vector<const WriteStep*>& done) {
  std::string failures;
  for (auto it = done.rbegin(); it != done.rend(); ++it) {
    const WriteStep& step = **it;
    std::optional<ldap::LdapError> error;
    if (step.kind == WriteStep::Kind::kAdd) {
      if (auto removed = session.remove(step.dn); !removed) error = removed.error();
    } else if (step.kind == WriteStep::Kind::kModify) {
      if (auto reverted = session.modify(step.dn, step.undo_changes); !reverted) error = reverted.error();
    }
    if (error) failures += (failures.empty() ? "" : "; ") + error->to_string();
  }
  return failures;
}

}  // namespace

WritePlan plan_new_policy(std::span<const AdObject> objects) {
  return plan_update({}, objects);
}

WritePlan plan_update(std::span<const AdObject> stored, std::span<const AdObject> target) {
  std::map<std::string, const AdObject*> stored_by_dn;
  for (const auto& object : stored) stored_by_dn.emplace(normalized_dn(object.dn), &object);
  std::set<std::string> in_target;
  std::vector<const AdObject*> added;
  std::vector<const AdObject*> all_target;
  for (const auto& object : target) {
    in_target.insert(normalized_dn(object.dn));
    all_target.push_back(&object);
    if (!stored_by_dn.contains(normalized_dn(object.dn))) added.push_back(&object);
  }

  WritePlan plan;
  std::vector<AdObject> stripped;  // added objects as first written
  stripped.reserve(added.size());
  std::map<std::string, const AdObject*> first_form;
  for (const AdObject* object : sorted(added, creation_rank)) {
    stripped.push_back(without_forward_references(*object));
    plan.steps.push_back(add_step(stripped.back()));
  }
  for (const auto& object : stripped) first_form.emplace(normalized_dn(object.dn), &object);

  // Removed objects that another policy's rule still owns keep existing, minus our owners.
  const auto ours = own_dns(stored);
  std::vector<AdObject> unshared;  // removed shared objects with our owners taken off
  std::vector<const AdObject*> deleted;
  for (const auto& object : stored) {
    if (in_target.contains(normalized_dn(object.dn))) continue;
    auto others = foreign_owners(object, ours);
    if (object.object_class != AdClass::Policy && object.object_class != AdClass::Nfa && !others.empty()) {
      AdObject kept = object;
      kept.owners_references = std::move(others);
      unshared.push_back(std::move(kept));
    } else {
      deleted.push_back(&object);
    }
  }

  std::vector<std::pair<const AdObject*, const AdObject*>> changes;  // before, after
  for (const auto& object : unshared) changes.emplace_back(stored_by_dn.at(normalized_dn(object.dn)), &object);
  for (const AdObject* object : all_target) {
    const auto key = normalized_dn(object->dn);
    if (const auto old = stored_by_dn.find(key); old != stored_by_dn.end()) {
      changes.emplace_back(old->second, object);
    } else {
      changes.emplace_back(first_form.at(key), object);
    }
  }
  std::stable_sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) {
    return modification_rank(a.second->object_class) < modification_rank(b.second->object_class);
  });
  for (const auto& [before, after] : changes) {
    if (auto step = modify_step(*before, *after)) plan.steps.push_back(std::move(*step));
  }

  for (const AdObject* object : sorted(deleted, deletion_rank)) {
    plan.steps.push_back({WriteStep::Kind::kDelete, object->dn, {}, {}, {}});
  }
  return plan;
}

WritePlan plan_delete(std::span<const AdObject> stored) { return plan_update(stored, {}); }

Expected<void, StoreError> execute(ldap::Session& session, const WritePlan& plan, const WriteOptions& options) {
  std::vector<const WriteStep*> done;
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const WriteStep& step = plan.steps[i];
    Expected<void, StoreError> result;
    if (options.fail_before && options.fail_before(i, step)) {
      result = unexpected(injected(step));
    } else {
      result = run_step(session, step);
    }
    if (!result) {
      StoreError error = result.error();
      if (step.kind == WriteStep::Kind::kDelete) {
        error.message += " (the policy itself is complete; this object is no longer referenced by it)";
        return unexpected(error);
      }
      if (const auto failures = undo(session, done); !failures.empty()) {
        error.message += "; undoing the " + std::to_string(done.size()) + " earlier write(s) also failed: " + failures;
      } else if (!done.empty()) {
        error.message += " (the " + std::to_string(done.size()) + " earlier write(s) were undone)";
      }
      return unexpected(error);
    }
    if (step.kind != WriteStep::Kind::kDelete) done.push_back(&step);
  }
  return {};
}

}  // namespace ward::store
