// The refresh loop: runs the first refresh at once, coalesces requests, answers a waiter with a
// refresh that started after it asked, polls on the timer, and lets go of a refresh that hangs.
#include "agent/daemon/refresh_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;

constexpr auto kNoPoll = std::chrono::milliseconds(std::chrono::hours(1));

template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return done();
}

struct Recorder {
  std::mutex mutex;
  std::vector<std::string> triggers;
  std::atomic<bool> hold{false};
  std::atomic<int> running{0};

  UpdateOutcome refresh(std::string_view trigger) {
    ++running;
    while (hold) std::this_thread::sleep_for(1ms);
    std::lock_guard lock(mutex);
    triggers.emplace_back(trigger);
    --running;
    return {true, false, "refresh " + std::to_string(triggers.size()) + " (" + std::string(trigger) + ")"};
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return triggers.size();
  }
};

TEST(RefreshLoopTest, FirstRefreshAtOnceThenWaitsForRequests) {
  Recorder r;
  RefreshLoop loop([&](std::string_view t) { return r.refresh(t); }, [](const UpdateOutcome&) { return kNoPoll; }, "start-up");
  ASSERT_TRUE(eventually([&] { return loop.completed() == 1; }));
  EXPECT_EQ(r.triggers.front(), "start-up");
  const auto outcome = loop.request_and_wait("control-socket");
  EXPECT_EQ(outcome.message, "refresh 2 (control-socket)");
  EXPECT_TRUE(loop.stop(1s));
}

TEST(RefreshLoopTest, RequestsWhileOneRunsAreOneMoreRefreshAndWaitersGetIt) {
  Recorder r;
  r.hold = true;
  RefreshLoop loop([&](std::string_view t) { return r.refresh(t); }, [](const UpdateOutcome&) { return kNoPoll; }, "start-up");
  ASSERT_TRUE(eventually([&] { return r.running == 1; }));
  loop.request("SIGHUP");
  loop.request("change");
  UpdateOutcome waited;
  std::thread waiter([&] { waited = loop.request_and_wait("control-socket"); });
  std::this_thread::sleep_for(20ms);
  r.hold = false;
  waiter.join();
  // The start-up refresh was running when the waiter asked: it got the next one, which the three
  // requests share.
  EXPECT_EQ(waited.message, "refresh 2 (SIGHUP)");
  EXPECT_EQ(loop.completed(), 2u);
  EXPECT_TRUE(loop.stop(1s));
  EXPECT_EQ(r.count(), 2u);
}

TEST(RefreshLoopTest, PollsWhenDue) {
  Recorder r;
  RefreshLoop loop([&](std::string_view t) { return r.refresh(t); }, [](const UpdateOutcome&) { return 10ms; }, "start-up");
  ASSERT_TRUE(eventually([&] { return r.count() >= 3; }));
  EXPECT_TRUE(loop.stop(1s));
  EXPECT_EQ(r.triggers[1], "timer");
}

TEST(RefreshLoopTest, StopLetsGoOfARefreshThatHangs) {
  auto r = std::make_shared<Recorder>();  // outlives the detached thread
  r->hold = true;
  auto loop = std::make_unique<RefreshLoop>([r](std::string_view t) { return r->refresh(t); },
                                            [](const UpdateOutcome&) { return kNoPoll; }, "start-up");
  ASSERT_TRUE(eventually([&] { return r->running == 1; }));
  UpdateOutcome waited;
  std::thread waiter([&] { waited = loop->request_and_wait("control-socket"); });
  EXPECT_FALSE(loop->stop(50ms));
  // The refresh returns at last: the loop ends without another one, and the waiter hears why.
  r->hold = false;
  waiter.join();
  EXPECT_EQ(waited.message, "wardd is stopping");
  ASSERT_TRUE(eventually([&] { return loop->ended(); }));
  std::this_thread::sleep_for(10ms);  // the detached thread's last statements after exited_
  EXPECT_EQ(r->count(), 1u);
}

}  // namespace
}  // namespace ward::agent::daemon
