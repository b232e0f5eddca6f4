// One policy refresh: fetch from the source, validate, store in the cache, apply. The rules:
//
//  - A policy that does not parse or validate never replaces the one being enforced, nor the
//    cached last good one: it is logged and recorded as a policy-rejected event that says what
//    is kept. The same when the source is unavailable (directory-unreachable).
//  - At start-up (nothing enforced yet) such a failure falls back to the cached policy (a
//    cache-used event), as Windows keeps its last policy.
//  - A source that answers "no IPsec policy is assigned to this host" (FetchError::NotAssigned)
//    makes wardd enforce none, as Windows does, and clears the cached policy.
//  - With no cached policy either, wardd enforces no IPsec policy: an empty filter table, which
//    blocks nothing and negotiates nothing, logged at error level ("no-policy"). We chose this
//    over "block everything": a host that cannot be reached cannot be repaired remotely, and
//    Windows with no assigned policy also passes all traffic in clear.
//
// Thread-safe: the main loop (timer, SIGHUP, address changes) and the control socket's refresh
// call it; calls are serialized.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/cache/clock.h"
#include "agent/daemon/agent_state.h"
#include "agent/daemon/applier.h"
#include "agent/daemon/log.h"
#include "agent/daemon/policy_source.h"
#include "agent/daemon/shared_cache.h"

namespace ward::agent::daemon {

struct UpdateOutcome {
  bool applied = false;  // a new table was installed
  bool failed = false;   // the source was unavailable or its policy rejected (`message` says what is kept)
  std::string message;   // for the control socket's refresh answer and the log
  bool unavailable = false;  // the source could not be read (worth retrying soon)
};

class PolicyUpdater {
 public:
  // `source` may be null (no source configured: only the cache is used).
  PolicyUpdater(PolicySource* source, SharedCache& cache, Applier& applier, AgentState& state, Logger& log,
                const Clock& clock, std::vector<IpAddress> addresses)
      : source_(source), cache_(cache), applier_(applier), state_(state), log_(log), clock_(clock),
        addresses_(std::move(addresses)) {}

  UpdateOutcome refresh(std::string_view trigger);
  // Recompiles the enforced policy for the host's new addresses.
  UpdateOutcome readdress(std::vector<IpAddress> addresses);

 private:
  UpdateOutcome fail(cache::EventKind kind, const std::string& why);
  UpdateOutcome none_assigned(const std::string& from, const std::string& why, const ScopeReport& report);
  std::string keep_or_fall_back();
  bool install(Snapshot snapshot);
  void record(cache::EventKind kind, const std::string& reason);

  PolicySource* source_;
  SharedCache& cache_;
  Applier& applier_;
  AgentState& state_;
  Logger& log_;
  const Clock& clock_;
  std::vector<IpAddress> addresses_;
  std::mutex mutex_;
};

}  // namespace ward::agent::daemon
