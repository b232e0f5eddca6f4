// Time as the agent sees it, injected so that tests can set it (STYLE.md: time is injected).
#pragma once

#include <chrono>

namespace ward::agent {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const noexcept = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const noexcept override { return std::chrono::system_clock::now(); }
};

// For tests: a clock that moves only when told.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : now_(start) {}
  TimePoint now() const noexcept override { return now_; }
  void advance(std::chrono::seconds by) noexcept { now_ += by; }
  void set(TimePoint to) noexcept { now_ = to; }

 private:
  TimePoint now_;
};

}  // namespace ward::agent
