// ward-fleet-sim: N simulated hosts, each running wardd's directory side (bind, scope, fetch,
// watch: the same library code), against two replicating OpenLDAP providers started on this
// machine. Prints the figures of one policy edit, one GPO link change and one edit during which a
// provider is killed. Usage:
//   ward-fleet-sim [--hosts N] [--legal N] [--branches N] [--jitter-ms N] [--start-threads N]
// Run from the source tree (or set WARD_SOURCE_DIR): it loads schemas/ from there.
#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "tools/fleet-sim/fleet_run.h"

namespace {

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

int usage(const char* why) {
  std::cerr << "ward-fleet-sim: " << why
            << "\nusage: ward-fleet-sim [--hosts N] [--legal N] [--branches N] [--jitter-ms N] [--start-threads N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ward::fleet;
  FleetOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + word).c_str());
    char* end = nullptr;
    const unsigned long value = std::strtoul(argv[++i], &end, 10);
    if (end == nullptr || *end != '\0') return usage(("not a number after " + word).c_str());
    if (word == "--hosts") options.layout.hosts = value;
    else if (word == "--legal") options.layout.legal_hosts = value;
    else if (word == "--branches") options.layout.branches = value;
    else if (word == "--jitter-ms") options.tuning.jitter = std::chrono::milliseconds(value);
    else if (word == "--start-threads") options.start_threads = value;
    else return usage(("unknown option " + word).c_str());
  }
  if (options.layout.legal_hosts > options.layout.hosts || options.layout.branches == 0) {
    return usage("--legal must not exceed --hosts, and --branches must be at least 1");
  }
  const char* source = std::getenv("WARD_SOURCE_DIR");
  const std::filesystem::path source_dir = source != nullptr ? source : std::filesystem::current_path();

  std::cout << "ward-fleet-sim: " << options.layout.hosts << " hosts (" << options.layout.legal_hosts
            << " under the Legal policy), debounce " << options.tuning.debounce.count() << " ms + jitter 0.."
            << options.tuning.jitter.count() << " ms; load average " << loadavg() << "\n";
  auto fleet = Fleet::start(source_dir, options, std::cout);
  if (!fleet) {
    std::cerr << "ward-fleet-sim: " << fleet.error() << "\n";
    return 1;
  }
  print(std::cout, (*fleet)->policy_edit("policy edit (Legal policy, written on provider 2)", 1));
  std::cout << "  load average " << loadavg() << "\n";
  print(std::cout, (*fleet)->link_change("GPO link change (Legal GPO linked to OU=Branch-03,OU=Sales, on provider 1)", 3, 0));
  std::cout << "  load average " << loadavg() << "\n";
  print(std::cout, (*fleet)->policy_edit("policy edit, provider 1 killed 300 ms after the write (written on provider 2)", 1,
                                         std::chrono::milliseconds(300), 0));
  std::cout << "  load average " << loadavg() << "\n";
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << "simulator process CPU: " << usage.ru_utime.tv_sec + usage.ru_stime.tv_sec << " s, max RSS "
            << usage.ru_maxrss / 1024 << " MB\n";
  return 0;
}
