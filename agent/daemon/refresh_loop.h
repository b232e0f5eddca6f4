// wardd's policy refreshes, on one thread of their own. A refresh can take as long as the
// directory makes it (a server that accepts TCP and never answers holds it for the LDAP
// timeouts), so nobody else waits on one: the main loop (signals, addresses), the change watcher
// and the control socket only ask for one.
//
//   request(trigger)           asynchronous; requests made while one is pending are one refresh
//   request_and_wait(trigger)  the control socket's `wardctl refresh`: waits for a refresh that
//                              started after the request and returns its outcome
//   the poll timer             the loop refreshes on its own when `next_in` (asked after every
//                              refresh, with its outcome) says the next poll is due
//   stop(grace)                shutdown: a refresh in progress is waited for up to `grace`
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "agent/daemon/policy_updater.h"

namespace ward::agent::daemon {

class RefreshLoop {
 public:
  using Refresh = std::function<UpdateOutcome(std::string_view trigger)>;
  // How long after a refresh with this outcome the next poll is due.
  using NextIn = std::function<std::chrono::milliseconds(const UpdateOutcome&)>;

  // Starts the thread, which refreshes at once with `first_trigger`.
  RefreshLoop(Refresh refresh, NextIn next_in, std::string first_trigger);
  ~RefreshLoop();  // stop() with no time limit, unless stop() was called
  RefreshLoop(const RefreshLoop&) = delete;
  RefreshLoop& operator=(const RefreshLoop&) = delete;

  void request(std::string_view trigger);
  UpdateOutcome request_and_wait(std::string_view trigger);

  // Ends the loop. True when the thread ended within `grace`. False when a refresh was still
  // running: the thread is then detached and still uses what `refresh` uses, so the caller must
  // end the process (_exit) without destroying that.
  bool stop(std::chrono::milliseconds grace);

  std::uint64_t completed() const;  // refreshes done
  bool ended() const;               // the thread has left its loop (after stop())

 private:
  std::uint64_t request_locked(std::string_view trigger);
  void run();

  Refresh refresh_;
  NextIn next_in_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;  // the loop: a request, stop, or the timer
  std::condition_variable done_;  // waiters: a refresh completed, or the loop ended
  bool stopping_ = false;
  bool exited_ = false;
  bool stopped_ = false;
  std::uint64_t requested_ = 0;  // generations: a request asks for requested_ to run
  std::uint64_t started_ = 0;
  std::uint64_t completed_ = 0;
  std::string pending_trigger_;
  UpdateOutcome last_;
  std::chrono::steady_clock::time_point due_ = std::chrono::steady_clock::time_point::max();
  std::thread thread_;
};

}  // namespace ward::agent::daemon
