#include "agent/privsep/supervisor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace ward::agent::privsep {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace

std::string describe_exit(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(wait_status));
    return std::string("killed by ") + (abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(WTERMSIG(wait_status))) +
           (WCOREDUMP(wait_status) ? " (core dumped)" : "");
  }
  return "wait status " + std::to_string(wait_status);
}

Supervisor::Supervisor(ChildSpec spec, Started started, Exited exited)
    : spec_(std::move(spec)), started_(std::move(started)), exited_(std::move(exited)) {}

Expected<std::unique_ptr<Supervisor>, std::string> Supervisor::start(ChildSpec spec, Started started, Exited exited) {
  if (spec.argv.empty() || spec.argv.front().empty() || spec.argv.front().front() != '/') {
    return unexpected("the " + spec.name + " process needs an absolute program path");
  }
  std::unique_ptr<Supervisor> s(new Supervisor(std::move(spec), std::move(started), std::move(exited)));
  s->stop_fd_ = OwnedFd(eventfd(0, EFD_CLOEXEC));
  if (!s->stop_fd_) return unexpected("eventfd: " + std::string(std::strerror(errno)));
  if (auto spawned = s->spawn(); !spawned) return unexpected(std::move(spawned.error()));
  s->thread_ = std::thread([raw = s.get()] { raw->watch(); });
  return s;
}

Supervisor::~Supervisor() { stop(); }

pid_t Supervisor::pid() const {
  const std::lock_guard lock(mutex_);
  return pid_;
}

Expected<void, std::string> Supervisor::spawn() {
  auto channels = Channel::pair();
  if (!channels) return unexpected(std::move(channels.error()));
  auto& [ours, theirs] = *channels;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.native_handle(), kChildChannelFd);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // wardd blocks SIGTERM, SIGHUP and SIGINT for sigtimedwait; the child starts with none blocked.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const auto& a : spec_.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv.front(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) return unexpected("starting the " + spec_.name + " process (" + spec_.argv.front() + "): " + std::strerror(rc));
  OwnedFd pidfd(pidfd_open(pid));
  if (!pidfd) {
    const std::string why = std::strerror(errno);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return unexpected("pidfd_open for the " + spec_.name + " process: " + why);
  }
  {
    const std::lock_guard lock(mutex_);
    pid_ = pid;
    pidfd_ = std::move(pidfd);
    started_at_ = std::chrono::steady_clock::now();
  }
  // `theirs` closes here: the child holds the only copy, so its death closes our end's peer.
  if (started_) started_(pid, std::make_shared<Channel>(std::move(ours)));
  return {};
}

void Supervisor::watch() {
  auto delay = spec_.first_delay;
  for (;;) {
    int pidfd = -1;
    {
      const std::lock_guard lock(mutex_);
      if (stopping_) return;
      pidfd = pidfd_.get();
    }
    if (pidfd >= 0) {
      pollfd fds[2] = {{pidfd, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;   // stop(): it ends the child itself
      pid_t pid = -1;
      int status = 0;
      std::chrono::steady_clock::duration lived{};
      {
        const std::lock_guard lock(mutex_);
        if (stopping_) return;
        pid = pid_;
        if (waitpid(pid, &status, WNOHANG) != pid) continue;
        pid_ = -1;
        pidfd_ = OwnedFd();
        lived = std::chrono::steady_clock::now() - started_at_;
      }
      if (lived >= spec_.stable_after) delay = spec_.first_delay;
      if (exited_) exited_(pid, describe_exit(status), delay);
    }
    // The pause before the next start; stop() cuts it short.
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, delay, [this] { return stopping_; })) return;
    }
    const auto this_delay = delay;
    delay = std::min(delay * 2, spec_.max_delay);
    restarts_.fetch_add(1);
    if (auto spawned = spawn(); !spawned && exited_) exited_(-1, spawned.error(), this_delay);
  }
}

void Supervisor::end_child() {
  pid_t pid = -1;
  int pidfd = -1;
  {
    const std::lock_guard lock(mutex_);
    pid = pid_;
    pidfd = pidfd_.get();
  }
  if (pid <= 0) return;
  pollfd p{pidfd, POLLIN, 0};
  const bool told = kill(pid, SIGTERM) == 0;
  bool ended = poll(&p, 1, told ? static_cast<int>(spec_.stop_grace.count()) : 0) > 0;
  if (!ended) ended = kill(pid, SIGKILL) == 0 || waitpid(pid, nullptr, WNOHANG) == pid;
  // A child we may not signal (the parent lacks CAP_KILL over its uid) is not waited for forever:
  // its parent-death signal ends it when we exit.
  if (ended) waitpid(pid, nullptr, 0);
  const std::lock_guard lock(mutex_);
  pid_ = -1;
  pidfd_ = OwnedFd();
}

void Supervisor::stop() {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  const std::uint64_t one = 1;
  if (write(stop_fd_.get(), &one, sizeof one) < 0) {
    // An eventfd write fails only on overflow, which one write cannot cause.
  }
  if (thread_.joinable()) thread_.join();
  end_child();
}

}  // namespace ward::agent::privsep
