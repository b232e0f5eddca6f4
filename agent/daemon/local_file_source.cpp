#include "agent/daemon/local_file_source.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <system_error>

#include "agent/config/secret_file.h"
#include "directory/model/policy_json.h"

namespace ward::agent::daemon {
namespace {

bool holds_preshared_key(const model::Policy& policy) {
  for (const auto& rule : policy.rules) {
    for (const auto& method : rule.auth_methods) {
      if (method.kind == model::AuthKind::PresharedKey) return true;
    }
  }
  return false;
}

}  // namespace

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
  // A policy with a preshared key is a secret: refused (and the enforced policy kept) while others
  // can read it. Checked after reading, so a file that changes in between is judged by what was read.
  if (holds_preshared_key(*policy)) {
    if (auto secret = config::check_secret_file(path_, "[policy] local_file"); !secret) {
      return unexpected(FetchError{FetchError::Kind::Invalid, secret.error() + " (the policy holds a preshared key)", {}, {}});
    }
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
