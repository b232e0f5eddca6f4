// JSON import and export of a whole policy, for files and reviews beside the directory form.
// Import is strict: unknown keys, wrong types and unknown names are errors naming the JSON path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/model/policy.h"
#include "directory/model/validation.h"

namespace ward::model {

inline constexpr std::string_view kPolicyJsonFormat = "ward-policy/1";

enum class SecretHandling { Include, Redact };

std::string policy_to_json(const Policy& policy, SecretHandling secrets = SecretHandling::Include);

// Problems carry object "JSON" and the JSON pointer of the offending value as the field.
// The result is not yet validated: call validate() on it.
Expected<Policy, std::vector<Problem>> policy_from_json(std::string_view text) noexcept;

}  // namespace ward::model
