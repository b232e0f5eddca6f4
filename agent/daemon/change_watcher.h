// Change notification from the directory: a thread that keeps one RFC 4533 refreshAndPersist sync
// search open over what decides this host's policy (the IPsec objects, the GPO containers and
// their IPSEC assignments, the domain, OUs, sites and subnets, and this computer's object), on
// the connection the policy fetches use (SharedSession: no second connection or bind), and asks
// wardd to refresh when a change can affect this host, after a debounce plus a random delay
// (jitter) so that a fleet's refetches spread out instead of arriving at the providers at once.
//
//  - Targeted: every change arrives with its DN (SyncWatchState resolves moves and deletions);
//    `affects` (DirectorySource::affected_by: what the last fetch read) says whether it counts.
//    Changes that cannot affect the host are counted (ignored) and cause no fetch at all.
//  - The sync cookie is kept across reconnects: a watch that lost its server (a provider killed)
//    reconnects at once to the next URI (multi-provider failover) and resumes from the cookie,
//    told only what changed meanwhile. A cookie the server refuses starts a full refresh (and a
//    refetch, since what changed is unknown).
//  - The first establishment triggers one refresh (changes between the start-up fetch and the
//    watch); later ones do not.
//  - No server reachable: one refresh at once (which then says "directory unreachable, keeping
//    ..."), then reconnects with exponential back-off, walking the URI list each time.
//  - Active Directory (no syncrepl; its root DSE offers LDAP_SERVER_NOTIFICATION_OID): a subtree
//    notification search at the domain's head and, for sites and subnets, one at the
//    configuration naming context's (AD's rules: filter (objectClass=*), subtree only at a
//    naming context's head, at most 5 per connection); each changed entry is filtered here
//    (is_policy_change) and a relevant one triggers a refresh, as with syncrepl.
//  - A server that offers neither (an OpenLDAP without syncprov): logged once per connection
//    (change-notification-unavailable); wardd then relies on polling alone, and the watcher asks
//    again after kNoNotificationRetry (another server may offer it).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "agent/config/config.h"
#include "agent/daemon/log.h"
#include "directory/ldap/session.h"
#include "directory/ldap/shared_session.h"
#include "directory/ldap/sync_state.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::milliseconds kChangeDebounce{500};
// Each refresh is delayed by a further uniform random 0..kChangeJitter: 1,000 hosts affected by
// one edit spread their fetches over two seconds, and all are done well inside five.
inline constexpr std::chrono::milliseconds kChangeJitter{2000};
inline constexpr std::chrono::milliseconds kWatchMinBackoff{1000};
inline constexpr std::chrono::milliseconds kWatchMaxBackoff{60000};
// With no change notification at all, how long before a new connection asks again.
inline constexpr std::chrono::milliseconds kNoNotificationRetry{30 * 60 * 1000};

// What decides this host's policy, for filtering AD's notifications on the client.
struct WatchScope {
  std::string domain_dn;
  std::string computer_dn;       // or empty
  std::string computer_account;  // sAMAccountName, or empty
};

// Whether a changed entry (with its objectClass and sAMAccountName, when readable) can change this
// host's policy: an IPsec object, a GPO container, an OU, the domain, a site or subnet, or this
// computer. An entry whose classes cannot be read counts when it lies in CN=IP Security or
// CN=Policies (an unreadable policy object still changed).
bool is_policy_change(const ldap::Entry& entry, const WatchScope& scope);

// AD's notification searches for `scope`: the domain's head, and the configuration naming context
// (sites, subnets) when known.
ldap::NotifyWatchRequest policy_notify_request(const WatchScope& scope, const std::string& configuration_dn);

struct ChangeWatchSettings {
  ldap::SessionOptions session;
  ldap::SyncWatchRequest request;
  WatchScope scope;
  std::chrono::milliseconds no_notification_retry = kNoNotificationRetry;
  std::chrono::milliseconds debounce = kChangeDebounce;
  std::chrono::milliseconds jitter = kChangeJitter;
  // A lost watch reconnects after a random 0..reconnect_jitter (a killed provider's watchers do
  // not all reach the next one in the same instant).
  std::chrono::milliseconds reconnect_jitter{1000};
  // The connection shared with the policy fetches (null: the watcher makes its own).
  std::shared_ptr<ldap::SharedSession> shared;
  // Whether a change of this DN can affect the host (null: every change does).
  std::function<bool(std::string_view dn)> affects;
  // Each change that counts, before the refresh it schedules (on the watcher's thread; the fetch
  // process sends these DNs to wardd with the refresh request).
  std::function<void(std::string_view dn)> on_change;
  std::chrono::milliseconds min_backoff = kWatchMinBackoff;
  std::chrono::milliseconds max_backoff = kWatchMaxBackoff;
};

// The sync search over `domain_dn` that covers everything scoping and the policy read depend on,
// plus the computer object (by its DN's CN or by sAMAccountName).
ldap::SyncWatchRequest policy_watch_request(const std::string& domain_dn, const std::string& computer_dn,
                                            const std::string& computer_account);

struct WatchCounters {
  std::atomic<std::uint64_t> established{0};     // sync searches that finished their refresh phase
  std::atomic<std::uint64_t> changes{0};         // changed entries that can affect this host
  std::atomic<std::uint64_t> ignored{0};         // changed entries that cannot
  std::atomic<std::uint64_t> resumed{0};         // sync searches resumed from a cookie
  std::atomic<std::uint64_t> refreshes{0};       // refreshes triggered
  std::atomic<std::uint64_t> connections_lost{0};
  std::atomic<std::uint64_t> retries{0};         // refreshes retried after the directory was unavailable
};

class ChangeWatcher {
 public:
  // Returns false when the directory could not be read: the refresh is then retried (after 1 s,
  // doubling to the maximum back-off) until one succeeds, so that a change is not missed
  // because its refetch met a provider going down.
  using Trigger = std::function<bool(std::string_view reason)>;

  // Starts the thread. `trigger` runs on it (PolicyUpdater::refresh is thread-safe).
  ChangeWatcher(ChangeWatchSettings settings, Logger& log, Trigger trigger);
  ~ChangeWatcher();  // stops and joins
  // Asks the thread to stop without waiting for it (many watchers stop in parallel, then join).
  void request_stop();
  ChangeWatcher(const ChangeWatcher&) = delete;
  ChangeWatcher& operator=(const ChangeWatcher&) = delete;

  const WatchCounters& counters() const { return counters_; }

 private:
  void run();
  // One connection's watch; false when stopping. `backoff` is reset once a watch is established.
  bool watch_ad(ldap::Session& session, std::chrono::milliseconds& backoff);
  // One sync search on `session` until it ends: true when the connection was lost (reconnect),
  // false when stopping.
  bool watch_sync(const std::shared_ptr<ldap::Session>& session, std::chrono::milliseconds& backoff);
  // Counts `outcome`'s changes and schedules a refresh for those that can affect this host.
  void consider(const ldap::SyncOutcome& outcome);
  void schedule(std::string_view reason);
  void fire_if_due();
  void fire(std::string_view reason);
  // Sleeps up to `duration`; false when stopping.
  bool sleep(std::chrono::milliseconds duration);

  ChangeWatchSettings settings_;
  Logger& log_;
  Trigger trigger_;
  WatchCounters counters_;
  // Debounce state: only the watcher thread touches it.
  bool pending_ = false;
  std::string pending_reason_;
  std::chrono::steady_clock::time_point due_{};
  std::chrono::milliseconds retry_delay_{0};  // grows while refreshes find the directory unavailable
  ldap::SyncWatchState sync_;  // cookie and entry map, kept across reconnects
  std::minstd_rand random_{std::random_device{}()};

  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;  // last: started when everything above exists
};

}  // namespace ward::agent::daemon
