// LDIF (RFC 2849) text for IPsec objects, exactly as write_policy would add them: used to
// generate example directories (schemas/examples/legal.ldif) from the same code that writes
// over LDAP, so examples cannot drift from the writer.
#pragma once

#include <string>
#include <string_view>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/model/policy.h"
#include "directory/store/store_error.h"

namespace ward::store {

// One entry (dn line, attributes, trailing blank line); values that are not safe strings
// (binary ipsecData, leading space/colon/'<', non-ASCII) are base64 ("attr:: ...").
std::string to_ldif(const adblob::AdObject& object);

// Every object of `policy` under `domain_dn`, in the order write_policy adds them.
Expected<std::string, StoreError> policy_ldif(const model::Policy& policy, std::string_view domain_dn);

}  // namespace ward::store
