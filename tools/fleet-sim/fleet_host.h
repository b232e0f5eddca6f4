// One simulated host: exactly wardd's directory side (agent/daemon DirectorySource and
// ChangeWatcher, sharing one connection), with the policy updater replaced by a record of each
// fetch's outcome and time (no dataplane: the simulator measures the directory path).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/daemon/change_watcher.h"
#include "agent/daemon/directory_source.h"
#include "tools/fleet-sim/fleet_directory.h"

namespace ward::fleet {

using Clock = std::chrono::steady_clock;

struct FetchRecord {
  Clock::time_point done;
  bool policy = false;       // a policy was fetched
  bool unavailable = false;  // the directory could not be reached (the host kept its policy)
  std::string description;   // the policy's description
  std::string gpo_dn;        // the GPO that assigned it
};

struct HostTuning {
  std::chrono::milliseconds debounce = agent::daemon::kChangeDebounce;
  std::chrono::milliseconds jitter = agent::daemon::kChangeJitter;
  // How often an idle watch thread wakes without traffic (wardd: 100 ms). Data wakes it at once.
  std::chrono::milliseconds poll_interval{1000};
};

class SimHost {
 public:
  SimHost(const SimComputer& computer, const std::vector<std::string>& uris, std::size_t first_uri,
          agent::daemon::Logger& log, const HostTuning& tuning);
  ~SimHost();  // stops the watch first

  bool fetch();          // one DirectorySource::fetch, recorded; false: the directory was unavailable
  void start_watch();    // the ChangeWatcher thread (its first establishment fetches once more)
  void request_stop();   // the watch stops soon (the destructor joins it)

  std::vector<FetchRecord> fetches() const;
  ldap::SharedSession::Traffic traffic() const { return source_.shared_session()->traffic(); }
  const agent::daemon::WatchCounters* watch() const { return watcher_ ? &watcher_->counters() : nullptr; }
  const SimComputer& computer() const { return computer_; }

 private:
  SimComputer computer_;
  HostTuning tuning_;
  agent::daemon::Logger& log_;
  agent::daemon::DirectorySource source_;
  mutable std::mutex mutex_;
  std::vector<FetchRecord> fetches_;
  std::unique_ptr<agent::daemon::ChangeWatcher> watcher_;
};

}  // namespace ward::fleet
