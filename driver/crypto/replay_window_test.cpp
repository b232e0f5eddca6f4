#include "driver/crypto/replay_window.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ward::driver::crypto {
namespace {

// check() then commit(), as the packet path does once the ICV verified.
bool receive(ReplayWindow& window, std::uint32_t low) {
  auto sequence = window.check(low);
  if (!sequence) return false;
  window.commit(*sequence);
  return true;
}

TEST(ReplayWindow, RejectsDuplicatesAndZero) {
  auto window = ReplayWindow::create(64, false);
  ASSERT_TRUE(window);
  EXPECT_FALSE(window->check(0));
  EXPECT_TRUE(receive(*window, 1));
  EXPECT_FALSE(receive(*window, 1));
  EXPECT_TRUE(receive(*window, 3));
  EXPECT_TRUE(receive(*window, 2));  // late but inside the window
  EXPECT_FALSE(receive(*window, 2));
  EXPECT_EQ(window->highest(), 3U);
}

TEST(ReplayWindow, CheckDoesNotMoveTheWindowOnlyCommitDoes) {
  auto window = ReplayWindow::create(64, false);
  ASSERT_TRUE(window);
  // A forged packet with a huge number passes check() but, failing its ICV, is never committed:
  ASSERT_TRUE(window->check(1000000));
  EXPECT_EQ(window->highest(), 0U);
  EXPECT_TRUE(receive(*window, 5));  // so genuine traffic is still accepted
}

TEST(ReplayWindow, LeftOfTheWindowIsRejected) {
  for (const std::uint32_t size : {64U, 100U, 1024U}) {
    auto window = ReplayWindow::create(size, false);
    ASSERT_TRUE(window);
    ASSERT_TRUE(receive(*window, 5000));
    EXPECT_TRUE(window->check(5000 - size + 1)) << size;  // the oldest slot still in the window
    EXPECT_FALSE(window->check(5000 - size)) << size;     // one older: out
  }
}

TEST(ReplayWindow, SlidingClearsOldBits) {
  auto window = ReplayWindow::create(64, false);
  ASSERT_TRUE(window);
  for (std::uint32_t s = 1; s <= 64; ++s) ASSERT_TRUE(receive(*window, s));
  // Jump far ahead: the ring blocks that are reused must not remember 1..64.
  ASSERT_TRUE(receive(*window, 64 + 64 * 3 + 5));
  for (std::uint32_t s = 64 * 3 + 6; s < 64 + 64 * 3 + 5; ++s) EXPECT_TRUE(window->check(s)) << s;
  // Every second number of a long run, then the gaps, then all repeats.
  auto fresh = ReplayWindow::create(128, false);
  ASSERT_TRUE(fresh);
  for (std::uint32_t s = 2; s <= 2000; s += 2) ASSERT_TRUE(receive(*fresh, s));
  for (std::uint32_t s = 2000 - 127; s <= 2000; ++s) EXPECT_EQ(receive(*fresh, s), s % 2 == 1) << s;
}

TEST(ReplayWindow, SizeLimits) {
  EXPECT_TRUE(ReplayWindow::create(1024, false));
  auto too_big = ReplayWindow::create(1025, false);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().find("1025"), std::string::npos);
  auto disabled = ReplayWindow::create(0, false);
  ASSERT_TRUE(disabled);
  EXPECT_TRUE(receive(*disabled, 7));
  EXPECT_TRUE(receive(*disabled, 7));  // no anti-replay
}

TEST(ReplayWindow, ExtendedSequenceNumbersCrossTheSubspace) {
  // RFC 4303 Appendix A: the receiver infers the high 32 bits.
  auto window = ReplayWindow::create(64, true);
  ASSERT_TRUE(window);
  // Right at the start a number just below 2^32 reads as "before 1" (RFC 4303 A2.2) ...
  EXPECT_FALSE(window->check(0xfffffff0U));
  // ... once the window has left the bottom of the first subspace it is simply ahead.
  ASSERT_TRUE(receive(*window, 100));
  ASSERT_TRUE(receive(*window, 0xfffffff0U));
  auto next = window->check(0x00000002U);  // wrapped: high half becomes 1
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 0x100000002ULL);
  window->commit(*next);
  // A late packet from before the wrap, inside the window, keeps high half 0.
  auto late = window->check(0xfffffff5U);
  ASSERT_TRUE(late);
  EXPECT_EQ(*late, 0xfffffff5ULL);
  window->commit(*late);
  EXPECT_FALSE(window->check(0xfffffff5U));  // and is a replay the second time
  EXPECT_FALSE(window->check(0xfffffff0U));
  // A low half below the window is read as the next subspace (RFC 4303 A2.2); the ICV decides.
  auto ahead = window->check(0xffff0000U);
  ASSERT_TRUE(ahead);
  EXPECT_EQ(*ahead, 0x1ffff0000ULL);
  EXPECT_EQ(window->highest(), 0x100000002ULL);
}

TEST(ReplayWindow, WithoutEsnTheCounterDoesNotWrap) {
  auto window = ReplayWindow::create(64, false);
  ASSERT_TRUE(window);
  ASSERT_TRUE(receive(*window, 0xffffffffU));
  EXPECT_FALSE(window->check(1));  // far left of the window, not a new cycle
}

}  // namespace
}  // namespace ward::driver::crypto
