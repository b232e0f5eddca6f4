// Runs one unprivileged part of wardd as a child process and restarts it when it ends (iked's
// parent does the same for ikev2 and ca with proc_run; wardd restarts instead of exiting, because
// the dataplane must stay up and keep the last table while the child is away: fail closed).
//
//   spawn:  posix_spawn of `argv` (wardd itself with a role, or a helper), the child's end of a
//           fresh Channel on descriptor kChildChannelFd, nothing else inherited (every other
//           descriptor of wardd is close-on-exec). The child enters its sandbox itself
//           (sandbox.h), after reading what it needs.
//   watch:  a thread of its own waits on the child's pidfd. An exit is reported to `exited` with
//           how it ended ("killed by SIGSEGV", "exit status 1") and when the next start comes;
//           then `started` runs again with the new child's pid and channel, so that the owner
//           sends it its state again (the policy, its sockets).
//   pace:   restarts wait `first_delay`, doubling per quick death up to `max_delay`; a child that
//           lived `stable_after` starts the count again. A crash loop costs a few processes a
//           minute, not a core.
//   stop:   the destructor (or stop()) sends SIGTERM, waits up to `stop_grace`, then SIGKILL, and
//           reaps. Only the pid it started. The child is also told by its channel closing.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/privsep/channel.h"
#include "common/expected.h"

namespace ward::agent::privsep {

inline constexpr int kChildChannelFd = 3;

struct ChildSpec {
  std::string name;                  // "ike": for the owner's log lines
  std::vector<std::string> argv;     // argv[0] an absolute path
  std::chrono::milliseconds first_delay{100};
  std::chrono::milliseconds max_delay{5000};
  std::chrono::milliseconds stable_after{30000};
  std::chrono::milliseconds stop_grace{2000};
};

// "exit status 1", "killed by SIGKILL"
std::string describe_exit(int wait_status);

class Supervisor {
 public:
  // After every start, on the thread that started the child (start()'s caller, then the
  // supervisor's): the child's pid and the parent's end of its
  // channel (the owner keeps it; it reports Closed once that child is gone).
  using Started = std::function<void(pid_t pid, std::shared_ptr<Channel> channel)>;
  // On the supervisor's thread when a child ended without stop(): how, and the delay before the
  // next start. A spawn that fails is reported here too (pid -1, `how` says why).
  using Exited = std::function<void(pid_t pid, const std::string& how, std::chrono::milliseconds restart_in)>;

  // Starts the first child before returning; an error when it cannot be spawned at all.
  static Expected<std::unique_ptr<Supervisor>, std::string> start(ChildSpec spec, Started started, Exited exited);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  void stop();
  pid_t pid() const;                       // the running child's, -1 between two
  std::uint64_t restarts() const { return restarts_.load(); }

 private:
  Supervisor(ChildSpec spec, Started started, Exited exited);
  Expected<void, std::string> spawn();
  void watch();
  void end_child();

  ChildSpec spec_;
  Started started_;
  Exited exited_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  pid_t pid_ = -1;
  OwnedFd pidfd_;
  OwnedFd stop_fd_;   // eventfd: wakes the watcher's poll at stop()
  std::chrono::steady_clock::time_point started_at_;
  std::atomic<std::uint64_t> restarts_{0};
  std::thread thread_;
};

}  // namespace ward::agent::privsep
