// AD objects -> a model Policy: starts at one ipsecPolicy object and follows its references.
// Every error names the DN and the attribute (and the byte offset inside ipsecData); a reference
// to an object that is missing or of the wrong class is an error, so reference loops cannot form.
#pragma once

#include <span>
#include <string_view>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/model/policy.h"

namespace ward::adblob {

// The result is not validated: call model::validate() on it.
Expected<model::Policy, MappingError> policy_from_ad(std::span<const AdObject> objects, std::string_view policy_dn);

}  // namespace ward::adblob
