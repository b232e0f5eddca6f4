#include "agent/daemon/policy_updater.h"

#include "agent/daemon/host_addresses.h"

namespace ward::agent::daemon {
namespace {

std::string in_quotes(const std::string& name) { return "\"" + name + "\""; }

std::string problems_text(const std::vector<model::Problem>& problems) {
  std::size_t errors = 0;
  std::string first;
  for (const auto& problem : problems) {
    if (problem.severity != model::Severity::Error) continue;
    if (errors++ == 0) first = problem.to_string();
  }
  if (errors == 0) return "";
  return errors == 1 ? first : std::to_string(errors) + " errors, the first: " + first;
}

}  // namespace

void PolicyUpdater::record(cache::EventKind kind, const std::string& reason) {
  auto recorded = cache_.with([&](cache::Cache& c) { return c.record_event(kind, "", "", reason); });
  if (!recorded) log_.error("event-not-recorded", {{"kind", std::string(cache::name_of(kind))}, {"why", recorded.error().message}});
}

bool PolicyUpdater::install(Snapshot snapshot) {
  auto applied = applier_.apply(snapshot);
  if (!applied) {
    log_.error("dataplane-refused-table", {{"policy", snapshot.policy.name}, {"why", applied.error()}});
    return false;
  }
  for (const auto& note : snapshot.compiled.notes) log_.warning("compile-note", {{"note", note.to_string()}});
  // What this host leaves out of the policy's offers, once per policy applied (not on a
  // recompile for new addresses, nor per negotiation).
  if (state_.current()->policy != snapshot.policy || state_.current()->origin != snapshot.origin) {
    for (const auto& skipped : snapshot.offers.skipped) {
      log_.warning("offer-skipped", {{"policy", snapshot.policy.name}, {"object", skipped.object}, {"offer", skipped.text}});
    }
    for (const auto& closed : snapshot.offers.fail_closed) {
      log_.warning("rule-fails-closed", {{"policy", snapshot.policy.name}, {"rule", closed.rule_name}, {"why", closed.reason}});
    }
  }
  log_.info("table-installed", {{"origin", std::string(name_of(snapshot.origin))},
                                {"policy", snapshot.policy.name},
                                {"filters", std::to_string(snapshot.translation.table.filters.size())},
                                {"addresses", addresses_text(snapshot.addresses)}});
  state_.publish(std::make_shared<const Snapshot>(std::move(snapshot)));
  return true;
}

std::string PolicyUpdater::what_is_kept() const {
  const auto current = state_.current();
  switch (current->origin) {
    case PolicyOrigin::Source:
    case PolicyOrigin::Cache: return "keeping policy " + in_quotes(current->policy.name);
    case PolicyOrigin::Boot: return "keeping the boot policy: everything is blocked but what is needed to get a policy";
    case PolicyOrigin::None: break;
  }
  return "no IPsec policy is enforced: all traffic passes in clear";
}

UpdateOutcome PolicyUpdater::start() {
  std::lock_guard lock(mutex_);
  return start_locked();
}

UpdateOutcome PolicyUpdater::start_locked() {
  if (started_) return {false, false, "already started"};
  started_ = true;
  auto cached = cache_.with([](cache::Cache& c) { return c.load_policy(); });
  if (!cached) log_.error("cache-unreadable", {{"why", cached.error().message}});
  if (cached && *cached) {
    Snapshot snapshot;
    snapshot.origin = PolicyOrigin::Cache;
    snapshot.policy = std::move((*cached)->policy);
    snapshot.source = std::move((*cached)->source);
    snapshot.source_description = "cache";
    snapshot.fetched_at = (*cached)->fetched_at;
    snapshot.addresses = addresses_;
    const std::string name = snapshot.policy.name;
    if (install(std::move(snapshot))) {
      const std::string message = "using the cached policy " + in_quotes(name) + " until the source answers";
      record(cache::EventKind::CacheUsed, message);
      log_.warning("cache-used", {{"policy", name}});
      return {true, false, message};
    }
  }
  if (boot_) {
    Snapshot boot;
    boot.origin = PolicyOrigin::Boot;
    boot.policy = *boot_;
    boot.source_description = "boot policy ([policy] boot_mode = block)";
    boot.fetched_at = clock_.now();
    boot.addresses = addresses_;
    if (install(std::move(boot))) {
      const std::string message = "no cached policy: the boot policy blocks everything but what is needed to get a policy";
      record(cache::EventKind::BootPolicy, message);
      log_.error("boot-policy", {{"message", message}});
      return {true, false, message};
    }
  }
  Snapshot none;
  none.addresses = addresses_;
  const bool installed = install(std::move(none));
  log_.error("no-policy", {{"message", "no IPsec policy: no filters installed, all traffic passes in clear"}});
  return {installed, false, "no IPsec policy is enforced: all traffic passes in clear"};
}

void PolicyUpdater::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
}

UpdateOutcome PolicyUpdater::fail(cache::EventKind kind, const std::string& why) {
  const std::string what_now = what_is_kept();
  const std::string reason = why + "; " + what_now;
  record(kind, reason);
  log_.warning(cache::name_of(kind), {{"why", why}, {"result", what_now}});
  return {false, true, reason};
}

UpdateOutcome PolicyUpdater::refresh(std::string_view trigger) {
  std::lock_guard serial(refresh_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return {false, true, "stopping"};
    if (!started_) (void)start_locked();
  }
  log_.info("policy-refresh", {{"trigger", std::string(trigger)}});
  if (source_ == nullptr) {
    std::lock_guard lock(mutex_);
    return fail(cache::EventKind::DirectoryUnreachable, "no policy source is configured");
  }
  const std::string from = source_->describe();
  auto fetched = source_->fetch();  // may take long: no install lock held
  std::lock_guard lock(mutex_);
  if (stopped_) return {false, true, "stopping"};
  return decide(from, std::move(fetched));
}

UpdateOutcome PolicyUpdater::decide(const std::string& from, Expected<FetchedPolicy, FetchError> fetched) {
  if (!fetched) {
    const auto& error = fetched.error();
    if (error.kind == FetchError::Kind::NotAssigned) return none_assigned(from, error.message, error.report);
    if (error.kind == FetchError::Kind::Unavailable) {
      return fail(cache::EventKind::DirectoryUnreachable, from + " unavailable: " + error.message);
    }
    std::string why = "policy from " + from + " rejected: " + error.message;
    if (const auto details = problems_text(error.problems); !details.empty()) why += ": " + details;
    return fail(cache::EventKind::PolicyRejected, why);
  }
  const auto problems = model::validate(fetched->policy);
  if (model::has_errors(problems)) {
    return fail(cache::EventKind::PolicyRejected,
                "policy " + in_quotes(fetched->policy.name) + " from " + from + " rejected: " + problems_text(problems));
  }
  for (const auto& problem : problems) log_.warning("policy-warning", {{"problem", problem.to_string()}});

  const auto current = state_.current();
  if (current->origin == PolicyOrigin::Source && current->policy == fetched->policy && current->source == fetched->source) {
    if (!(current->scope == fetched->report)) {  // same policy, new explanation (e.g. another GPO filtered out)
      Snapshot same = *current;
      same.scope = std::move(fetched->report);
      state_.publish(std::make_shared<const Snapshot>(std::move(same)));
    }
    return {false, false, "policy " + in_quotes(current->policy.name) + " unchanged"};
  }
  auto stored = cache_.with([&](cache::Cache& c) { return c.store_if_valid(fetched->policy, fetched->source); });
  if (!stored) log_.error("cache-store-failed", {{"why", stored.error().message}});

  Snapshot snapshot;
  snapshot.origin = PolicyOrigin::Source;
  snapshot.policy = std::move(fetched->policy);
  snapshot.source = std::move(fetched->source);
  snapshot.source_description = from;
  snapshot.fetched_at = clock_.now();
  snapshot.addresses = addresses_;
  snapshot.scope = std::move(fetched->report);
  const std::string name = snapshot.policy.name;
  if (!install(std::move(snapshot))) {
    return fail(cache::EventKind::PolicyRejected, "policy " + in_quotes(name) + " from " + from + ": the dataplane refused its table");
  }
  const std::string message = "policy " + in_quotes(name) + " from " + from + " applied";
  record(cache::EventKind::PolicyApplied, message);
  log_.info("policy-applied", {{"policy", name}, {"source", from}});
  return {true, false, message};
}

UpdateOutcome PolicyUpdater::none_assigned(const std::string& from, const std::string& why, const ScopeReport& report) {
  const std::string description = from + ": no IPsec policy assigned";
  const auto current = state_.current();
  if (current->origin == PolicyOrigin::None && current->source_description == description && current->scope == report) {
    return {false, false, "no IPsec policy assigned (unchanged)"};
  }
  // As Windows does when the assignment goes: the cached domain policy goes too, so that a
  // restart without the directory does not bring back a policy that is no longer assigned.
  if (auto cleared = cache_.with([](cache::Cache& c) { return c.clear_policy(); }); !cleared) {
    log_.error("cache-clear-failed", {{"why", cleared.error().message}});
  }
  Snapshot none;
  none.source_description = description;
  none.fetched_at = clock_.now();
  none.addresses = addresses_;
  none.scope = report;
  if (!install(std::move(none))) return {false, true, why + "; the dataplane refused the empty table"};
  const std::string message = why + "; no IPsec policy is enforced: all traffic passes in clear";
  record(cache::EventKind::PolicyApplied, message);
  log_.warning("no-policy-assigned", {{"source", from}, {"why", why}});
  return {true, false, message};
}

UpdateOutcome PolicyUpdater::readdress(std::vector<IpAddress> addresses) {
  std::lock_guard lock(mutex_);
  if (stopped_) return {false, true, "stopping"};
  log_.info("addresses-changed", {{"old", addresses_text(addresses_)}, {"new", addresses_text(addresses)}});
  addresses_ = std::move(addresses);
  Snapshot snapshot = *state_.current();
  snapshot.addresses = addresses_;
  if (!install(std::move(snapshot))) return {false, true, "the dataplane refused the recompiled table"};
  return {true, false, "recompiled for " + addresses_text(addresses_)};
}

}  // namespace ward::agent::daemon
