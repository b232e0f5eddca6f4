#include "tools/fleet-sim/fleet_run.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <thread>

#include "directory/gpo/dn.h"

namespace ward::fleet {
namespace {

using namespace std::chrono_literals;

// utime + stime of a process, in seconds (0 when it is gone).
double cpu_seconds(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size()))) ;
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

bool same_dn(const std::string& a, const std::string& b) { return gpo::normalize_dn(a) == gpo::normalize_dn(b); }

Expected<void, std::string> admin_modify(FleetDirectory& directory, std::size_t provider, const std::string& dn,
                                         const std::string& attribute, const std::string& value) {
  ldap::SessionOptions options;
  options.uris = {directory.providers->provider(provider).ldap_uri()};
  options.bind = ldap::SimpleBind{directory.admin_dn, model::Secret(directory.admin_password)};
  auto session = ldap::Session::connect(options);
  if (!session) return unexpected(session.error().to_string());
  auto done = (*session)->modify(dn, std::vector<ldap::Modification>{{ldap::Modification::Op::kReplace, attribute, {value}}});
  if (!done) return unexpected(done.error().to_string());
  return {};
}

}  // namespace

Fleet::Fleet(FleetDirectory directory, FleetOptions options) : directory_(std::move(directory)), options_(options) {}

Fleet::~Fleet() {
  // Watch threads first (all asked at once: each may sit in poll for its idle interval), then
  // the providers.
  for (auto& host : hosts_) host->request_stop();
  for (auto& host : hosts_) host.reset();
}

Expected<std::unique_ptr<Fleet>, std::string> Fleet::start(const std::filesystem::path& source_dir,
                                                           const FleetOptions& options, std::ostream& progress) {
  const auto begin = Clock::now();
  auto directory = start_fleet_directory(source_dir, options.layout);
  if (!directory) return unexpected(directory.error().to_string());
  progress << "directory: " << directory->computers.size() << " computer accounts on "
           << directory->providers->uris()[0] << " and " << directory->providers->uris()[1] << " ("
           << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count() << " ms)\n";
  std::unique_ptr<Fleet> fleet(new Fleet(std::move(*directory), options));
  auto file = std::make_unique<std::ofstream>(fleet->directory_.providers->provider(0).dir().parent_path() /
                                              ("ward-fleet-sim-" + std::to_string(::getpid()) + ".log"));
  fleet->log_ = std::make_unique<agent::daemon::Logger>(*file, agent::config::LogLevel::Warning);
  fleet->log_file_ = std::move(file);
  const auto uris = fleet->directory_.providers->uris();
  for (std::size_t i = 0; i < fleet->directory_.computers.size(); ++i) {
    fleet->hosts_.push_back(std::make_unique<SimHost>(fleet->directory_.computers[i], uris, i % uris.size(),
                                                      *fleet->log_, options.tuning));
  }
  // Start-up as wardd: one fetch, then the watch (whose first establishment fetches once more).
  const auto hosts_begin = Clock::now();
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < std::max<std::size_t>(1, options.start_threads); ++t) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < fleet->hosts_.size(); i = next++) {
        fleet->hosts_[i]->fetch();
        fleet->hosts_[i]->start_watch();
      }
    });
  }
  for (auto& w : workers) w.join();
  const auto deadline = Clock::now() + options.apply_timeout + 60s;
  for (;;) {
    std::size_t ready = 0;
    for (const auto& host : fleet->hosts_) {
      if (host->watch()->established > 0 && host->fetches().size() >= 2) ++ready;
    }
    if (ready == fleet->hosts_.size()) break;
    if (Clock::now() > deadline) {
      return unexpected("only " + std::to_string(ready) + " of " + std::to_string(fleet->hosts_.size()) +
                        " hosts established their watch and fetched (see the log next to the providers)");
    }
    std::this_thread::sleep_for(200ms);
  }
  std::size_t without_policy = 0;
  for (const auto& host : fleet->hosts_) {
    const auto records = host->fetches();
    const bool expect_policy = host->computer().policy != SimComputer::Expect::kNone;
    if (records.back().policy != expect_policy) ++without_policy;
  }
  if (without_policy > 0) return unexpected(std::to_string(without_policy) + " hosts did not get the policy their OU assigns");
  std::this_thread::sleep_for(options.tuning.debounce + options.tuning.jitter + 500ms);  // settle
  fleet->start_up_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - hosts_begin);
  progress << "hosts: " << fleet->hosts_.size() << " fetched, watching and settled in " << fleet->start_up_.count()
           << " ms\n";
  return fleet;
}

template <typename Write, typename Applied>
ScenarioFigures Fleet::measure(const std::string& name, const std::vector<bool>& affected, Write write, Applied applied,
                               std::optional<std::chrono::milliseconds> kill_after, std::size_t kill) {
  ScenarioFigures out;
  out.name = name;
  const std::size_t n = hosts_.size();
  std::vector<std::size_t> fetches_before(n);
  std::vector<ldap::SharedSession::Traffic> traffic_before(n);
  std::uint64_t lost_before = 0, resumed_before = 0;
  for (std::size_t i = 0; i < n; ++i) {
    fetches_before[i] = hosts_[i]->fetches().size();
    traffic_before[i] = hosts_[i]->traffic();
    lost_before += hosts_[i]->watch()->connections_lost;
    resumed_before += hosts_[i]->watch()->resumed;
  }
  std::vector<pid_t> pids = {directory_.providers->provider(0).pid(), directory_.providers->provider(1).pid()};
  std::vector<double> cpu_before = {cpu_seconds(pids[0]), cpu_seconds(pids[1])};
  std::vector<double> cpu_last = cpu_before;

  const auto t0 = Clock::now();
  if (auto written = write(); !written) {
    out.name += " (write failed: " + written.error() + ")";
    return out;
  }
  bool killed = false;
  std::vector<double> latencies;
  std::vector<bool> done(n, false);
  const auto deadline = t0 + options_.apply_timeout;
  for (;;) {
    if (kill_after && !killed && Clock::now() - t0 >= *kill_after) {
      cpu_last[kill] = cpu_seconds(pids[kill]);
      directory_.providers->provider(kill).kill();
      killed = true;
    }
    std::size_t pending = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!affected[i] || done[i]) continue;
      const auto records = hosts_[i]->fetches();
      for (std::size_t r = fetches_before[i]; r < records.size(); ++r) {
        if (!applied(records[r])) continue;
        done[i] = true;
        latencies.push_back(std::chrono::duration<double, std::milli>(records[r].done - t0).count());
        break;
      }
      if (!done[i]) ++pending;
    }
    if (pending == 0 && (!kill_after || killed)) break;
    if (Clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  // Late fetches by hosts the change cannot affect would come within debounce + jitter.
  std::this_thread::sleep_for(options_.tuning.debounce + options_.tuning.jitter + 1s);
  for (std::size_t k = 0; k < pids.size(); ++k) {
    if (!(killed && k == kill)) cpu_last[k] = cpu_seconds(pids[k]);
    out.slapd_cpu_seconds += cpu_last[k] - cpu_before[k];
  }
  std::uint64_t rt_all = 0, bytes_all = 0, rt_affected = 0, bytes_affected = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto records = hosts_[i]->fetches();
    const auto traffic = hosts_[i]->traffic();
    const std::uint64_t rt = traffic.round_trips - traffic_before[i].round_trips;
    const std::uint64_t bytes = (traffic.bytes_received + traffic.bytes_sent) -
                                (traffic_before[i].bytes_received + traffic_before[i].bytes_sent);
    rt_all += rt;
    bytes_all += bytes;
    if (affected[i]) {
      ++out.affected;
      rt_affected += rt;
      bytes_affected += bytes;
      if (done[i]) ++out.applied;
    } else {
      out.unaffected_fetches += records.size() - fetches_before[i];
    }
    for (std::size_t r = fetches_before[i]; r < records.size(); ++r) {
      if (records[r].unavailable) ++out.unavailable_fetches;
    }
    out.watches_lost += hosts_[i]->watch()->connections_lost;
    out.watches_resumed += hosts_[i]->watch()->resumed;
  }
  out.watches_lost -= lost_before;
  out.watches_resumed -= resumed_before;
  const double all = static_cast<double>(n);
  const double aff = static_cast<double>(std::max<std::size_t>(1, out.affected));
  const double unaff = static_cast<double>(std::max<std::size_t>(1, n - out.affected));
  out.round_trips_per_host = static_cast<double>(rt_all) / all;
  out.bytes_per_host = static_cast<double>(bytes_all) / all;
  out.round_trips_per_affected = static_cast<double>(rt_affected) / aff;
  out.bytes_per_affected = static_cast<double>(bytes_affected) / aff;
  out.round_trips_per_unaffected = static_cast<double>(rt_all - rt_affected) / unaff;
  out.bytes_per_unaffected = static_cast<double>(bytes_all - bytes_affected) / unaff;
  out.p50_ms = percentile(latencies, 0.50);
  out.p99_ms = percentile(latencies, 0.99);
  out.max_ms = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  return out;
}

ScenarioFigures Fleet::policy_edit(const std::string& name, std::size_t write_on,
                                   std::optional<std::chrono::milliseconds> kill_after, std::size_t kill) {
  const std::string text = "fleet edit " + std::to_string(++edits_);
  // Affected: every host whose policy is the Legal one now (its OUs, and branches linked to it).
  std::vector<bool> affected(hosts_.size());
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const auto records = hosts_[i]->fetches();
    affected[i] = !records.empty() && records.back().policy && same_dn(records.back().gpo_dn, kLegalGpoDn);
  }
  return measure(
      name, affected, [&] { return admin_modify(directory_, write_on, kLegalPolicyDn, "description", text); },
      [&](const FetchRecord& r) { return r.policy && r.description == text; }, kill_after, kill);
}

ScenarioFigures Fleet::link_change(const std::string& name, std::size_t branch, std::size_t write_on) {
  std::vector<bool> affected(hosts_.size());
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const auto& c = hosts_[i]->computer();
    affected[i] = c.policy == SimComputer::Expect::kDomain && c.branch == branch;
  }
  return measure(
      name, affected,
      [&] { return admin_modify(directory_, write_on, branch_ou(branch), "gPLink", "[LDAP://" + kLegalGpoDn + ";0]"); },
      [&](const FetchRecord& r) { return r.policy && same_dn(r.gpo_dn, kLegalGpoDn); }, std::nullopt, 0);
}

void print(std::ostream& out, const ScenarioFigures& f) {
  out << std::fixed << std::setprecision(1);
  out << "== " << f.name << "\n";
  out << "  hosts affected            " << f.affected << ", applied " << f.applied << "\n";
  out << "  change-to-applied         p50 " << f.p50_ms << " ms, p99 " << f.p99_ms << " ms, max " << f.max_ms << " ms\n";
  out << "  fetches by unaffected     " << f.unaffected_fetches << "\n";
  out << "  fetches without directory " << f.unavailable_fetches << "\n";
  out << "  LDAP operations per host  " << std::setprecision(2) << f.round_trips_per_host << " (affected "
      << f.round_trips_per_affected << ", unaffected " << f.round_trips_per_unaffected << ")\n";
  out << "  bytes per host            " << std::setprecision(0) << f.bytes_per_host << " (affected " << f.bytes_per_affected
      << ", unaffected " << f.bytes_per_unaffected << ")\n";
  out << "  slapd CPU seconds         " << std::setprecision(2) << f.slapd_cpu_seconds << " (both providers)\n";
  out << "  watches lost / resumed    " << f.watches_lost << " / " << f.watches_resumed << "\n";
}

}  // namespace ward::fleet
