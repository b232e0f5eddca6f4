// Fresh identities for a copied policy: every object gets a new GUID and rules follow their lists
// and actions to the new ones.
#pragma once

#include "directory/model/policy.h"

namespace ward::gui {

model::Policy with_fresh_ids(model::Policy policy);

// A new, empty policy as the editor starts it: fresh ids and one default key exchange method.
model::Policy new_policy();

}  // namespace ward::gui
