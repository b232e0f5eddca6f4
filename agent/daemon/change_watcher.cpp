#include "agent/daemon/change_watcher.h"

#include <algorithm>

#include "directory/gpo/dn.h"
#include "directory/gpo/reader.h"

namespace ward::agent::daemon {

ldap::SyncWatchRequest policy_watch_request(const std::string& domain_dn, const std::string& computer_dn,
                                            const std::string& computer_account) {
  std::string filter = "(|";
  // The policy graph; ipsecPolicy also covers the GPOs' CN=IPSEC assignment objects.
  for (const char* object_class : {"ipsecPolicy", "ipsecISAKMPPolicy", "ipsecNFA", "ipsecFilter",
                                   "ipsecNegotiationPolicy", "groupPolicyContainer", "organizationalUnit",
                                   "domain", "domainDNS", "site"}) {
    filter += std::string("(objectClass=") + object_class + ")";
  }
  if (!computer_dn.empty()) {
    if (const auto rdns = gpo::split_dn(computer_dn); rdns && !rdns->empty()) {
      filter += "(&(objectClass=computer)(cn=" + gpo::escape_filter_value(gpo::rdn_value(rdns->front())) + "))";
    }
  }
  if (!computer_account.empty()) {
    std::string account = computer_account;
    if (account.back() != '$') account += '$';
    filter += "(&(objectClass=computer)(sAMAccountName=" + gpo::escape_filter_value(account) + "))";
  }
  filter += ")";
  ldap::SyncWatchRequest request;
  request.base = domain_dn;
  request.scope = ldap::Scope::kSubtree;
  request.filter = std::move(filter);
  return request;
}

ChangeWatcher::ChangeWatcher(ChangeWatchSettings settings, Logger& log, Trigger trigger)
    : settings_(std::move(settings)), log_(log), trigger_(std::move(trigger)), thread_([this] { run(); }) {}

ChangeWatcher::~ChangeWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ChangeWatcher::sleep(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, duration, [this] { return stopping_.load(); });
  return !stopping_;
}

void ChangeWatcher::schedule(std::string_view reason) {
  if (pending_) return;  // the burst's first event decides when; later ones ride along
  pending_ = true;
  pending_reason_ = reason;
  due_ = std::chrono::steady_clock::now() + settings_.debounce;
}

void ChangeWatcher::fire(std::string_view reason) {
  pending_ = false;
  ++counters_.refreshes;
  trigger_(reason);
}

void ChangeWatcher::fire_if_due() {
  if (pending_ && std::chrono::steady_clock::now() >= due_) fire(pending_reason_);
}

void ChangeWatcher::run() {
  auto backoff = settings_.min_backoff;
  const auto wait_and_grow = [&] {
    const bool go_on = sleep(backoff);
    backoff = std::min(backoff * 2, settings_.max_backoff);
    return go_on;
  };
  while (!stopping_) {
    auto session = ldap::Session::connect(settings_.session);
    if (!session) {
      log_.warning("change-watch-connect-failed",
                   {{"why", session.error().to_string()}, {"retry_in_ms", std::to_string(backoff.count())}});
      if (!wait_and_grow()) break;
      continue;
    }
    ldap::Session& s = **session;
    auto offered = s.supports_control(ldap::kSyncRequestControlOid);
    if (!offered || !*offered) {
      if (!offered) {
        log_.warning("change-watch-connect-failed",
                     {{"why", offered.error().to_string()}, {"retry_in_ms", std::to_string(backoff.count())}});
        if (!wait_and_grow()) break;
      } else {
        log_.warning("change-notification-unavailable",
                     {{"uri", s.uri()},
                      {"message", "the server offers no syncrepl (RFC 4533) change notification; polling only"},
                      {"retry_in_ms", std::to_string(settings_.max_backoff.count())}});
        if (!sleep(settings_.max_backoff)) break;
      }
      continue;
    }
    const auto on_event = [&](ldap::SyncEvent event, std::string_view dn) {
      if (event == ldap::SyncEvent::kRefreshDone) {
        backoff = settings_.min_backoff;
        ++counters_.established;
        log_.info("change-watch-established", {{"uri", s.uri()}, {"base", settings_.request.base}});
        schedule("directory-watch-established");
        return;
      }
      ++counters_.changes;
      log_.debug("directory-change", {{"dn", std::string(dn)}});
      schedule("directory-change");
    };
    const auto keep_going = [&] {
      fire_if_due();
      return !stopping_.load();
    };
    auto watched = s.sync_persist(settings_.request, on_event, keep_going);
    if (watched || stopping_) break;
    ++counters_.connections_lost;
    log_.warning("change-watch-lost", {{"uri", s.uri()},
                                       {"why", watched.error().to_string()},
                                       {"retry_in_ms", std::to_string(backoff.count())}});
    // Say now whether the directory is still there (the refresh logs and records the outcome).
    fire("directory-watch-lost");
    if (!wait_and_grow()) break;
  }
}

}  // namespace ward::agent::daemon
