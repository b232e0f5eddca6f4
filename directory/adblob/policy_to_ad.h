// A model Policy -> the AD objects that hold it: one ipsecPolicy, one ipsecISAKMPPolicy, an
// ipsecNFA per rule, an ipsecNegotiationPolicy per filter action and an ipsecFilter per filter
// list, all in CN=IP Security,CN=System,<domain DN>, with references and back-references.
// Filter lists and actions that no rule uses have no reference from the policy and are left out.
#pragma once

#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/model/policy.h"

namespace ward::adblob {

// Objects in creation order: policy, ISAKMP, NFAs, negotiation policies, filters. Errors name the
// object's DN (text that is not valid UTF-8 cannot become UTF-16).
Expected<std::vector<AdObject>, MappingError> policy_to_ad(const model::Policy& policy, std::string_view domain_dn);

}  // namespace ward::adblob
