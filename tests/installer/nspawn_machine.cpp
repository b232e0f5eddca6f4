#include "tests/installer/nspawn_machine.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

namespace ward::test {
namespace {

constexpr const char* kNspawn = "/usr/bin/systemd-nspawn";
constexpr const char* kNsenter = "/usr/bin/nsenter";
// nspawn refuses without a tmpfs here ("Attempted to remove disk file system under
// /run/systemd/nspawn/propagate"): /run on this machine is not a tmpfs. Mounted once, shared by
// every run, never unmounted (another test may be using it).
constexpr const char* kPropagateParent = "/run/systemd/nspawn";

bool is_mount_point(const std::filesystem::path& path) {
  struct stat here {};
  struct stat parent {};
  if (::stat(path.c_str(), &here) != 0 || ::stat(path.parent_path().c_str(), &parent) != 0) return false;
  return here.st_dev != parent.st_dev;
}

// The container's init: the child of nspawn's child (nspawn forks an "outer child" that forks
// init in the new PID namespace), or nspawn's direct child, whichever runs systemd.
pid_t find_init(pid_t nspawn) {
  std::vector<pid_t> frontier{nspawn};
  for (int depth = 0; depth < 3; ++depth) {
    std::vector<pid_t> next;
    for (const pid_t pid : frontier) {
      std::error_code ec;
      for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream children(task.path() / "children");
        pid_t child = 0;
        while (children >> child) next.push_back(child);
      }
    }
    for (const pid_t pid : next) {
      std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
      std::string name;
      std::getline(comm, name);
      if (name == "systemd") return pid;
    }
    frontier = std::move(next);
  }
  return -1;
}

}  // namespace

std::optional<std::string> NspawnMachine::unavailable() {
  if (::geteuid() != 0) return "needs root (systemd-nspawn)";
  if (::access(kNspawn, X_OK) != 0) return "systemd-nspawn not installed (package systemd-container)";
  if (::access(kNsenter, X_OK) != 0) return "nsenter not installed (util-linux)";
  if (::access("/lib/systemd/systemd", X_OK) != 0) return "no /lib/systemd/systemd to boot";
  return std::nullopt;
}

Expected<std::unique_ptr<NspawnMachine>, HarnessError> NspawnMachine::boot(NspawnOptions options) {
  if (auto why = unavailable()) return unexpected(HarnessError{"systemd-nspawn", *why});
  std::error_code ec;
  std::filesystem::create_directories(kPropagateParent, ec);
  if (!is_mount_point(kPropagateParent) && ::mount("tmpfs", kPropagateParent, "tmpfs", 0, "mode=0755") != 0 &&
      !is_mount_point(kPropagateParent)) {
    return unexpected(HarnessError{"mount tmpfs on /run/systemd/nspawn", std::strerror(errno)});
  }
  std::vector<std::string> argv{kNspawn, "--directory=/", "--volatile=yes",
                                // a throwaway overlay (upper layer in a temp dir nspawn removes): dpkg can install
                                "--overlay=/usr::/usr", "--register=no", "--keep-unit",
                                "--machine=" + options.machine_name, "--console=passive",
                                "--network-namespace-path=/run/netns/" + options.network_namespace};
  for (const auto& [host, container] : options.read_only_binds) argv.push_back("--bind-ro=" + host.string() + ":" + container);
  for (const auto& capability : options.capabilities) argv.push_back("--capability=" + capability);
  // After --boot: the init's command line. No first-boot questions; a minimal boot target.
  argv.insert(argv.end(), {"--boot", "systemd.firstboot=off", "systemd.unit=basic.target"});
  const auto started = std::chrono::steady_clock::now();
  auto nspawn = ChildProcess::spawn(argv, {}, options.console_log);
  if (!nspawn) return unexpected(nspawn.error());
  std::unique_ptr<NspawnMachine> machine(new NspawnMachine(std::move(options), std::move(*nspawn)));
  const auto deadline = started + machine->options_.boot_timeout;
  std::string state;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!machine->nspawn_.running()) {
      return unexpected(HarnessError{"systemd-nspawn exited during boot (" + machine->nspawn_.exit_description() + ")",
                                     file_tail(machine->options_.console_log)});
    }
    if (machine->init_ <= 0) machine->init_ = find_init(machine->nspawn_.pid());
    if (machine->init_ > 0) {
      const auto result = machine->run("systemctl is-system-running");
      state = result.out;
      while (!state.empty() && state.back() == '\n') state.pop_back();
      if (state == "running" || state == "degraded") {
        machine->boot_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        return machine;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return unexpected(HarnessError{"the machine did not finish booting in time (state '" + state + "')",
                                 file_tail(machine->options_.console_log)});
}

NspawnMachine::~NspawnMachine() { nspawn_.stop(std::chrono::seconds(20)); }

CapturedRun NspawnMachine::run(const std::string& command) const {
  auto dir = TempDir::create("nspawn-run");
  if (!dir) return CapturedRun{-1, "", dir.error().to_string()};
  return run_captured({kNsenter, "--target", std::to_string(init_), "--mount", "--uts", "--ipc", "--net", "--pid", "--",
                       "/bin/sh", "-c", command},
                      dir->path());
}

}  // namespace ward::test
