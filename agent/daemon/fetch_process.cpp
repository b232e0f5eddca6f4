#include "agent/daemon/fetch_process.h"

#include <signal.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "directory/ldap/kerberos_client.h"
#include "directory/model/policy_json.h"

namespace ward::agent::daemon {
namespace {

using namespace fetchproc;

// The events a DirectorySource and a ChangeWatcher log: the child's are logged under their own names.
constexpr std::array<std::string_view, 9> kChildEvents = {
    "directory-fetch",          "directory-failover",         "gpo-not-applied",
    "no-change-stamp",          "change-watch-established",   "change-watch-lost",
    "change-watch-connect-failed", "change-watch-cookie-refused", "change-notification-unavailable"};
constexpr int kOperationsPerFetch = 12;

FetchError unavailable(std::string message) { return FetchError{FetchError::Kind::Unavailable, std::move(message), {}, {}}; }

FetchConfig config_of(const DirectorySourceSettings& settings) {
  FetchConfig config;
  config.uris = settings.session.uris;
  config.start_tls = settings.session.tls == ldap::TlsMode::kStartTls;
  config.ca_file = settings.session.ca_file;
  if (const auto* simple = std::get_if<ldap::SimpleBind>(&settings.session.bind)) {
    config.bind = BindKind::Simple;
    config.bind_dn = simple->dn;
    const auto password = simple->password.reveal();
    config.password = driver::crypto::SecureBytes(std::as_bytes(std::span(password.data(), password.size())));
  } else if (const auto* gssapi = std::get_if<ldap::GssapiBind>(&settings.session.bind)) {
    config.bind = BindKind::Gssapi;
    config.principal = gssapi->client_principal;
  }
  config.domain_dn = settings.domain_dn;
  config.computer_dn = settings.computer_dn;
  config.computer_account = settings.computer_account;
  config.site_dn = settings.site_dn;
  config.network_timeout = settings.session.network_timeout;
  config.operation_timeout = settings.session.operation_timeout;
  return config;
}

std::string_view name_of(WatchReason reason) {
  switch (reason) {
    case WatchReason::Change: return "directory-change";
    case WatchReason::Established: return "directory-watch-established";
    case WatchReason::Lost: return "directory-watch-lost";
    case WatchReason::Retry: return "directory-retry";
  }
  return "directory-change";
}

bool timed_out(const std::string& why) { return why.find("no reply to message type") != std::string::npos; }   // Endpoint::call

std::string name_of(Outcome outcome) {
  switch (outcome) {
    case Outcome::Policy: return "policy";
    case Outcome::Unavailable: return "unavailable";
    case Outcome::Invalid: return "invalid";
    case Outcome::NotAssigned: return "not-assigned";
  }
  return "?";
}

}  // namespace

std::chrono::milliseconds fetch_hang_limit(const DirectorySourceSettings& settings) {
  const auto uris = static_cast<std::int64_t>(std::max<std::size_t>(settings.session.uris.size(), 1));
  // Twice over: DirectorySource retries once on a new connection when a kept one broke.
  return 2 * (uris * settings.session.network_timeout + kOperationsPerFetch * settings.session.operation_timeout);
}

FetchProcess::FetchProcess(DirectorySourceSettings settings, FetchProcessOptions options, Logger& log)
    : settings_(std::move(settings)), options_(std::move(options)), log_(log), config_(config_of(settings_)) {
  if (options_.hang_limit.count() == 0) options_.hang_limit = fetch_hang_limit(settings_);
  description_ = "directory";
  for (std::size_t i = 0; i < settings_.session.uris.size(); ++i) {
    description_ += (i == 0 ? " " : ", ") + settings_.session.uris[i];
  }
}

FetchProcess::~FetchProcess() { stop(); }

Expected<void, std::string> FetchProcess::start() {
  privsep::ChildSpec spec;
  spec.name = "fetch";
  spec.argv = options_.argv;
  spec.first_delay = options_.first_restart_delay;
  auto supervisor = privsep::Supervisor::start(
      spec, [this](pid_t pid, std::shared_ptr<privsep::Channel> channel) { started(pid, std::move(channel)); },
      [this](pid_t pid, const std::string& how, std::chrono::milliseconds restart_in) { exited(pid, how, restart_in); });
  if (!supervisor) return unexpected(std::move(supervisor.error()));
  supervisor_ = std::move(*supervisor);
  keeper_ = std::thread([this] { keeper(); });
  return {};
}

void FetchProcess::stop() {
  stop_watch();
  {
    const std::lock_guard lock(keeper_mutex_);
    keeper_stopping_ = true;
  }
  keeper_wake_.notify_all();
  if (supervisor_) supervisor_->stop();   // first: a kKeep the keeper waits on fails at once
  if (keeper_.joinable()) keeper_.join();
  std::shared_ptr<privsep::Endpoint> gone;   // destroyed outside the lock: it joins its reader
  {
    const std::lock_guard lock(mutex_);
    gone = std::move(endpoint_);
  }
}

std::shared_ptr<privsep::Endpoint> FetchProcess::endpoint() const {
  const std::lock_guard lock(mutex_);
  return endpoint_;
}

void FetchProcess::started(pid_t pid, std::shared_ptr<privsep::Channel> channel) {
  auto ep = std::make_shared<privsep::Endpoint>(
      channel,
      [this, pid](privsep::Incoming& m) -> Expected<privsep::Body, std::string> {
        if (m.type == fetchproc::kReady && !m.is_call) {
          const std::string said(m.body.begin(), m.body.end());
          if (said != "ok") log_.error("fetch-process-failed", {{"pid", std::to_string(pid)}, {"why", said}});
          return privsep::Body{};
        }
        if ((m.type == kWatchChange || m.type == kWatchLog) && !m.is_call) {
          if (auto taken = watch_note(pid, m); !taken) {
            log_.error("fetch-process-note-refused", {{"pid", std::to_string(pid)}, {"why", taken.error()},
                                                      {"result", "the fetch process is replaced"}});
            kill_child(pid);
          }
          return privsep::Body{};
        }
        return unexpected("wardd answers no message " + std::to_string(m.type) + " of the directory fetcher");
      },
      [](const std::string&) {});
  if (auto sent = ep->notify(kConfigure, ikeproc::encode(config_)); !sent) {
    log_.warning("fetch-process-start", {{"pid", std::to_string(pid)}, {"why", sent.error()}});
  }
  std::shared_ptr<privsep::Endpoint> previous;
  {
    const std::lock_guard lock(mutex_);
    previous = std::exchange(endpoint_, std::move(ep));
  }
  child_pid_ = pid;
  log_.info("fetch-process-started", {{"pid", std::to_string(pid)}, {"user", options_.user}});
  keeper_wake_.notify_all();   // a watching keeper starts the new child's watch
}

void FetchProcess::exited(pid_t pid, const std::string& how, std::chrono::milliseconds restart_in) {
  log_.warning("fetch-process-exited", {{"pid", std::to_string(pid)}, {"how", how},
                                        {"restart_in_ms", std::to_string(restart_in.count())}});
  std::shared_ptr<privsep::Endpoint> gone;
  {
    const std::lock_guard lock(mutex_);
    gone = std::move(endpoint_);
    last_exit_ = "pid " + std::to_string(pid) + " " + how;
  }
  child_pid_ = -1;
  bool watched = false;
  {
    const std::lock_guard lock(keeper_mutex_);
    watched = watching_ && watch_started_for_ == pid;
  }
  if (watched) {
    log_.warning("change-watch-lost", {{"pid", std::to_string(pid)}, {"why", "the fetch process ended (" + how + ")"},
                                       {"result", "polling until the next fetch process's watch is established"}});
  }
  keeper_wake_.notify_all();
}

FetchRequest FetchProcess::request() {
  FetchRequest out;
  out.serial = ++serial_;
  if (!settings_.site_dn && settings_.host_addresses) out.addresses = settings_.host_addresses();
  // A fresh TGT per fetch (one AS exchange; the keeper sends others while the watch runs).
  if (std::holds_alternative<ldap::GssapiBind>(settings_.session.bind)) out.ticket = fresh_ticket(out.ticket_error);
  return out;
}

std::optional<driver::crypto::SecureBytes> FetchProcess::fresh_ticket(std::string& error, std::int64_t* expires) const {
  const auto* gssapi = std::get_if<ldap::GssapiBind>(&settings_.session.bind);
  if (gssapi == nullptr) return std::nullopt;
  if (options_.tgt) {   // the key process reads the keytab
    auto tgt = options_.tgt(gssapi->client_principal);
    if (!tgt) {
      error = "the key process: " + tgt.error();
      return std::nullopt;
    }
    if (expires != nullptr) *expires = tgt->second;
    return std::move(tgt->first);
  }
  if (gssapi->keytab.empty()) {
    error = "no [directory] keytab";
    return std::nullopt;
  }
  auto tgt = ldap::KerberosClientCredentials::acquire(gssapi->keytab, gssapi->client_principal);
  if (!tgt) {
    error = tgt.error().step + ": " + tgt.error().message;
    return std::nullopt;
  }
  auto marshalled = (*tgt)->marshal_initial_ticket();
  if (!marshalled) {
    error = marshalled.error().step + ": " + marshalled.error().message;
    return std::nullopt;
  }
  if (expires != nullptr) {
    auto end = (*tgt)->initial_ticket_end();
    *expires = end ? *end : 0;
  }
  const auto text = marshalled->reveal();
  return driver::crypto::SecureBytes(std::as_bytes(std::span(text.data(), text.size())));
}

void FetchProcess::kill_child(pid_t pid) {
  if (pid > 0 && supervisor_ && supervisor_->pid() == pid) kill(pid, SIGKILL);
}

void FetchProcess::start_watch(WatchTrigger trigger) {
  {
    const std::lock_guard lock(trigger_mutex_);
    trigger_ = std::move(trigger);
  }
  {
    const std::lock_guard lock(keeper_mutex_);
    watching_ = true;
    keep_due_ = ticket_due_ = std::chrono::steady_clock::now();
  }
  keeper_wake_.notify_all();
}

void FetchProcess::stop_watch() {
  {
    const std::lock_guard lock(keeper_mutex_);
    watching_ = false;
    pending_reason_.reset();
  }
  const std::lock_guard lock(trigger_mutex_);   // waits for a trigger call under way
  trigger_ = nullptr;
}

Expected<void, std::string> FetchProcess::watch_note(pid_t pid, privsep::Incoming& m) {
  if (m.type == kWatchLog) {
    auto event = ikeproc::decode<LogEvent>(m.body);
    if (!event) return unexpected(std::move(event.error()));
    {
      const std::lock_guard lock(keeper_mutex_);
      const auto now = std::chrono::steady_clock::now();
      if (now - log_window_ >= std::chrono::minutes(1)) {
        if (logs_dropped_ > 0) {
          log_.warning("fetch-process-events-dropped", {{"pid", std::to_string(pid)}, {"count", std::to_string(logs_dropped_)},
                                                        {"limit_per_minute", std::to_string(kMaxWatchLogsPerMinute)}});
        }
        log_window_ = now;
        logs_in_window_ = 0;
        logs_dropped_ = 0;
      }
      if (++logs_in_window_ > kMaxWatchLogsPerMinute) {
        ++logs_dropped_;
        return {};
      }
    }
    relog(*event);
    return {};
  }
  auto change = ikeproc::decode<WatchChange>(m.body);
  if (!change) return unexpected(std::move(change.error()));
  if (change->dns.size() > kMaxWatchDns) {
    return unexpected("a change note names " + std::to_string(change->dns.size()) + " DNs (at most " + std::to_string(kMaxWatchDns) + ")");
  }
  const auto reason = name_of(change->reason);
  for (const auto& dn : change->dns) log_.debug("directory-change", {{"dn", dn}, {"process", "fetch"}});
  if (change->more_dns > 0) {
    log_.debug("directory-change", {{"more_dns", std::to_string(change->more_dns)}, {"process", "fetch"}});
  }
  log_.debug("fetch-process-watch-change", {{"pid", std::to_string(pid)}, {"reason", std::string(reason)}});
  {
    const std::lock_guard lock(keeper_mutex_);
    if (!watching_) return {};
    if (!pending_reason_) pending_reason_ = std::string(reason);   // one refresh covers the burst
  }
  keeper_wake_.notify_all();
  return {};
}

// kKeep: proof of life and, when `with_ticket`, a fresh TGT (GSSAPI); schedules the next ones.
void FetchProcess::keep(privsep::Endpoint& child, pid_t pid, bool with_ticket) {
  using namespace std::chrono;
  KeepRequest request;
  std::string ticket_error;
  std::int64_t expires = 0;
  const bool gssapi = std::holds_alternative<ldap::GssapiBind>(settings_.session.bind);
  if (with_ticket && gssapi) {
    request.ticket = fresh_ticket(ticket_error, &expires);
    if (!ticket_error.empty()) {
      log_.warning("fetch-process-ticket-failed", {{"pid", std::to_string(pid)}, {"why", ticket_error},
                                                   {"result", "the watch reconnects with the ticket it has"}});
    }
  }
  milliseconds ticket_in{0};
  if (expires > 0) {
    // At half the ticket's remaining life: a watch that reconnects always finds a valid one, and
    // a host asks the KDC about twice per ticket lifetime, not at every liveness check.
    const auto left = seconds(expires) - duration_cast<seconds>(system_clock::now().time_since_epoch());
    ticket_in = std::max(duration_cast<milliseconds>(left / 2), milliseconds(1000));
  } else if (with_ticket && gssapi) {
    ticket_in = milliseconds(30000);   // no ticket this time: try again soon
  }
  {
    const std::lock_guard lock(keeper_mutex_);
    const auto now = steady_clock::now();
    keep_due_ = now + options_.keep_interval;
    if (!gssapi) ticket_due_ = steady_clock::time_point::max();
    if (ticket_in.count() > 0) ticket_due_ = now + ticket_in;
  }
  auto answered = child.call(kKeep, ikeproc::encode(request), options_.hang_limit);
  if (answered) {
    if (request.ticket) log_.debug("fetch-process-ticket", {{"pid", std::to_string(pid)}, {"next_in_ms", std::to_string(ticket_in.count())}});
    return;
  }
  if (!child.open()) return;   // it ended: fetch-process-exited says how
  if (timed_out(answered.error())) {
    log_.error("fetch-process-hung", {{"pid", std::to_string(pid)}, {"limit_ms", std::to_string(options_.hang_limit.count())},
                                      {"result", "killed; a new one is started"}});
    kill_child(pid);
    return;
  }
  log_.warning("fetch-process-keep-failed", {{"pid", std::to_string(pid)}, {"why", answered.error()}});
}

void FetchProcess::keeper() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(keeper_mutex_);
  while (!keeper_stopping_) {
    const auto now = Clock::now();
    if (pending_reason_ && now >= last_trigger_ + kMinWatchTriggerSpacing) {
      const std::string reason = std::move(*pending_reason_);
      pending_reason_.reset();
      last_trigger_ = now;
      lock.unlock();
      {
        const std::lock_guard trigger_lock(trigger_mutex_);
        if (trigger_) trigger_(reason);
      }
      lock.lock();
      continue;
    }
    const pid_t pid = child_pid_.load();
    const auto due = std::min(keep_due_, ticket_due_);
    if (watching_ && pid > 0 && (pid != watch_started_for_ || now >= due)) {
      if (std::shared_ptr<privsep::Endpoint> child = endpoint()) {
        const bool start = pid != watch_started_for_;
        const bool with_ticket = start || now >= ticket_due_;   // a new child has none yet
        watch_started_for_ = pid;
        lock.unlock();
        keep(*child, pid, with_ticket);   // first: the watch binds with this ticket
        if (start) {
          const WatchStart watch{options_.watch_debounce, options_.watch_jitter};
          if (auto sent = child->notify(kWatch, ikeproc::encode(watch)); sent) {
            log_.info("fetch-process-watch", {{"pid", std::to_string(pid)}, {"result", "the change watch runs in the fetch process"}});
          }
        }
        // Released before the lock: the last reference joins the endpoint's reader, which may be
        // waiting for this lock in watch_note().
        child.reset();
        lock.lock();
        continue;
      }
    }
    auto wake = Clock::time_point::max();
    if (pending_reason_) wake = last_trigger_ + kMinWatchTriggerSpacing;
    if (watching_ && pid > 0 && pid == watch_started_for_) wake = std::min(wake, due);
    if (wake == Clock::time_point::max()) {
      keeper_wake_.wait(lock);
    } else {
      keeper_wake_.wait_until(lock, wake);
    }
  }
}

// kFetch, then the answer in parts; every step checked against what was asked.
Expected<FetchAnswer, std::string> FetchProcess::ask(privsep::Endpoint& child, const FetchRequest& request) {
  auto sized = child.call(kFetch, ikeproc::encode(request), options_.hang_limit);
  if (!sized) return unexpected(sized.error());
  auto size = ikeproc::decode<FetchAnswerSize>(*sized);
  if (!size) return unexpected(std::move(size.error()));
  if (size->serial != request.serial) {
    return unexpected("the answer names request " + std::to_string(size->serial) + ", not " + std::to_string(request.serial));
  }
  if (size->size > kMaxAnswerBytes) {
    return unexpected("an answer of " + std::to_string(size->size) + " bytes exceeds the limit of " + std::to_string(kMaxAnswerBytes));
  }
  privsep::Body whole;
  whole.reserve(size->size);
  while (whole.size() < size->size) {
    const AnswerPartRequest part{request.serial, static_cast<std::uint32_t>(whole.size())};
    auto bytes = child.call(kAnswerPart, ikeproc::encode(part), options_.hang_limit);
    if (!bytes) return unexpected("part at byte " + std::to_string(whole.size()) + ": " + bytes.error());
    const std::size_t wanted = std::min<std::size_t>(kAnswerPartBytes, size->size - whole.size());
    if (bytes->size() != wanted) {
      return unexpected("part at byte " + std::to_string(whole.size()) + " has " + std::to_string(bytes->size()) +
                        " bytes, " + std::to_string(wanted) + " expected");
    }
    whole.insert(whole.end(), bytes->begin(), bytes->end());
  }
  auto answer = ikeproc::decode<FetchAnswer>(whole);
  if (!answer) return unexpected(std::move(answer.error()));
  if (answer->serial != request.serial) {
    return unexpected("the answer names request " + std::to_string(answer->serial) + ", not " + std::to_string(request.serial));
  }
  if (answer->log.size() > kMaxLogEvents) return unexpected(std::to_string(answer->log.size()) + " log events (at most " + std::to_string(kMaxLogEvents) + ")");
  return answer;
}

FetchError FetchProcess::refuse(pid_t pid, const std::string& why) {
  log_.error("fetch-process-answer-refused", {{"pid", std::to_string(pid)}, {"why", why}, {"result", "keeping the enforced policy"}});
  // A child that breaks the protocol may have been taken over: a new one serves the next fetch.
  if (pid > 0 && supervisor_ && supervisor_->pid() == pid) kill(pid, SIGKILL);
  return unavailable("the directory fetcher (pid " + std::to_string(pid) + ") sent an answer wardd refuses: " + why);
}

void FetchProcess::relog(const LogEvent& event) {
  std::vector<LogField> fields;
  const bool known = std::find(kChildEvents.begin(), kChildEvents.end(), event.event) != kChildEvents.end();
  if (!known) fields.emplace_back("event", event.event);
  for (const auto& field : event.fields) fields.emplace_back(field.key, field.value);
  fields.emplace_back("process", "fetch");
  log_.log(event.level, known ? std::string_view(event.event) : std::string_view("fetch-process-event"), fields);
}

Expected<FetchedPolicy, FetchError> FetchProcess::fetch() {
  auto child = endpoint();
  const pid_t pid = child_pid_.load();
  if (!child) {
    std::string last;
    {
      const std::lock_guard lock(mutex_);
      last = last_exit_;
    }
    return unexpected(unavailable("the directory fetcher is not running" + (last.empty() ? std::string() : " (the last one, " + last + ")") +
                                  "; it is restarted"));
  }
  const auto asked = request();
  log_.debug("fetch-process-call", {{"pid", std::to_string(pid)}, {"serial", std::to_string(asked.serial)}});
  auto answer = ask(*child, asked);
  if (!answer) {
    const std::string& why = answer.error();
    const bool gone = !child->open() || why.find("closed the channel") != std::string::npos ||
                      why.find("sending on the privsep channel") != std::string::npos;
    if (gone) {
      // The child died under the fetch (fetch-process-exited says how): a failed fetch, no more.
      return unexpected(unavailable("the directory fetcher (pid " + std::to_string(pid) + ") ended during the fetch: " + why));
    }
    if (timed_out(why)) {
      log_.error("fetch-process-hung", {{"pid", std::to_string(pid)},
                                        {"limit_ms", std::to_string(options_.hang_limit.count())},
                                        {"result", "killed; a new one is started"}});
      kill_child(pid);
      return unexpected(unavailable("the directory fetcher (pid " + std::to_string(pid) + ") did not answer within " +
                                    std::to_string(options_.hang_limit.count()) + " ms"));
    }
    return unexpected(refuse(pid, why));
  }
  for (const auto& event : answer->log) relog(event);
  log_.debug("fetch-process-answer", {{"pid", std::to_string(pid)}, {"result", name_of(answer->outcome)}});
  if (answer->outcome == Outcome::Policy) {
    // wardd's own parser: the child's model never crosses as anything but JSON.
    auto policy = model::policy_from_json(answer->policy_json);
    if (!policy) {
      const auto& problems = policy.error();
      return unexpected(refuse(pid, "its policy JSON does not parse: " + (problems.empty() ? std::string("?") : problems.front().to_string())));
    }
    return FetchedPolicy{std::move(*policy), std::move(answer->source), std::move(answer->report)};
  }
  FetchError error;
  error.kind = answer->outcome == Outcome::Invalid       ? FetchError::Kind::Invalid
               : answer->outcome == Outcome::NotAssigned ? FetchError::Kind::NotAssigned
                                                         : FetchError::Kind::Unavailable;
  error.message = std::move(answer->message);
  error.problems = std::move(answer->problems);
  error.report = std::move(answer->report);
  return unexpected(std::move(error));
}

}  // namespace ward::agent::daemon
