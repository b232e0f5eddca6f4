// Small process and file-system helpers for test fixtures that run real services.
// Everything here is for tests: it starts children by absolute path, ends only the pids it
// started, and reports failures as HarnessError values with the command and the log's tail.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/expected.h"

namespace ward::test {

struct HarnessError {
  std::string what;    // the step that failed, e.g. "slapadd -n0 (cn=config)"
  std::string detail;  // why, with exit status, timeouts and the tail of the step's log

  std::string to_string() const { return what + ": " + detail; }
};

using Environment = std::map<std::string, std::string>;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  static Expected<TempDir, HarnessError> create(const std::string& prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
Expected<std::uint16_t, HarnessError> free_loopback_port();

// Waits up to `limit` until a process accepts connections on the Unix socket at `path`. A socket's
// file appears at bind(), before the server calls listen(): a client that only waited for the file
// (as the charon tests did for vici) could still be refused.
bool wait_for_unix_listener(const std::filesystem::path& path, std::chrono::milliseconds limit);

// "No such file or directory (errno 2)", for error messages.
std::string errno_text(int err);

// The last `max_bytes` of a file, for error messages.
std::string file_tail(const std::filesystem::path& file, std::size_t max_bytes = 2000);

Expected<void, HarnessError> write_file(const std::filesystem::path& file, const std::string& text);
// write_file, then chmod 600: for what wardd refuses to read while others can (keys, a policy
// with preshared keys: agent/config/secret_file.h).
Expected<void, HarnessError> write_private_file(const std::filesystem::path& file, const std::string& text);

// Runs argv[0] (absolute path) to completion with stdin from /dev/null and stdout+stderr
// appended to `log`. The child's environment is ours plus `env` (overrides win).
Expected<void, HarnessError> run_command(const std::vector<std::string>& argv, const Environment& env,
                                         const std::filesystem::path& log,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// What a program run to completion printed, and how it ended.
struct CapturedRun {
  int exit_code = -1;  // -1: it did not exit normally
  std::string out;
  std::string err;
  std::string describe() const { return "exit " + std::to_string(exit_code) + "\nstdout:\n" + out + "\nstderr:\n" + err; }
};

// Runs argv (absolute path, no shell) with stdin from `input`, stdout and stderr captured through
// files in `dir`. LDAPNOINIT=1 keeps the host's ldap.conf out of the OpenLDAP tools.
CapturedRun run_captured(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                         const std::filesystem::path& input = "/dev/null");

// A whole file as text ("" when it cannot be read).
std::string read_text(const std::filesystem::path& file);

// A long-running child started by us; stop() sends SIGTERM, waits, then SIGKILL. Only this pid.
class ChildProcess {
 public:
  static Expected<ChildProcess, HarnessError> spawn(const std::vector<std::string>& argv,
                                                    const Environment& env,
                                                    const std::filesystem::path& log);
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess() { stop(); }

  pid_t pid() const { return pid_; }
  // True while the child has not exited; reaps it (and records the status) when it has.
  bool running();
  std::string exit_description() const { return exit_description_; }
  // Ends the child: SIGTERM, up to `grace` to exit, then SIGKILL. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::string exit_description_;
};

std::string describe_wait_status(int status);

}  // namespace ward::test
