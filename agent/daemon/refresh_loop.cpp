#include "agent/daemon/refresh_loop.h"

namespace ward::agent::daemon {

RefreshLoop::RefreshLoop(Refresh refresh, NextIn next_in, std::string first_trigger)
    : refresh_(std::move(refresh)), next_in_(std::move(next_in)) {
  {
    std::lock_guard lock(mutex_);
    (void)request_locked(first_trigger);
  }
  thread_ = std::thread([this] { run(); });
}

RefreshLoop::~RefreshLoop() {
  if (!stopped_) (void)stop(std::chrono::milliseconds::max());
}

std::uint64_t RefreshLoop::request_locked(std::string_view trigger) {
  if (requested_ == started_) {  // nothing pending: a new generation
    ++requested_;
    pending_trigger_ = trigger;
  }
  wake_.notify_one();
  return requested_;
}

void RefreshLoop::request(std::string_view trigger) {
  std::lock_guard lock(mutex_);
  (void)request_locked(trigger);
}

UpdateOutcome RefreshLoop::request_and_wait(std::string_view trigger) {
  std::unique_lock lock(mutex_);
  if (stopping_) return {false, true, "wardd is stopping"};
  const auto generation = request_locked(trigger);
  done_.wait(lock, [&] { return completed_ >= generation || exited_; });
  if (completed_ < generation) return {false, true, "wardd is stopping"};
  return last_;
}

std::uint64_t RefreshLoop::completed() const {
  std::lock_guard lock(mutex_);
  return completed_;
}

bool RefreshLoop::ended() const {
  std::lock_guard lock(mutex_);
  return exited_;
}

bool RefreshLoop::stop(std::chrono::milliseconds grace) {
  std::unique_lock lock(mutex_);
  stopped_ = true;
  stopping_ = true;
  wake_.notify_one();
  bool ended = true;
  if (grace == std::chrono::milliseconds::max()) {
    done_.wait(lock, [&] { return exited_; });
  } else {
    ended = done_.wait_for(lock, grace, [&] { return exited_; });
  }
  lock.unlock();
  if (!thread_.joinable()) return ended;
  if (ended) {
    thread_.join();
  } else {
    thread_.detach();
  }
  return ended;
}

void RefreshLoop::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto ready = [&] { return stopping_ || requested_ > started_ || std::chrono::steady_clock::now() >= due_; };
    if (due_ == std::chrono::steady_clock::time_point::max()) {
      wake_.wait(lock, ready);  // wait_until(max) overflows the timespec in some libstdc++ versions
    } else {
      wake_.wait_until(lock, due_, ready);
    }
    if (stopping_) break;
    std::string trigger = "timer";
    if (requested_ > started_) {
      trigger = std::move(pending_trigger_);
    } else {
      ++requested_;  // the timer is a request of its own
    }
    const auto generation = requested_;
    started_ = generation;
    lock.unlock();
    UpdateOutcome outcome = refresh_(trigger);
    const auto next = next_in_(outcome);
    lock.lock();
    last_ = std::move(outcome);
    completed_ = generation;
    due_ = std::chrono::steady_clock::now() + next;
    done_.notify_all();
  }
  exited_ = true;
  done_.notify_all();
}

}  // namespace ward::agent::daemon
