// The directory fetch in a process of its own (ward.conf [privsep] user with [directory] uri):
// wardd's half. The child (fetch_child.h, started and restarted by a privsep Supervisor, its own
// uid, no capabilities, seccomp, internet sockets, no exec) binds to the directory, scopes the
// host's GPOs and reads and decodes the policy objects: everything that parses what the directory
// sends. wardd keeps the password file, the cache and the dataplane; the keytab is its key
// process's (key_process.h), which gets the TGT wardd hands on (FetchProcessOptions::tgt).
//
//   fetch   one kFetch call per refresh with the host's addresses and, for GSSAPI, a TGT got just
//           before by the key process (or, without one, by wardd from the keytab); the answer (policy
//           JSON, source, scope report, problems, the fetch's events) is pulled in
//           parts (fetch_wire.h), decoded strictly, and the policy parsed again by wardd's own
//           policy_from_json; PolicyUpdater then validates it as any fetched policy. An answer that
//           does not decode, names another request, overruns its announced size or carries a
//           policy that does not parse is refused (`fetch-process-answer-refused`, the child is
//           ended and restarted: it broke the protocol) and the refresh fails as an unreachable
//           directory does: the enforced policy and the cache stay.
//   events  the child's events (directory-fetch, gpo-not-applied, directory-failover, ...) are
//           logged by wardd with process=fetch; names outside that list are logged as
//           fetch-process-event, so a child cannot write wardd's own events (policy-applied).
//   crash   an exit of the child fails the fetch in progress (`fetch-process-exited`, how it
//           ended); a child that does not answer within the hang limit is killed (SIGKILL, by its
//           pid) and restarted (`fetch-process-hung`). Control queries never call the child.
//   watch   after start_watch() the child also runs the change watch (kWatch; fetch_child.h) on its
//           fetch connection: wardd holds no directory connection and parses nothing from the
//           directory. Its kWatchChange notes (decoded strictly; at most kMaxWatchDns DNs) become
//           refresh requests, at most one per kMinWatchTriggerSpacing (faster ones wait, they are
//           never lost); its events are logged as the fetch's are (known names only, at most
//           kMaxWatchLogsPerMinute). A malformed note is refused and the child replaced. A child
//           that ends takes its watch with it (`change-watch-lost`): wardd polls meanwhile, and
//           the new child gets kWatch again, whose first establishment refreshes once.
//   keep    while watching, a keeper thread calls kKeep every kKeepInterval (liveness: a child
//           that does not answer within the hang limit is killed, `fetch-process-hung`, and
//           restarted) and, with GSSAPI, sends a fresh TGT in it when the watch starts and when the
//           last one has run half its life: the child's watch reconnects and binds with it long
//           after the last fetch (one AS exchange per half ticket lifetime, not per check).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "agent/daemon/change_watcher.h"
#include "agent/daemon/directory_source.h"
#include "agent/daemon/fetch_wire.h"
#include "agent/daemon/log.h"
#include "agent/daemon/policy_source.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/supervisor.h"

namespace ward::agent::daemon {

inline constexpr std::chrono::milliseconds kMinWatchTriggerSpacing{200};
inline constexpr std::chrono::milliseconds kKeepInterval{60000};
inline constexpr std::size_t kMaxWatchLogsPerMinute = 60;

struct FetchProcessOptions {
  std::vector<std::string> argv;   // {wardd, "--privsep-child", "fetch", "--user", USER}
  std::string user;                // for the log
  // A fetch that has not answered by then is a hung child. Default: every URI's connect and a
  // dozen operations (a full fetch is about ten round trips), plus a KDC exchange.
  std::chrono::milliseconds hang_limit{0};
  std::chrono::milliseconds first_restart_delay{100};
  std::chrono::milliseconds keep_interval = kKeepInterval;
  // Sent to the child's watch: the same as in wardd without privsep.
  std::chrono::milliseconds watch_debounce = kChangeDebounce;
  std::chrono::milliseconds watch_jitter = kChangeJitter;
  // With a key process ([privsep] user): the GSSAPI bind's TGT for a client principal, got there
  // (key_process.h KeyProcess::tgt) rather than from the keytab here; marshalled, with its end
  // time. Empty: wardd gets it from the keytab itself.
  using TgtSource = std::function<Expected<std::pair<driver::crypto::SecureBytes, std::int64_t>, std::string>(const std::string& client)>;
  TgtSource tgt;
};

// The hang limit for `settings` (see FetchProcessOptions::hang_limit).
std::chrono::milliseconds fetch_hang_limit(const DirectorySourceSettings& settings);

class FetchProcess final : public PolicySource {
 public:
  // `settings` as for a DirectorySource (the password stays here, the keytab here or in the key process).
  FetchProcess(DirectorySourceSettings settings, FetchProcessOptions options, Logger& log);
  ~FetchProcess() override;

  // Starts the first child; an error when it cannot be spawned at all.
  Expected<void, std::string> start();
  void stop();

  Expected<FetchedPolicy, FetchError> fetch() override;
  std::string describe() const override { return description_; }
  pid_t child_pid() const { return child_pid_.load(); }

  // Runs the change watch in the child (this one and every one after it); `trigger` (on the keeper
  // thread) asks for a refresh, with the reason as ChangeWatcher gives it. stop_watch() returns
  // once no trigger call runs any more.
  using WatchTrigger = std::function<void(std::string_view reason)>;
  void start_watch(WatchTrigger trigger);
  void stop_watch();

 private:
  void started(pid_t pid, std::shared_ptr<privsep::Channel> channel);
  void exited(pid_t pid, const std::string& how, std::chrono::milliseconds restart_in);
  std::shared_ptr<privsep::Endpoint> endpoint() const;
  Expected<fetchproc::FetchAnswer, std::string> ask(privsep::Endpoint& child, const fetchproc::FetchRequest& request);
  Expected<FetchedPolicy, FetchError> accept(fetchproc::FetchAnswer answer);
  fetchproc::FetchRequest request();
  void relog(const fetchproc::LogEvent& event);
  FetchError refuse(pid_t pid, const std::string& why);
  // A fresh TGT for the child (GSSAPI; nullopt otherwise or on error, then `error` says why) and
  // when it expires.
  std::optional<driver::crypto::SecureBytes> fresh_ticket(std::string& error, std::int64_t* expires = nullptr) const;
  // The child's notes (its reader thread); false: the note is refused.
  Expected<void, std::string> watch_note(pid_t pid, privsep::Incoming& m);
  void keeper();
  void keep(privsep::Endpoint& child, pid_t pid, bool with_ticket);
  void kill_child(pid_t pid);

  DirectorySourceSettings settings_;
  FetchProcessOptions options_;
  Logger& log_;
  std::string description_;
  fetchproc::FetchConfig config_;
  std::unique_ptr<privsep::Supervisor> supervisor_;
  std::atomic<pid_t> child_pid_{-1};
  std::uint64_t serial_ = 0;   // fetch() is not called concurrently
  mutable std::mutex mutex_;
  std::shared_ptr<privsep::Endpoint> endpoint_;
  std::string last_exit_;   // how the last child ended, for a fetch that finds none

  // The watch (keeper_mutex_): the trigger runs under trigger_mutex_ so that stop_watch() can wait.
  std::mutex trigger_mutex_;
  WatchTrigger trigger_;
  std::mutex keeper_mutex_;
  std::condition_variable keeper_wake_;
  bool keeper_stopping_ = false;
  bool watching_ = false;
  pid_t watch_started_for_ = -1;   // the child that got kWatch
  std::optional<std::string> pending_reason_;
  std::chrono::steady_clock::time_point last_trigger_{};
  std::chrono::steady_clock::time_point keep_due_{};     // the next liveness check
  std::chrono::steady_clock::time_point ticket_due_{};   // the next TGT (GSSAPI)
  std::chrono::steady_clock::time_point log_window_{};
  std::size_t logs_in_window_ = 0;
  std::size_t logs_dropped_ = 0;
  std::thread keeper_;
};

}  // namespace ward::agent::daemon
