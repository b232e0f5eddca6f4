#include "driver/xfrm/port_masks.h"

#include <random>

#include <gtest/gtest.h>

namespace ward::driver::xfrm {
namespace {

bool covered(const std::vector<PortMask>& masks, std::uint16_t port) {
  for (const auto& m : masks) {
    if ((port & m.mask) == (m.port & m.mask)) return true;
  }
  return false;
}

TEST(PortMasks, AnySingleAndAlignedRanges) {
  EXPECT_EQ(port_range_to_masks(PortRange::any()), (std::vector<PortMask>{{0, 0}}));
  EXPECT_EQ(port_range_to_masks(PortRange::single(445)), (std::vector<PortMask>{{445, 0xFFFF}}));
  EXPECT_EQ(port_range_to_masks(PortRange{1024, 2047}), (std::vector<PortMask>{{1024, 0xFC00}}));
  EXPECT_EQ(port_range_to_masks(PortRange{1024, 65535}).size(), 6u);  // 1024 2048 4096 ... 32768 blocks
}

TEST(PortMasks, RandomRangesAreCoveredExactly) {
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::uint16_t a = static_cast<std::uint16_t>(random());
    std::uint16_t b = static_cast<std::uint16_t>(random());
    if (a > b) std::swap(a, b);
    const PortRange range{a, b};
    const auto masks = port_range_to_masks(range);
    EXPECT_LE(masks.size(), 30u);
    for (std::uint32_t port = 0; port <= 65535; port += 1 + (random() % 13)) {
      EXPECT_EQ(covered(masks, static_cast<std::uint16_t>(port)), range.contains(static_cast<std::uint16_t>(port)))
          << "range " << range.to_string() << " port " << port;
    }
    EXPECT_TRUE(covered(masks, a));
    EXPECT_TRUE(covered(masks, b));
  }
}

}  // namespace
}  // namespace ward::driver::xfrm
