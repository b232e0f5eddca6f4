#include "tests/harness/uml_kernel.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace ward::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kPollInterval = 50ms;
constexpr int kModulesFailed = 125;       // the script's status when a module did not load

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// The one kernel version the package installed (/usr/lib/uml/modules/<version>).
Expected<std::filesystem::path, HarnessError> module_tree() {
  std::error_code ec;
  std::vector<std::filesystem::path> versions;
  for (const auto& entry : std::filesystem::directory_iterator(kUmlModules, ec)) {
    if (entry.is_directory() && std::filesystem::exists(entry.path() / "modules.dep")) versions.push_back(entry.path());
  }
  if (ec || versions.empty()) {
    return unexpected(HarnessError{"UML modules", std::string("no <version>/modules.dep under ") + kUmlModules +
                                                      " (apt-get install user-mode-linux)"});
  }
  std::sort(versions.begin(), versions.end());
  return versions.back();
}

std::int64_t read_number(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::int64_t value = -1;
  if (!(in >> value)) return -1;
  return value;
}

std::int64_t unix_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::vector<std::string> default_uml_modules() {
  return {// XFRM and the protocols
          "xfrm_user", "esp4", "esp6", "ah4", "ah6", "xfrm4_tunnel", "xfrm6_tunnel",
          // the algorithms kernel SAs name: rfc4106(gcm(aes)), cbc(aes|des3_ede), hmac(sha*|md5)
          "gcm", "ctr", "ghash-generic", "seqiv", "echainiv", "authenc", "hmac", "cbc", "des_generic", "sha512_generic", "drbg",
          // namespaces joined by veth pairs
          "veth",
          // the kernel filter table: iptables (legacy: this kernel's nf_tables has no IP families)
          "iptable_raw", "ip6table_raw", "iptable_filter", "xt_policy", "xt_esp", "xt_tcpudp", "xt_TCPMSS", "xt_multiport",
          "nfnetlink_queue", "xt_NFQUEUE"};
}

// GCC defines __SANITIZE_ADDRESS__ under -fsanitize=address; clang (the asan preset) says it
// through __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define WARD_UML_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WARD_UML_UNDER_ASAN 1
#endif
#endif

std::optional<std::string> uml_unavailable() {
#if defined(WARD_UML_UNDER_ASAN)
  return std::string("an AddressSanitizer build cannot run inside User-mode Linux (ASan's shadow memory needs a 47-bit "
                     "address space; UML gives a process 0x7fc0000000 bytes): the default build runs these tests");
#else
  if (!std::filesystem::exists(kUmlKernel)) return std::string(kUmlKernel) + " not installed (apt-get install user-mode-linux)";
  if (auto tree = module_tree(); !tree) return tree.error().to_string();
  if (geteuid() != 0) return std::string("User-mode Linux tests need root (they load modules and make namespaces inside)");
  return std::nullopt;
#endif
}

bool inside_uml() { return std::getenv("WARD_INSIDE_UML") != nullptr; }

Expected<std::vector<std::filesystem::path>, HarnessError> uml_module_files(const std::vector<std::string>& names) {
  auto tree = module_tree();
  if (!tree) return unexpected(tree.error());
  // modules.dep: "kernel/net/ipv4/esp4.ko: kernel/net/xfrm/xfrm_algo.ko", each module's
  // dependencies listed, those it needs directly first.
  std::ifstream dep(*tree / "modules.dep");
  std::map<std::string, std::vector<std::string>> depends;
  std::map<std::string, std::string> by_name;  // "esp4" -> its relative path
  std::string line;
  while (std::getline(dep, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string module = line.substr(0, colon);
    std::istringstream rest(line.substr(colon + 1));
    std::vector<std::string> needs;
    for (std::string d; rest >> d;) needs.push_back(d);
    depends[module] = needs;
    std::string stem = std::filesystem::path(module).filename().string();
    stem = stem.substr(0, stem.find(".ko"));
    by_name[stem] = module;
  }
  // Built-in modules (modules.builtin) need no file.
  std::set<std::string> builtin;
  std::ifstream builtin_list(*tree / "modules.builtin");
  while (std::getline(builtin_list, line)) {
    std::string stem = std::filesystem::path(line).filename().string();
    builtin.insert(stem.substr(0, stem.find(".ko")));
  }
  std::vector<std::filesystem::path> ordered;
  std::set<std::string> placed;
  std::function<void(const std::string&)> place = [&](const std::string& module) {
    if (!placed.insert(module).second) return;
    const auto& needs = depends[module];
    for (auto it = needs.rbegin(); it != needs.rend(); ++it) place(*it);
    ordered.push_back(*tree / module);
  };
  for (const auto& name : names) {
    std::string stem = name;
    std::replace(stem.begin(), stem.end(), '_', '-');
    auto found = by_name.find(name);
    if (found == by_name.end()) found = by_name.find(stem);
    if (found == by_name.end()) {
      std::string underscored = name;
      std::replace(underscored.begin(), underscored.end(), '-', '_');
      found = by_name.find(underscored);
    }
    if (found == by_name.end()) {
      if (builtin.contains(name)) continue;
      return unexpected(HarnessError{"UML modules", "no module " + name + " in " + (*tree / "modules.dep").string()});
    }
    place(found->second);
  }
  return ordered;
}

std::string UmlRun::describe() const {
  std::string text = timed_out ? "the UML kernel did not halt in time and was killed" : "script exit status " + std::to_string(exit_status);
  text += "; boot " + std::to_string(boot.count()) + " ms, whole run " + std::to_string(total.count()) + " ms";
  text += "\nscript output (tail):\n" + file_tail(output, 6000);
  if (exit_status != 0) text += "\nUML console (tail):\n" + file_tail(console, 3000);
  return text;
}

Expected<UmlRun, HarnessError> run_in_uml(const UmlOptions& options, const std::filesystem::path& run_dir) {
  if (auto why = uml_unavailable()) return unexpected(HarnessError{"User-mode Linux", *why});
  auto modules = uml_module_files(options.modules);
  if (!modules) return unexpected(modules.error());

  const auto status_file = run_dir / "status";
  const auto started_file = run_dir / "script-started";
  UmlRun run;
  run.output = run_dir / "script.out";
  run.console = run_dir / "console.log";
  std::error_code ec;
  for (const auto& stale : {status_file, started_file, run.output}) std::filesystem::remove(stale, ec);

  if (auto written = write_file(run_dir / "script.sh", options.script); !written) return unexpected(written.error());
  std::string init =
      "#!/bin/sh\n"
      "# PID 1 of a User-mode Linux kernel, written by ward::test::run_in_uml (tests/harness/uml_kernel.cpp).\n"
      "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
      "mount -t proc proc /proc\n"
      "mount -t sysfs sysfs /sys\n"
      "mount -t tmpfs -o mode=755 tmpfs /run\n"
      "mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm\n"
      "echo /bin/true > /proc/sys/kernel/modprobe\n"
      "ip link set lo up\n";
  Environment environment = options.environment;
  environment["WARD_INSIDE_UML"] = "1";
  for (const auto& [name, value] : environment) init += "export " + name + "=" + quoted(value) + "\n";
  init += "cd " + quoted(run_dir.string()) + "\n";
  init += quoted(WARD_UML_MODLOAD_PATH);
  for (const auto& module : *modules) init += " " + quoted(module.string());
  init += " > modules.log 2>&1\n"
          "loaded=$?\n"
          "date +%s%N > script-started\n"
          "if [ $loaded -eq 0 ]; then\n"
          "  sh ./script.sh > script.out 2>&1 < /dev/null\n"
          "  echo $? > status.tmp\n"
          "else\n"
          "  cat modules.log > script.out\n"
          "  echo " + std::to_string(kModulesFailed) + " > status.tmp\n"
          "fi\n"
          "mv status.tmp status\n"
          "sync\n"
          "halt -f\n";
  const auto init_file = run_dir / "init.sh";
  if (auto written = write_file(init_file, init); !written) return unexpected(written.error());
  std::filesystem::permissions(init_file, std::filesystem::perms::owner_all, ec);

  // Everything the child needs, made before fork (only async-signal-safe calls after it).
  std::vector<std::string> args = {kUmlKernel,
                                   "mem=" + std::to_string(options.memory_mb) + "M",
                                   "rootfstype=hostfs",
                                   "rootflags=/",
                                   "rw",
                                   "init=" + init_file.string(),
                                   "con=null",
                                   "con0=fd:0,fd:1",
                                   "uml_dir=" + run_dir.string(),
                                   "umid=ward-uml"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char path_entry[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  std::string preload_entry = std::string("LD_PRELOAD=") + WARD_UML_XSTATE_SHIM_PATH;
  char* envp[] = {path_entry, preload_entry.data(), nullptr};
  const int console = ::open(run.console.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (console < 0) return unexpected(HarnessError{"UML console " + run.console.string(), std::strerror(errno)});

  const auto start = std::chrono::steady_clock::now();
  const std::int64_t start_ns = unix_nanoseconds();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(console);
    return unexpected(HarnessError{"fork for linux.uml", std::strerror(errno)});
  }
  if (pid == 0) {
    ::setpgid(0, 0);  // its helper processes join this group, so that a timeout ends them all
    const int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in < 0 || ::dup2(null_in, STDIN_FILENO) < 0 || ::dup2(console, STDOUT_FILENO) < 0 || ::dup2(console, STDERR_FILENO) < 0) {
      ::_exit(126);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(kUmlKernel, argv.data(), envp);
    ::_exit(127);
  }
  ::close(console);

  int wait_status = 0;
  const auto deadline = start + options.limit;
  for (;;) {
    const pid_t done = ::waitpid(pid, &wait_status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      run.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &wait_status, 0);
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  ::kill(-pid, SIGKILL);  // what is left of its process group (nothing, after a clean halt)
  run.total = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (const auto script_started = read_number(started_file); script_started > start_ns) {
    run.boot = std::chrono::milliseconds((script_started - start_ns) / 1'000'000);
  }
  run.exit_status = static_cast<int>(read_number(status_file));
  return run;
}

}  // namespace ward::test
