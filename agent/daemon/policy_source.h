// Where wardd gets its policy from: the local file source (local_file_source.h) or the directory
// (directory_source.h).
#pragma once

#include <string>
#include <vector>

#include "agent/cache/cache.h"
#include "common/expected.h"
#include "directory/model/policy.h"
#include "directory/model/validation.h"

namespace ward::agent::daemon {

struct FetchedPolicy {
  model::Policy policy;     // parsed, not yet validated
  cache::PolicySource source;
};

struct FetchError {
  enum class Kind : std::uint8_t {
    Unavailable,  // could not be read / reached: the directory is down, the file is missing
    Invalid,      // read, but it is not a policy: `problems` says why
    NotAssigned,  // the directory answered: no IPsec policy is assigned to this host (enforce none)
  };
  Kind kind = Kind::Unavailable;
  std::string message;
  std::vector<model::Problem> problems;
};

class PolicySource {
 public:
  virtual ~PolicySource() = default;
  virtual Expected<FetchedPolicy, FetchError> fetch() = 0;
  virtual std::string describe() const = 0;  // for logs and events, e.g. "file /etc/ward/local-policy.json"
};

}  // namespace ward::agent::daemon
