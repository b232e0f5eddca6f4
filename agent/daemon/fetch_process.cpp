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

// The events a DirectorySource logs: the child's are logged under their own names.
constexpr std::array<std::string_view, 4> kChildEvents = {"directory-fetch", "directory-failover", "gpo-not-applied",
                                                          "no-change-stamp"};
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
  return {};
}

void FetchProcess::stop() {
  if (supervisor_) supervisor_->stop();
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
        if (m.type == kReady && !m.is_call) {
          const std::string said(m.body.begin(), m.body.end());
          if (said != "ok") log_.error("fetch-process-failed", {{"pid", std::to_string(pid)}, {"why", said}});
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
}

bool FetchProcess::affected_by(std::string_view dn) const {
  const std::lock_guard lock(mutex_);
  return depends_.affected_by(dn);
}

FetchRequest FetchProcess::request() {
  FetchRequest out;
  out.serial = ++serial_;
  if (!settings_.site_dn && settings_.host_addresses) out.addresses = settings_.host_addresses();
  if (const auto* gssapi = std::get_if<ldap::GssapiBind>(&settings_.session.bind)) {
    if (gssapi->keytab.empty()) {
      out.ticket_error = "no [directory] keytab";
      return out;
    }
    // A fresh TGT per fetch (one AS exchange): the child holds no ticket longer than a fetch needs.
    auto tgt = ldap::KerberosClientCredentials::acquire(gssapi->keytab, gssapi->client_principal);
    if (!tgt) {
      out.ticket_error = tgt.error().step + ": " + tgt.error().message;
      return out;
    }
    auto marshalled = (*tgt)->marshal_initial_ticket();
    if (!marshalled) {
      out.ticket_error = marshalled.error().step + ": " + marshalled.error().message;
      return out;
    }
    const auto text = marshalled->reveal();
    out.ticket = driver::crypto::SecureBytes(std::as_bytes(std::span(text.data(), text.size())));
  }
  return out;
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
    if (why.find("no reply to message type") != std::string::npos) {   // Endpoint::call's timeout
      log_.error("fetch-process-hung", {{"pid", std::to_string(pid)},
                                        {"limit_ms", std::to_string(options_.hang_limit.count())},
                                        {"result", "killed; a new one is started"}});
      if (supervisor_ && supervisor_->pid() == pid) kill(pid, SIGKILL);
      return unexpected(unavailable("the directory fetcher (pid " + std::to_string(pid) + ") did not answer within " +
                                    std::to_string(options_.hang_limit.count()) + " ms"));
    }
    return unexpected(refuse(pid, why));
  }
  for (const auto& event : answer->log) relog(event);
  {
    RefreshScope scope = answer->dependencies.everything ? RefreshScope::everything() : RefreshScope();
    for (const auto& dn : answer->dependencies.objects) scope.add_object(dn);
    for (const auto& dn : answer->dependencies.subtrees) scope.add_subtree(dn);
    const std::lock_guard lock(mutex_);
    depends_ = std::move(scope);
  }
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
