// Identities of the editor's new policies (a copy's fresh ids: model::with_fresh_ids).
#pragma once

#include "directory/model/policy.h"

namespace ward::gui {

// A new, empty policy as the editor starts it: fresh ids and one default key exchange method.
model::Policy new_policy();

}  // namespace ward::gui
