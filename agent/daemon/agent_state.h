// What wardd is enforcing now: the policy, where it came from, its compiled and translated tables.
// Published as an immutable snapshot; readers (the control handler) take a shared_ptr and never
// see a half-updated state.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "agent/cache/cache.h"
#include "agent/daemon/policy_source.h"
#include "agent/ikebridge/offers.h"
#include "agent/translate/translate.h"
#include "directory/model/compile.h"
#include "directory/model/policy.h"

namespace ward::agent::daemon {

// Where the enforced policy came from.
enum class PolicyOrigin : std::uint8_t {
  None,    // no policy: an empty filter table (everything passes in clear)
  Source,  // fetched from the policy source and applied
  Cache,   // the cached last good policy (the source was unavailable or its policy broken)
  Boot,    // the boot policy (boot_policy.h): nothing cached, nothing fetched yet
};
std::string_view name_of(PolicyOrigin origin) noexcept;

struct Snapshot {
  PolicyOrigin origin = PolicyOrigin::None;
  model::Policy policy;  // empty when origin is None
  cache::PolicySource source;
  std::string source_description;  // e.g. "file /etc/ward/local-policy.json"
  TimePoint fetched_at{};
  std::vector<IpAddress> addresses;  // the host addresses it was compiled for
  ScopeReport scope;                   // how the directory decided (empty for a file or the cache)
  model::CompiledTable compiled;       // fail-closed rules' negotiate filters already block
  translate::Translation translation;
  ikebridge::OfferPlan offers;         // what IKE offers and accepts; skipped offers, fail-closed rules
};

class AgentState {
 public:
  AgentState() : current_(std::make_shared<const Snapshot>()) {}
  std::shared_ptr<const Snapshot> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void publish(std::shared_ptr<const Snapshot> snapshot) {
    std::lock_guard lock(mutex_);
    current_ = std::move(snapshot);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace ward::agent::daemon
