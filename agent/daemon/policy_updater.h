// One policy refresh: fetch from the source, validate, store in the cache, apply. The rules:
//
//  - start() comes first and makes no network call: the cached last good policy is enforced at
//    once (a cache-used event), as Windows applies its cached policy at boot; with nothing cached,
//    the boot policy (boot_policy.h: block everything but what is needed to get a policy, unless
//    [policy] boot_mode = permit). Only then does the first refresh ask the source, so a directory
//    that hangs never leaves the host without a filter table.
//  - A policy that does not parse or validate never replaces the one being enforced, nor the
//    cached last good one: it is logged and recorded as a policy-rejected event that says what
//    is kept. The same when the source is unavailable (directory-unreachable). What is kept may
//    be the boot policy: a host that never had a policy stays fail-closed until it gets one.
//  - A source that answers "no IPsec policy is assigned to this host" (FetchError::NotAssigned)
//    makes wardd enforce none, as Windows does, and clears the cached policy: the administrator
//    decided so.
//  - In boot_mode = permit with nothing cached and nothing fetched, wardd enforces no IPsec
//    policy: an empty filter table, logged at error level ("no-policy").
//
// Thread-safe. refresh() calls are serialized among themselves, but the fetch runs without the
// lock that installs tables, so readdress() (the main loop) never waits on a directory that
// hangs, and stop() makes a fetch that returns late install nothing.
#pragma once

#include <mutex>
#include <optional>
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
};

class PolicyUpdater {
 public:
  // `source` may be null (no source configured: only the cache is used). `boot` is the boot
  // policy (boot_policy.h); nothing means boot_mode = permit.
  PolicyUpdater(PolicySource* source, SharedCache& cache, Applier& applier, AgentState& state, Logger& log,
                const Clock& clock, std::vector<IpAddress> addresses, std::optional<model::Policy> boot = std::nullopt)
      : source_(source), cache_(cache), applier_(applier), state_(state), log_(log), clock_(clock),
        addresses_(std::move(addresses)), boot_(std::move(boot)) {}

  // Enforces the cached policy, else the boot policy (else none). No network call. Once only;
  // refresh() calls it first if nobody did.
  UpdateOutcome start();
  UpdateOutcome refresh(std::string_view trigger);
  // Recompiles the enforced policy for the host's new addresses.
  UpdateOutcome readdress(std::vector<IpAddress> addresses);
  // From now on nothing is installed (shutdown: the dataplane is about to go).
  void stop();

 private:
  UpdateOutcome start_locked();
  UpdateOutcome decide(const std::string& from, Expected<FetchedPolicy, FetchError> fetched);
  UpdateOutcome fail(cache::EventKind kind, const std::string& why);
  UpdateOutcome none_assigned(const std::string& from, const std::string& why, const ScopeReport& report);
  std::string what_is_kept() const;
  bool install(Snapshot snapshot);
  void record(cache::EventKind kind, const std::string& reason);

  PolicySource* source_;
  SharedCache& cache_;
  Applier& applier_;
  AgentState& state_;
  Logger& log_;
  const Clock& clock_;
  std::vector<IpAddress> addresses_;  // guarded by mutex_
  const std::optional<model::Policy> boot_;
  std::mutex refresh_mutex_;  // one refresh at a time (held across the fetch)
  std::mutex mutex_;          // installs, addresses_, started_, stopped_ (never held across a fetch)
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace ward::agent::daemon
