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
  EXPECT_EQ(schedule.due(), TimePoint::max()) << "no poll before the first refresh";
  const TimePoint start{std::chrono::seconds(1800000000)};
  schedule.refreshed(start, 30);
  EXPECT_GE(schedule.due(), start + 30min);
  EXPECT_LE(schedule.due(), start + 33min);

  const TimePoint by_control_socket = start + 10min;
  schedule.refreshed(by_control_socket, 30);
  EXPECT_GE(schedule.due(), by_control_socket + 30min);
  EXPECT_LE(schedule.due(), by_control_socket + 33min);

  const TimePoint by_change = by_control_socket + 25min;  // before the poll that was due
  schedule.refreshed(by_change, 30);
  EXPECT_GE(schedule.due(), by_change + 30min);

  // The new policy's interval counts from the refresh that brought it.
  const TimePoint new_policy = by_change + 1min;
  schedule.refreshed(new_policy, 5);
  EXPECT_GE(schedule.due(), new_policy + 5min);
  EXPECT_LE(schedule.due(), new_policy + 5min + 30s);
}

}  // namespace
}  // namespace ward::agent::daemon
