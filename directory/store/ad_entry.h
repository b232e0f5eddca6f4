// Conversion between adblob's AdObject and LDAP entries/attribute lists (the wire form of the
// five IPsec object classes). No I/O here.
#pragma once

#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/ldap/entry.h"
#include "directory/ldap/session.h"
#include "directory/store/store_error.h"

namespace ward::store {

// The attributes every IPsec object read fetches.
std::vector<std::string> ipsec_attribute_names();

// The attributes to add for `object` (objectClass, cn = its first RDN's value, then the rest).
std::vector<ldap::Attribute> to_attributes(const adblob::AdObject& object);

// An entry read with ipsec_attribute_names() -> AdObject; errors name DN and attribute.
Expected<adblob::AdObject, StoreError> from_entry(const ldap::Entry& entry);

// Modifications that turn `before` into `after` (same DN and class); empty when they are equal.
std::vector<ldap::Modification> modifications(const adblob::AdObject& before, const adblob::AdObject& after);

}  // namespace ward::store
