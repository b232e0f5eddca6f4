#include "agent/daemon/change_watcher.h"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "directory/gpo/dn.h"
#include "directory/gpo/reader.h"

namespace ward::agent::daemon {

ldap::SyncWatchRequest policy_watch_request(const std::string& domain_dn, const std::string& computer_dn,
                                            const std::string& computer_account) {
  std::string filter = "(|";
  // The policy graph; ipsecPolicy also covers the GPOs' CN=IPSEC assignment objects.
  for (const char* object_class : {"ipsecPolicy", "ipsecISAKMPPolicy", "ipsecNFA", "ipsecFilter",
                                   "ipsecNegotiationPolicy", "groupPolicyContainer", "organizationalUnit",
                                   "domain", "domainDNS", "site", "subnet"}) {
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

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with_dn(const std::string& dn, const std::string& suffix) {
  const std::string a = gpo::normalize_dn(dn);
  const std::string b = gpo::normalize_dn(suffix);
  return a.size() > b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0 && a[a.size() - b.size() - 1] == ',';
}

}  // namespace

bool is_policy_change(const ldap::Entry& entry, const WatchScope& scope) {
  const auto* classes = entry.values("objectClass");
  if (classes == nullptr || classes->empty()) {
    return ends_with_dn(entry.dn, "CN=IP Security,CN=System," + scope.domain_dn) ||
           ends_with_dn(entry.dn, "CN=Policies,CN=System," + scope.domain_dn);
  }
  static const std::set<std::string> kRelevant = {
      "ipsecpolicy", "ipsecisakmppolicy", "ipsecnfa", "ipsecfilter", "ipsecnegotiationpolicy", "grouppolicycontainer",
      "organizationalunit", "domain", "domaindns", "site", "subnet"};
  bool computer = false;
  for (const auto& value : *classes) {
    const std::string name = lower(value);
    if (kRelevant.contains(name)) return true;
    computer = computer || name == "computer";
  }
  if (!computer) return false;
  if (!scope.computer_dn.empty() && gpo::normalize_dn(entry.dn) == gpo::normalize_dn(scope.computer_dn)) return true;
  if (scope.computer_account.empty()) return false;
  std::string account = scope.computer_account;
  if (account.back() != '$') account += '$';
  const auto name = entry.first("sAMAccountName");
  return name && lower(*name) == lower(account);
}

ldap::NotifyWatchRequest policy_notify_request(const WatchScope& scope, const std::string& configuration_dn) {
  ldap::NotifyWatchRequest request;
  request.watches.push_back({scope.domain_dn, ldap::Scope::kSubtree});
  if (!configuration_dn.empty()) request.watches.push_back({configuration_dn, ldap::Scope::kSubtree});
  request.attributes = {"objectClass", "sAMAccountName"};
  return request;
}

ChangeWatcher::ChangeWatcher(ChangeWatchSettings settings, Logger& log, Trigger trigger)
    : settings_(std::move(settings)), log_(log), trigger_(std::move(trigger)), thread_([this] { run(); }) {}

void ChangeWatcher::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

ChangeWatcher::~ChangeWatcher() {
  request_stop();
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
  std::chrono::milliseconds spread{0};
  if (settings_.jitter.count() > 0) {
    spread = std::chrono::milliseconds(std::uniform_int_distribution<long>(0, settings_.jitter.count())(random_));
  }
  due_ = std::chrono::steady_clock::now() + settings_.debounce + spread;
}

void ChangeWatcher::consider(const ldap::SyncOutcome& outcome) {
  if (outcome.unknown) {
    ++counters_.changes;
    log_.debug("directory-change", {{"dn", "(unknown: the server could not say which entries changed)"}});
    schedule("directory-change");
  }
  for (const auto& dn : outcome.changed_dns) {
    if (settings_.affects && !settings_.affects(dn)) {
      ++counters_.ignored;
      log_.debug("directory-change-ignored", {{"dn", dn}});
      continue;
    }
    ++counters_.changes;
    log_.debug("directory-change", {{"dn", dn}});
    if (settings_.on_change) settings_.on_change(dn);
    schedule("directory-change");
  }
}

void ChangeWatcher::fire(std::string_view reason) {
  pending_ = false;
  ++counters_.refreshes;
  if (trigger_(reason)) {
    retry_delay_ = std::chrono::milliseconds(0);
    return;
  }
  // The directory could not be read: try again, so that the change is not missed.
  retry_delay_ = retry_delay_.count() == 0 ? settings_.min_backoff : std::min(retry_delay_ * 2, settings_.max_backoff);
  ++counters_.retries;
  pending_ = true;
  pending_reason_ = "directory-retry";
  due_ = std::chrono::steady_clock::now() + retry_delay_;
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
  auto shared = settings_.shared ? settings_.shared : std::make_shared<ldap::SharedSession>(settings_.session);
  bool reconnecting = false;  // the last watch was lost: try the other servers before saying so
  while (!stopping_) {
    auto acquired = shared->acquire();
    if (!acquired) {
      log_.warning("change-watch-connect-failed",
                   {{"why", acquired.error().to_string()}, {"retry_in_ms", std::to_string(backoff.count())}});
      // Say now whether the directory is still there (the refresh logs and records the outcome).
      if (reconnecting) fire("directory-watch-lost");
      reconnecting = false;
      if (!wait_and_grow()) break;
      continue;
    }
    reconnecting = false;
    const auto session = acquired->session;
    auto root = session->root_dse();
    if (!root) {
      log_.warning("change-watch-connect-failed",
                   {{"why", root.error().to_string()}, {"retry_in_ms", std::to_string(backoff.count())}});
      shared->discard(session);
      if (!wait_and_grow()) break;
      continue;
    }
    const auto traits = ldap::traits_of(*root);
    if (traits.notification == ldap::ChangeNotification::kNone) {
      log_.warning("change-notification-unavailable",
                   {{"uri", session->uri()},
                    {"directory", std::string(ldap::directory_kind_name(traits.kind))},
                    {"message", "the server offers neither syncrepl (RFC 4533) nor AD change notification; polling only"},
                    {"retry_in_ms", std::to_string(settings_.no_notification_retry.count())}});
      if (!sleep(settings_.no_notification_retry)) break;
      continue;
    }
    if (traits.notification == ldap::ChangeNotification::kAdNotification) {
      // AD's notification searches block their connection: they get one of their own.
      auto own = ldap::Session::connect(shared->options());
      if (!own) {
        log_.warning("change-watch-connect-failed",
                     {{"why", own.error().to_string()}, {"retry_in_ms", std::to_string(backoff.count())}});
        if (!wait_and_grow()) break;
        continue;
      }
      if (!watch_ad(**own, backoff)) break;
      fire("directory-watch-lost");
      if (!wait_and_grow()) break;
      continue;
    }
    if (!watch_sync(session, backoff)) break;
    ++counters_.connections_lost;
    shared->discard(session);
    reconnecting = true;  // soon: another provider may be there, and the cookie resumes on it
    if (settings_.reconnect_jitter.count() > 0) {
      const auto pause = std::chrono::milliseconds(
          std::uniform_int_distribution<long>(0, settings_.reconnect_jitter.count())(random_));
      if (!sleep(pause)) break;
    }
  }
}

bool ChangeWatcher::watch_sync(const std::shared_ptr<ldap::Session>& session, std::chrono::milliseconds& backoff) {
  sync_.begin();
  const bool resuming = !sync_.cookie().empty();
  auto started = session->start_sync(settings_.request, sync_.cookie());
  if (!started) {
    log_.warning("change-watch-lost", {{"uri", session->uri()}, {"why", started.error().to_string()}});
    return !stopping_;
  }
  const int msgid = *started;
  for (;;) {
    if (stopping_) {
      session->abandon(msgid);
      return false;
    }
    auto polled = session->poll_sync(msgid);
    if (!polled) {
      if (polled.error().result_code == ldap::kSyncRefreshRequired) {
        log_.info("change-watch-cookie-refused", {{"uri", session->uri()}, {"why", polled.error().to_string()}});
        sync_.forget_cookie();
        return watch_sync(session, backoff);  // again, without a cookie: a full refresh
      }
      log_.warning("change-watch-lost", {{"uri", session->uri()}, {"why", polled.error().to_string()}});
      return !stopping_;
    }
    const auto outcome = sync_.apply(polled->messages);
    if (outcome.refresh_done) {
      backoff = settings_.min_backoff;
      const bool first = counters_.established == 0;
      ++counters_.established;
      if (resuming) ++counters_.resumed;
      log_.info("change-watch-established", {{"uri", session->uri()},
                                             {"base", settings_.request.base},
                                             {"resumed", resuming ? "yes" : "no"},
                                             {"entries", std::to_string(sync_.known_entries())}});
      if (first) schedule("directory-watch-established");
    }
    consider(outcome);
    fire_if_due();
    if (polled->more) continue;
    const int fd = session->descriptor();
    auto wait = settings_.request.poll_interval;
    if (pending_) {
      const auto until_due = std::chrono::duration_cast<std::chrono::milliseconds>(due_ - std::chrono::steady_clock::now());
      wait = std::max(std::chrono::milliseconds(1), std::min(wait, until_due));
    }
    if (fd >= 0 && !polled->busy) {
      pollfd readable{fd, POLLIN, 0};
      ::poll(&readable, 1, static_cast<int>(wait.count()));
    } else {
      sleep(wait);
    }
  }
}

bool ChangeWatcher::watch_ad(ldap::Session& session, std::chrono::milliseconds& backoff) {
  auto root = session.root_dse();
  const std::string configuration = root ? root->configuration_naming_context : std::string();
  const auto request = policy_notify_request(settings_.scope, configuration);
  const auto on_change = [&](const ldap::Entry& entry) {
    if (!is_policy_change(entry, settings_.scope)) return;
    ++counters_.changes;
    log_.debug("directory-change", {{"dn", entry.dn}});
    if (settings_.on_change) settings_.on_change(entry.dn);
    schedule("directory-change");
  };
  const auto on_established = [&] {
    backoff = settings_.min_backoff;
    ++counters_.established;
    log_.info("change-watch-established", {{"uri", session.uri()},
                                           {"base", settings_.scope.domain_dn},
                                           {"notification", std::string(ldap::name_of(ldap::ChangeNotification::kAdNotification))},
                                           {"searches", std::to_string(request.watches.size())}});
    schedule("directory-watch-established");
  };
  const auto keep_going = [&] {
    fire_if_due();
    return !stopping_.load();
  };
  auto watched = session.notify_persist(request, on_change, on_established, keep_going);
  if (watched || stopping_) return false;
  ++counters_.connections_lost;
  log_.warning("change-watch-lost", {{"uri", session.uri()},
                                     {"why", watched.error().to_string()},
                                     {"retry_in_ms", std::to_string(backoff.count())}});
  return true;
}

}  // namespace ward::agent::daemon
