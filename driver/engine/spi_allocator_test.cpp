// SpiAllocator on its own: a small SPI range makes collisions and exhaustion certain, an injected
// clock ages reservations, and a pinned random start forces the walk past taken SPIs.
#include "driver/engine/spi_allocator.h"

#include <gtest/gtest.h>

#include <set>

namespace ward::driver {
namespace {

using namespace std::chrono_literals;
using crypto::SecurityProtocol;

const IpAddress kPeerA = *IpAddress::parse("10.0.0.2");
const IpAddress kPeerB = *IpAddress::parse("10.0.0.3");

class SpiAllocatorTest : public ::testing::Test {
 protected:
  SpiAllocator make(std::uint32_t first, std::uint32_t last, std::size_t max_reservations = 4096) {
    SpiAllocatorOptions options;
    options.first = first;
    options.last = last;
    options.reservation = 60s;
    options.max_reservations = max_reservations;
    return SpiAllocator(options, [this] { return now; }, [this] { return start; });
  }
  SpiAllocator::InUse used() {
    return [this](std::uint32_t spi) { return in_use.contains(spi); };
  }

  std::chrono::steady_clock::time_point now{};
  std::uint32_t start = 0;
  std::set<std::uint32_t> in_use;
};

TEST_F(SpiAllocatorTest, NeverGivesAnSpiInUseOrReservedAndReportsExhaustion) {
  auto spis = make(0x100, 0x107);
  in_use = {0x100, 0x103, 0x106};
  std::set<std::uint32_t> given;
  for (int i = 0; i < 5; ++i) {
    start = static_cast<std::uint32_t>(i * 3);   // starting points that land on taken SPIs too
    auto spi = spis.allocate(SecurityProtocol::Esp, kPeerA, used());
    ASSERT_TRUE(spi.has_value()) << spi.error();
    EXPECT_GE(*spi, 0x100U);
    EXPECT_LE(*spi, 0x107U);
    EXPECT_FALSE(in_use.contains(*spi)) << *spi;
    EXPECT_TRUE(given.insert(*spi).second) << "given twice: " << *spi;
  }
  const auto exhausted = spis.allocate(SecurityProtocol::Ah, kPeerB, used());
  ASSERT_FALSE(exhausted.has_value());
  EXPECT_EQ(exhausted.error(),
            "no inbound AH SPI for 10.0.0.3: all 8 SPIs of 256-263 are used by inbound SAs or reserved (5 reserved)");
}

TEST_F(SpiAllocatorTest, TheWalkFromATakenStartFindsTheNextFreeSpiAndWraps) {
  auto spis = make(0x100, 0x103);
  in_use = {0x102, 0x103};
  start = 2;   // 0x102: taken, 0x103 taken, wraps to 0x100
  EXPECT_EQ(spis.allocate(SecurityProtocol::Esp, kPeerA, used()).value_or(0), 0x100U);
  EXPECT_EQ(spis.allocate(SecurityProtocol::Esp, kPeerA, used()).value_or(0), 0x101U);   // 0x100 is reserved now
}

TEST_F(SpiAllocatorTest, ReleasedAndExpiredReservationsAreFreeAgainInstalledOnesEnd) {
  auto spis = make(0x100, 0x101);
  const auto first = spis.allocate(SecurityProtocol::Esp, kPeerA, used());
  const auto second = spis.allocate(SecurityProtocol::Ah, kPeerA, used());
  ASSERT_TRUE(first && second);
  ASSERT_FALSE(spis.allocate(SecurityProtocol::Esp, kPeerB, used()).has_value());
  ASSERT_NE(spis.reserved(*first), nullptr);
  EXPECT_EQ(spis.reserved(*first)->peer, kPeerA);

  // Only the reservation's own protocol gives it back; an unknown SPI is refused by name.
  const auto wrong = spis.release(*first, SecurityProtocol::Ah);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error(), "AH SPI " + std::to_string(*first) + " is not reserved (installed, released or expired already)");
  EXPECT_FALSE(spis.release(0x999, SecurityProtocol::Esp).has_value());
  ASSERT_TRUE(spis.release(*first, SecurityProtocol::Esp).has_value());
  EXPECT_EQ(spis.reserved(*first), nullptr);
  EXPECT_FALSE(spis.release(*first, SecurityProtocol::Esp).has_value()) << "released once";
  EXPECT_EQ(spis.allocate(SecurityProtocol::Esp, kPeerB, used()).value_or(0), *first);

  // Installed: the reservation ends, and the SA's SPI is the caller's "in use" from then on.
  spis.installed(*first);
  in_use.insert(*first);
  EXPECT_EQ(spis.reservations(), 1U);
  EXPECT_FALSE(spis.release(*first, SecurityProtocol::Esp).has_value());

  // The AH reservation ages out after 60 s.
  now += 59s;
  EXPECT_FALSE(spis.allocate(SecurityProtocol::Esp, kPeerB, used()).has_value());
  now += 1s;
  EXPECT_EQ(spis.reserved(*second), nullptr);
  EXPECT_EQ(spis.allocate(SecurityProtocol::Esp, kPeerB, used()).value_or(0), *second);
}

TEST_F(SpiAllocatorTest, ReservationsAreBounded) {
  auto spis = make(0x100, UINT32_MAX, 3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(spis.allocate(SecurityProtocol::Esp, kPeerA, used()).has_value());
  const auto refused = spis.allocate(SecurityProtocol::Esp, kPeerA, used());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), "no inbound ESP SPI for 10.0.0.2: 3 SPIs are reserved for negotiations already (the limit)");
}

TEST(SpiAllocatorRandom, SpisAreSpreadOverTheWholeRangeAboveTheReservedOnes) {
  SpiAllocator spis;   // the real random source
  std::set<std::uint32_t> given;
  bool above_2_to_31 = false;
  for (int i = 0; i < 1000; ++i) {
    auto spi = spis.allocate(SecurityProtocol::Esp, kPeerA, [](std::uint32_t) { return false; });
    ASSERT_TRUE(spi.has_value()) << spi.error();
    EXPECT_GE(*spi, 0x100U);
    EXPECT_TRUE(given.insert(*spi).second);
    above_2_to_31 = above_2_to_31 || *spi >= 0x80000000U;
  }
  EXPECT_TRUE(above_2_to_31) << "1000 draws never reached the upper half";
}

}  // namespace
}  // namespace ward::driver
