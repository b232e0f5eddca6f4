#include "agent/daemon/schedule.h"

#include <gtest/gtest.h>

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;

TEST(ScheduleTest, IntervalPlusBoundedJitter) {
  std::mt19937_64 random(42);
  const TimePoint now{std::chrono::seconds(1800000000)};
  bool varied = false;
  TimePoint first = next_refresh(now, 30, random);
  for (int i = 0; i < 50; ++i) {
    const auto at = next_refresh(now, 30, random);
    EXPECT_GE(at, now + 30min);
    EXPECT_LE(at, now + 33min);
    varied = varied || at != first;
  }
  EXPECT_TRUE(varied);
  EXPECT_LE(next_refresh(now, 24 * 60, random), now + 24h + kMaxRefreshJitter);
  EXPECT_GE(next_refresh(now, 0, random), now + kDefaultPollingInterval);
}

// Every refresh moves the next poll, whatever started it: a refresh by `wardctl refresh` or by a
// change notification 10 minutes into a 30-minute interval puts the poll 30 minutes after it.
TEST(ScheduleTest, EveryRefreshMovesTheNextPoll) {
  RefreshSchedule schedule(7);
  const TimePoint start{std::chrono::seconds(1800000000)};
  auto due = schedule.refreshed(start, 30, false);
  EXPECT_GE(due, start + 30min);
  EXPECT_LE(due, start + 33min);

  const TimePoint by_control_socket = start + 10min;
  due = schedule.refreshed(by_control_socket, 30, false);
  EXPECT_GE(due, by_control_socket + 30min);
  EXPECT_LE(due, by_control_socket + 33min);

  const TimePoint by_change = by_control_socket + 25min;  // before the poll that was due
  due = schedule.refreshed(by_change, 30, false);
  EXPECT_GE(due, by_change + 30min);

  // The new policy's interval counts from the refresh that brought it.
  const TimePoint new_policy = by_change + 1min;
  due = schedule.refreshed(new_policy, 5, false);
  EXPECT_GE(due, new_policy + 5min);
  EXPECT_LE(due, new_policy + 5min + 30s);
}

// Failed refreshes retry sooner, backing off, never later than the poll; a success resets it.
TEST(ScheduleTest, FailuresRetrySoonerWithBackOff) {
  RefreshSchedule schedule(7);
  const TimePoint now{std::chrono::seconds(1800000000)};
  EXPECT_EQ(schedule.refreshed(now, 30, true), now + kFirstRetry);
  EXPECT_EQ(schedule.refreshed(now, 30, true), now + 2 * kFirstRetry);
  for (int i = 0; i < 20; ++i) (void)schedule.refreshed(now, 30, true);
  EXPECT_EQ(schedule.refreshed(now, 30, true), now + kMaxRetry);
  EXPECT_LE(schedule.refreshed(now, 1, true), now + 1min + 6s);  // the poll comes first
  EXPECT_GE(schedule.refreshed(now, 30, false), now + 30min);
  EXPECT_EQ(schedule.refreshed(now, 30, true), now + kFirstRetry);
}

}  // namespace
}  // namespace ward::agent::daemon

namespace ward::agent::daemon {
namespace {

TEST(ScheduleTest, RetryAfterFailureDoublesToTheCap) {
  EXPECT_EQ(retry_delay(1), kFirstRetry);
  EXPECT_EQ(retry_delay(2), 2 * kFirstRetry);
  EXPECT_EQ(retry_delay(3), 4 * kFirstRetry);
  EXPECT_EQ(retry_delay(100), kMaxRetry);
  EXPECT_EQ(retry_delay(~0u), kMaxRetry);
}

}  // namespace
}  // namespace ward::agent::daemon
