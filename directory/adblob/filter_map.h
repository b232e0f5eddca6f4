// A model filter list <-> an ipsecFilter blob. Filters that the legacy (IPv4) part can hold go
// there; when any filter needs more (IPv6, port ranges, a /0 or /32 subnet, two server sets),
// part 2 is written too and holds every filter, in order. A reader takes part 2 when present.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/filter_blob.h"
#include "directory/model/policy.h"

namespace ward::adblob {

Expected<FilterBlob, std::string> filter_blob_of(const model::FilterList& list);
Expected<std::vector<model::Filter>, std::string> filters_of(const FilterBlob& blob);

}  // namespace ward::adblob
