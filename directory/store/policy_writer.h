// The order in which a policy's objects are written, and what undoes a write that failed midway.
//
// Active Directory checks DN-valued attributes: an object may only name objects that exist. So
// writes follow [MS-GPIPSEC] 2.2.1's order, on OpenLDAP too (one code path):
//   1. add the new objects without their forward references: policy, ISAKMP, NFAs, negotiation
//      policies, filters (back-references - ipsecOwnersReference - name objects added before);
//   2. modify: changed ISAKMP, negotiation policy and filter objects, then the NFAs (their filter
//      and negotiation policy references), the ipsecPolicy last (its ISAKMP and NFA references);
//   3. delete the objects the policy no longer references (NFAs first). An object another
//      policy's rule still owns (Windows' shared filter lists and actions) is not deleted: only
//      this policy's owners are taken off it, in step 2.
// So a reader following the policy's references never meets an object that is missing or not
// yet complete, and a new policy is referenced by nothing until its last step.
//
// When a step of 1 or 2 fails, the steps done so far are undone newest first (adds deleted,
// modifications reverted to the values read), so the directory holds the policy as it was; the
// error names the object of the failing step, and any undo that failed too. Step 3 is cleanup
// of unreferenced objects: a failure there leaves the policy complete and is reported.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/ldap/session.h"
#include "directory/store/store_error.h"

namespace ward::store {

struct WriteStep {
  enum class Kind { kAdd, kModify, kDelete };
  Kind kind = Kind::kAdd;
  std::string dn;
  std::vector<ldap::Attribute> attributes;       // kAdd
  std::vector<ldap::Modification> changes;       // kModify
  std::vector<ldap::Modification> undo_changes;  // kModify: restores the values read

  friend bool operator==(const WriteStep&, const WriteStep&) = default;
};

struct WritePlan {
  std::vector<WriteStep> steps;  // adds, then modifications, then deletes
};

// Adding a whole new policy: `objects` as policy_to_ad returns them.
WritePlan plan_new_policy(std::span<const adblob::AdObject> objects);

// Bringing `stored` (the policy's objects as read, the policy object first) to `target` (the
// objects the edited policy has, e.g. adblob::merge_policy's). Objects only in `stored` are
// deleted, or lose this policy's owners when another policy's rule still owns them.
WritePlan plan_update(std::span<const adblob::AdObject> stored, std::span<const adblob::AdObject> target);

// Deleting the policy whose objects are `stored`: shared objects lose this policy's owners.
WritePlan plan_delete(std::span<const adblob::AdObject> stored);

// For tests: `fail_before(i, step)` returning true makes step i fail as if the server had
// refused it (an injected failure, to show what a failure there leaves behind).
struct WriteOptions {
  std::function<bool(std::size_t, const WriteStep&)> fail_before;
};

// Runs the plan; undoes steps of phases 1-2 on failure (see above).
Expected<void, StoreError> execute(ldap::Session& session, const WritePlan& plan, const WriteOptions& options = {});

}  // namespace ward::store
