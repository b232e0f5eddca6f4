#include "agent/daemon/fetch_child.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

#include "agent/daemon/change_watcher.h"
#include "agent/daemon/directory_source.h"
#include "agent/daemon/fetch_wire.h"
#include "agent/daemon/private_krb5_config.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/sandbox.h"
#include "agent/privsep/supervisor.h"
#include "directory/ldap/kerberos_client.h"
#include "directory/model/policy_json.h"

namespace ward::agent::daemon {
namespace {

using namespace fetchproc;
using privsep::Body;
using privsep::Endpoint;
using privsep::Incoming;

// The child's one ccache: each request's ticket replaces its content.
constexpr const char* kTicketCcache = "MEMORY:ward-directory-fetch";

Outcome outcome_of(FetchError::Kind kind) {
  switch (kind) {
    case FetchError::Kind::Unavailable: return Outcome::Unavailable;
    case FetchError::Kind::Invalid: return Outcome::Invalid;
    case FetchError::Kind::NotAssigned: return Outcome::NotAssigned;
  }
  return Outcome::Unavailable;
}

class FetchChild {
 public:
  explicit FetchChild(std::shared_ptr<privsep::Channel> channel) : channel_(std::move(channel)), log_(discard_) {
    log_.set_threshold(config::LogLevel::Debug);
    log_.capture_to([this](config::LogLevel level, std::string_view event, std::span<const LogField> fields) {
      if (events_.size() >= kMaxLogEvents) return;
      LogEvent e{level, std::string(event), {}};
      for (const auto& [key, value] : fields) e.fields.push_back({std::string(key), value});
      events_.push_back(std::move(e));
    });
  }

  Expected<Body, std::string> handle(Incoming& m) {
    switch (m.type) {
      case kConfigure: return configure(m.body);
      case kFetch: return fetch(m.body);
      case kAnswerPart: return part(m.body);
      case kKeep: return keep(m.body);
      case kWatch: return watch(m.body);
      default: return unexpected("the directory fetcher has no message " + std::to_string(m.type));
    }
  }

 private:
  Expected<Body, std::string> configure(std::span<const std::uint8_t> body) {
    auto config = ikeproc::decode<FetchConfig>(body);
    if (!config) return unexpected(config.error());
    DirectorySourceSettings settings;
    settings.session.uris = config->uris;
    settings.session.tls = config->start_tls ? ldap::TlsMode::kStartTls : ldap::TlsMode::kNone;
    settings.session.ca_file = config->ca_file;
    settings.session.network_timeout = config->network_timeout;
    settings.session.operation_timeout = config->operation_timeout;
    switch (config->bind) {
      case BindKind::Anonymous: settings.session.bind = ldap::AnonymousBind{}; break;
      case BindKind::Simple: {
        const auto password = config->password.reveal();
        settings.session.bind = ldap::SimpleBind{config->bind_dn,
                                                 model::Secret(std::string(reinterpret_cast<const char*>(password.data()), password.size()))};
        break;
      }
      case BindKind::Gssapi: settings.session.bind = ldap::GssapiBind{"", config->principal, kTicketCcache}; break;
    }
    gssapi_ = config->bind == BindKind::Gssapi;
    watch_session_ = settings.session;
    watch_scope_ = WatchScope{config->domain_dn, config->computer_dn, config->computer_account};
    settings.domain_dn = config->domain_dn;
    settings.computer_dn = config->computer_dn;
    settings.computer_account = config->computer_account;
    settings.site_dn = config->site_dn;
    settings.host_addresses = [this] { return addresses_; };
    source_ = std::make_unique<DirectorySource>(std::move(settings), log_);
    return Body{};
  }

  Expected<Body, std::string> fetch(std::span<const std::uint8_t> body) {
    auto request = ikeproc::decode<FetchRequest>(body);
    if (!request) return unexpected(request.error());
    if (!source_) return unexpected(std::string("fetch before kConfigure"));
    addresses_ = request->addresses;
    std::string ticket_problem = request->ticket_error;
    if (request->ticket) {
      if (auto taken = take(*request->ticket); !taken) ticket_problem = taken.error();
    }
    events_.clear();
    auto result = source_->fetch();
    FetchAnswer answer;
    answer.serial = request->serial;
    if (result) {
      answer.outcome = Outcome::Policy;
      answer.policy_json = model::policy_to_json(result->policy, model::SecretHandling::Include);
      answer.source = result->source;
      answer.report = result->report;
    } else {
      answer.outcome = outcome_of(result.error().kind);
      answer.message = result.error().message;
      if (gssapi_ && !ticket_problem.empty() && answer.outcome == Outcome::Unavailable) {
        answer.message += " (no Kerberos ticket: " + ticket_problem + ")";
      }
      answer.problems = result.error().problems;
      answer.report = result.error().report;
    }
    answer.log = std::move(events_);
    events_.clear();
    answer_ = ikeproc::encode(answer);
    serial_ = request->serial;
    if (answer_.size() > kMaxAnswerBytes) {
      answer_.clear();
      return unexpected("the answer is larger than " + std::to_string(kMaxAnswerBytes) + " bytes");
    }
    return ikeproc::encode(FetchAnswerSize{serial_, static_cast<std::uint32_t>(answer_.size())});
  }

  // A ticket from wardd into the one ccache the binds use (the fetch's and the watch's).
  Expected<void, std::string> take(const driver::crypto::SecureBytes& ticket) {
    const auto bytes = ticket.reveal();
    const std::string_view marshalled(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (ticket_) {
      // Replaced in place: the watch's thread may be binding with it this very moment.
      if (auto replaced = ticket_->replace(marshalled); !replaced) {
        return unexpected("the ticket from wardd: " + replaced.error().step + ": " + replaced.error().message);
      }
      return {};
    }
    auto adopted = ldap::KerberosClientCredentials::adopt(marshalled, kTicketCcache);
    if (!adopted) return unexpected("the ticket from wardd: " + adopted.error().step + ": " + adopted.error().message);
    ticket_ = std::move(*adopted);
    return {};
  }

  Expected<Body, std::string> keep(std::span<const std::uint8_t> body) {
    auto request = ikeproc::decode<KeepRequest>(body);
    if (!request) return unexpected(request.error());
    if (request->ticket) {
      if (auto taken = take(*request->ticket); !taken) return unexpected(taken.error());
    }
    return Body{};
  }

  // The change watch, on a thread of its own and on the fetches' connection (SharedSession), as
  // wardd runs it without privsep; what it finds goes to wardd as kWatchChange and kWatchLog notes.
  Expected<Body, std::string> watch(std::span<const std::uint8_t> body) {
    auto start = ikeproc::decode<WatchStart>(body);
    if (!start) return unexpected(start.error());
    if (!source_) return unexpected(std::string("watch before kConfigure"));
    if (watcher_) return Body{};
    watch_log_.set_threshold(config::LogLevel::Info);   // the DNs travel in kWatchChange
    watch_log_.capture_to([this](config::LogLevel level, std::string_view event, std::span<const LogField> fields) {
      LogEvent e{level, std::string(event), {}};
      for (const auto& [key, value] : fields) e.fields.push_back({std::string(key), value});
      note(kWatchLog, ikeproc::encode(e));
    });
    ChangeWatchSettings settings;
    settings.session = watch_session_;
    settings.request = policy_watch_request(watch_scope_.domain_dn, watch_scope_.computer_dn, watch_scope_.computer_account);
    settings.scope = watch_scope_;
    settings.shared = source_->shared_session();
    DirectorySource* source = source_.get();
    settings.affects = [source](std::string_view dn) { return source->affected_by(dn); };
    settings.on_change = [this](std::string_view dn) {   // the watcher's thread, as the trigger
      if (changed_.dns.size() < kMaxWatchDns) {
        changed_.dns.emplace_back(dn);
      } else {
        ++changed_.more_dns;
      }
    };
    settings.debounce = start->debounce;
    settings.jitter = start->jitter;
    watcher_ = std::make_unique<ChangeWatcher>(std::move(settings), watch_log_, [this](std::string_view reason) {
      WatchChange change = std::move(changed_);
      changed_ = WatchChange{};
      change.reason = reason == "directory-change"              ? WatchReason::Change
                    : reason == "directory-watch-established" ? WatchReason::Established
                    : reason == "directory-watch-lost"        ? WatchReason::Lost
                                                              : WatchReason::Retry;
      note(kWatchChange, ikeproc::encode(change));
      return true;   // wardd's refresh loop retries a refresh that finds the directory unavailable
    });
    return Body{};
  }

  // A notification to wardd from any thread: the Channel's send is one sendmsg of one SEQPACKET
  // message, so the watch's notes never interleave with the reader's replies.
  void note(std::uint32_t type, const Body& body) const {
    Body framed(sizeof(std::uint64_t), 0);   // call id 0: a notification
    framed.insert(framed.end(), body.begin(), body.end());
    (void)channel_->send(type, framed);
  }

  Expected<Body, std::string> part(std::span<const std::uint8_t> body) {
    auto request = ikeproc::decode<AnswerPartRequest>(body);
    if (!request) return unexpected(request.error());
    if (request->serial != serial_ || request->offset > answer_.size()) {
      return unexpected("no answer " + std::to_string(request->serial) + " at offset " + std::to_string(request->offset));
    }
    const auto end = std::min(answer_.size(), static_cast<std::size_t>(request->offset) + kAnswerPartBytes);
    return Body(answer_.begin() + request->offset, answer_.begin() + static_cast<std::ptrdiff_t>(end));
  }

  std::shared_ptr<privsep::Channel> channel_;
  std::ostringstream discard_;
  Logger log_;
  std::vector<LogEvent> events_;
  std::unique_ptr<DirectorySource> source_;
  std::unique_ptr<ldap::KerberosClientCredentials> ticket_;
  ldap::SessionOptions watch_session_;
  WatchScope watch_scope_;
  std::ostringstream watch_discard_;
  Logger watch_log_{watch_discard_};
  WatchChange changed_;   // the watcher's thread only
  std::unique_ptr<ChangeWatcher> watcher_;   // last: its thread uses the members above
  bool gssapi_ = false;
  std::vector<IpAddress> addresses_;
  std::uint64_t serial_ = 0;
  Body answer_;
};

void say(const privsep::Channel& channel, const std::string& text) {
  Body body(sizeof(std::uint64_t), 0);   // call id 0: a notification
  body.insert(body.end(), text.begin(), text.end());
  (void)channel.send(fetchproc::kReady, body);
}

}  // namespace

int run_fetch_child(const std::string& user) {
  auto channel = std::make_shared<privsep::Channel>(privsep::OwnedFd(privsep::kChildChannelFd));
  // Before any thread: capabilities and no_new_privs are per thread.
  auto identity = privsep::identity_of(user);
  if (!identity) {
    say(*channel, "error: " + identity.error());
    return 1;
  }
  if (auto kept = keep_private_krb5_config(); !kept) {
    say(*channel, "error: " + kept.error());
    return 1;
  }
  if (auto entered = privsep::enter_sandbox({*identity, privsep::NetworkSockets::Internet}); !entered) {
    say(*channel, "error: sandbox: " + entered.error());
    return 1;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);   // the uid change cleared it
  if (getppid() == 1) return 1;       // wardd died before that
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  FetchChild state(channel);
  // The handler runs on the endpoint's one reader thread: requests are handled one at a time.
  Endpoint parent(
      channel, [&](Incoming& m) { return state.handle(m); },
      [&](const std::string&) { kill(getpid(), SIGTERM); });   // the main thread's sigwait ends the process
  say(*channel, "ok");
  int signal = 0;
  sigwait(&stop_signals, &signal);
  // Nothing to tidy in a sandboxed child; the watch's thread must not outlive `parent` (it sends
  // on it), and joining it could wait for an LDAP timeout: the process ends here.
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace ward::agent::daemon
