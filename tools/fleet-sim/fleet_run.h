// The fleet simulator's run: N SimHosts against two replicating slapd providers, and the
// scenarios it measures (one policy edit, one GPO link change, an edit with one provider killed
// mid-run). For each: which hosts the change affects (from what each host last fetched), how many
// applied it and when (change-to-applied: from just before the write is sent until the host's
// fetch returned the changed policy), fetches by hosts it cannot affect (the goal: none), LDAP
// operations and bytes per host, and the providers' CPU seconds.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tools/fleet-sim/fleet_directory.h"
#include "tools/fleet-sim/fleet_host.h"

namespace ward::fleet {

struct ScenarioFigures {
  std::string name;
  std::size_t affected = 0;            // hosts the change can affect
  std::size_t applied = 0;             // of those, hosts that applied it
  std::size_t unaffected_fetches = 0;  // fetches by hosts it cannot affect
  std::size_t unavailable_fetches = 0; // fetches that found no directory (the host kept its policy)
  std::size_t failed_fetches = 0;      // fetches that returned no policy for another reason
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double round_trips_per_host = 0, bytes_per_host = 0;          // over all hosts
  double round_trips_per_affected = 0, bytes_per_affected = 0;  // over the affected hosts
  double round_trips_per_unaffected = 0, bytes_per_unaffected = 0;
  double slapd_cpu_seconds = 0;        // both providers
  std::uint64_t watches_lost = 0;      // watch connections lost during the scenario
  std::uint64_t watches_resumed = 0;   // watches re-established from their cookie
};

struct FleetOptions {
  FleetLayout layout;
  HostTuning tuning;
  std::size_t start_threads = 8;                       // parallel start-up fetches
  std::chrono::milliseconds apply_timeout{60000};      // per scenario
};

class Fleet {
 public:
  static Expected<std::unique_ptr<Fleet>, std::string> start(const std::filesystem::path& source_dir,
                                                             const FleetOptions& options, std::ostream& progress);
  ~Fleet();

  // Changes the description of the Legal policy on provider `write_on`; with `kill_after`, kills
  // provider `kill` that long after the write.
  ScenarioFigures policy_edit(const std::string& name, std::size_t write_on, std::optional<std::chrono::milliseconds> kill_after = {},
                              std::size_t kill = 0);
  // Links the Legal GPO to OU=Branch-<branch>,OU=Sales (written on provider `write_on`).
  ScenarioFigures link_change(const std::string& name, std::size_t branch, std::size_t write_on);

  std::vector<std::unique_ptr<SimHost>>& hosts() { return hosts_; }
  FleetDirectory& directory() { return directory_; }
  std::chrono::milliseconds start_up_time() const { return start_up_; }

 private:
  Fleet(FleetDirectory directory, FleetOptions options);
  template <typename Write, typename Applied>
  ScenarioFigures measure(const std::string& name, const std::vector<bool>& affected, Write write, Applied applied,
                          std::optional<std::chrono::milliseconds> kill_after, std::size_t kill);

  FleetDirectory directory_;
  FleetOptions options_;
  std::unique_ptr<std::ostream> log_file_;
  std::unique_ptr<agent::daemon::Logger> log_;
  std::vector<std::unique_ptr<SimHost>> hosts_;
  std::chrono::milliseconds start_up_{0};
  int edits_ = 0;
};

// Prints one scenario's figures, one line each.
void print(std::ostream& out, const ScenarioFigures& figures);

}  // namespace ward::fleet
