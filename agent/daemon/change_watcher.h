// Change notification from the directory: a thread that keeps one RFC 4533 refreshAndPersist sync
// search open over what decides this host's policy (the IPsec objects, the GPO containers and
// their IPSEC assignments, the domain, OUs and sites, and this computer's object) and asks wardd to
// refresh when any of it changes, debounced (a burst of writes by ward-dir is one refresh).
//
//  - Established (and after every reconnect) it triggers one refresh: changes made while it was
//    not watching are picked up then.
//  - Connection lost: one refresh at once (which then says "directory unreachable, keeping ..."),
//    then reconnects with exponential back-off, walking the URI list each time (failover).
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
#include <string>
#include <string_view>
#include <thread>

#include "agent/config/config.h"
#include "agent/daemon/log.h"
#include "directory/ldap/session.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::milliseconds kChangeDebounce{500};
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
  std::chrono::milliseconds min_backoff = kWatchMinBackoff;
  std::chrono::milliseconds max_backoff = kWatchMaxBackoff;
};

// The sync search over `domain_dn` that covers everything scoping and the policy read depend on,
// plus the computer object (by its DN's CN or by sAMAccountName).
ldap::SyncWatchRequest policy_watch_request(const std::string& domain_dn, const std::string& computer_dn,
                                            const std::string& computer_account);

struct WatchCounters {
  std::atomic<std::uint64_t> established{0};     // sync searches that finished their refresh phase
  std::atomic<std::uint64_t> changes{0};         // change notifications received
  std::atomic<std::uint64_t> refreshes{0};       // refreshes triggered
  std::atomic<std::uint64_t> connections_lost{0};
};

class ChangeWatcher {
 public:
  using Trigger = std::function<void(std::string_view reason)>;

  // Starts the thread. `trigger` runs on it (PolicyUpdater::refresh is thread-safe).
  ChangeWatcher(ChangeWatchSettings settings, Logger& log, Trigger trigger);
  ~ChangeWatcher();  // stops and joins
  ChangeWatcher(const ChangeWatcher&) = delete;
  ChangeWatcher& operator=(const ChangeWatcher&) = delete;

  const WatchCounters& counters() const { return counters_; }

 private:
  void run();
  // One connection's watch; false when stopping. `backoff` is reset once a watch is established.
  bool watch_ad(ldap::Session& session, std::chrono::milliseconds& backoff);
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

  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;  // last: started when everything above exists
};

}  // namespace ward::agent::daemon
