// Fresh identities for a copied policy (the editor's Duplicate, a test writing a second copy): every
// object gets a new GUID and rules follow their filter list and filter action to the new ones.
#pragma once

#include <map>

#include "directory/model/policy.h"

namespace ward::model {

// Renews every id of `policy` in place and returns old id -> new id. A rule referring to an id
// the policy does not hold keeps that reference unchanged.
std::map<Guid, Guid> renew_ids(Policy& policy);

inline Policy with_fresh_ids(Policy policy) {
  renew_ids(policy);
  return policy;
}

}  // namespace ward::model
