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
