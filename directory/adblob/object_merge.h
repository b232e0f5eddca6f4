// Write-back that changes only what an edit changed: a three-way merge of AD objects.
//
// Ward's model does not carry what it does not interpret (Windows' ISAKMP instance GUID, lifetimes
// of 0 meaning "default", uninitialised 0xCD fill, stale bytes in unused algorithm slots,
// ipsecDataType 598, an absent ipsecName), so writing the model back as Ward would write it from
// scratch changes a Windows policy. Instead, for each object:
//   stored - the object as read from the directory;
//   base   - what Ward writes for the model as it was read (policy_to_ad of the unedited model);
//   edited - what Ward writes for the edited model.
// Every attribute, and every field of the decoded ipsecData (recursively: blob, security method,
// offer, algorithm slot, filter...), where base and edited agree keeps the stored value; where they
// differ, it takes the edited one. Multi-valued DN attributes merge as sets (values others added,
// e.g. owners from another policy sharing a filter list, stay). A blob that does not decode keeps
// its stored bytes when base and edited agree, else becomes edited's.
//
// Lists whose length an edit changes (offers, methods, filters) take the edited list whole.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/model/policy.h"

namespace ward::adblob {

// `stored`, `base` and `edited` have the same DN and class.
AdObject merge_object(const AdObject& stored, const AdObject& base, const AdObject& edited);

// The ipsecData part of merge_object.
std::vector<std::byte> merge_blob(AdClass object_class, std::span<const std::byte> stored, std::span<const std::byte> base,
                                  std::span<const std::byte> edited);

// The objects of `edited` as they should be in the directory: every object the stored policy has
// merged (merge_object with base = what Ward writes for `read`, the model as read from `stored`),
// new ones as Ward writes them. Checked: the result must read back (policy_from_ad) as Ward's own
// form of `edited` does; when it does not, Ward's own form is returned and `whole` says so.
struct MergedPolicy {
  std::vector<AdObject> objects;  // the order of policy_to_ad
  bool whole = false;             // the merge did not read back right: Ward's own form instead
};
Expected<MergedPolicy, MappingError> merge_policy(std::span<const AdObject> stored, const model::Policy& read,
                                                  const model::Policy& edited, std::string_view domain_dn);

}  // namespace ward::adblob
