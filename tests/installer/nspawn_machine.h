// A real systemd booted in a container (systemd-nspawn), for tests of what ships as a systemd
// unit. The machine boots the host's own /usr on a throwaway tmpfs root (--volatile=yes) with a
// throwaway overlay on /usr, so packages can be installed with dpkg and nothing lands on the host.
// Its network is a namespace the test made (--network-namespace-path). Commands run inside with
// nsenter into the container's init's namespaces (there is no system bus on the host, so no
// machinectl). See /work/shared/reference/systemd-nspawn.md.
//
// Boot target basic.target: journald, tmpfiles and the system manager, none of the services the
// host's presets enable (slapd, krb5kdc, charon...). About 2-5 s on 2 cores.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "tests/harness/process.h"

namespace ward::test {

struct NspawnOptions {
  std::string machine_name;               // unique per test run (carries the pid)
  std::string network_namespace;          // /run/netns/<name>
  std::vector<std::pair<std::filesystem::path, std::string>> read_only_binds;  // host path -> container path
  // Kept in the machine's bounding set beyond nspawn's default set, e.g. CAP_NET_ADMIN (nspawn
  // keeps it only with --private-network, not for a namespace given by path).
  std::vector<std::string> capabilities;
  std::filesystem::path console_log;      // nspawn's own output and the console
  std::chrono::seconds boot_timeout{90};
};

class NspawnMachine {
 public:
  // Why the machine cannot run here (not root, no systemd-nspawn), or nothing when it can.
  static std::optional<std::string> unavailable();
  static Expected<std::unique_ptr<NspawnMachine>, HarnessError> boot(NspawnOptions options);
  ~NspawnMachine();  // powers off (SIGTERM to nspawn: a clean halt), SIGKILL after 20 s
  NspawnMachine(const NspawnMachine&) = delete;
  NspawnMachine& operator=(const NspawnMachine&) = delete;

  // Runs `command` with sh -c inside the machine (all its namespaces); stdout and stderr merged.
  CapturedRun run(const std::string& command) const;
  pid_t init_pid() const { return init_; }
  std::chrono::milliseconds boot_time() const { return boot_time_; }

 private:
  NspawnMachine(NspawnOptions options, ChildProcess nspawn) : options_(std::move(options)), nspawn_(std::move(nspawn)) {}

  NspawnOptions options_;
  ChildProcess nspawn_;
  pid_t init_ = -1;
  std::chrono::milliseconds boot_time_{0};
};

}  // namespace ward::test
