// The policy of a host outside any domain: a ward-policy/1 JSON file ([policy] local_file).
// The PolicySource it reports has an empty policy DN and the file's modification time (Unix
// seconds) as its change stamp.
#pragma once

#include <filesystem>

#include "agent/daemon/policy_source.h"

namespace ward::agent::daemon {

inline constexpr std::uintmax_t kMaxPolicyFileBytes = 4 * 1024 * 1024;

class LocalFileSource final : public PolicySource {
 public:
  explicit LocalFileSource(std::filesystem::path path) : path_(std::move(path)) {}
  Expected<FetchedPolicy, FetchError> fetch() override;
  std::string describe() const override { return "file " + path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace ward::agent::daemon
