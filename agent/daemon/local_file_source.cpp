#include "agent/daemon/local_file_source.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <system_error>

#include "directory/model/policy_json.h"

namespace ward::agent::daemon {

Expected<FetchedPolicy, FetchError> LocalFileSource::fetch() {
  std::error_code error;
  const auto size = std::filesystem::file_size(path_, error);
  if (error) return unexpected(FetchError{FetchError::Kind::Unavailable, path_.string() + ": " + error.message(), {}, {}});
  if (size > kMaxPolicyFileBytes) {
    return unexpected(FetchError{FetchError::Kind::Invalid,
                                 path_.string() + ": " + std::to_string(size) + " bytes, more than the limit of " +
                                     std::to_string(kMaxPolicyFileBytes),
                                 {},
                                 {}});
  }
  const auto modified = std::filesystem::last_write_time(path_, error);
  std::ifstream in(path_, std::ios::binary);
  if (!in) return unexpected(FetchError{FetchError::Kind::Unavailable, path_.string() + ": cannot open", {}, {}});
  std::ostringstream text;
  text << in.rdbuf();
  auto policy = model::policy_from_json(text.str());
  if (!policy) {
    return unexpected(FetchError{FetchError::Kind::Invalid, "not a ward-policy/1 policy",
                                 std::move(policy).error(), {}});
  }
  FetchedPolicy out{std::move(policy).value(), {}, {}};
  if (!error) {
    const auto system = std::chrono::file_clock::to_sys(modified);
    out.source.change_stamp =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(system.time_since_epoch()).count());
  }
  return out;
}

}  // namespace ward::agent::daemon
