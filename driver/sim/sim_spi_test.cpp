// Dataplane::allocate_spi / release_spi through the userspace packet engine (the sim backend; the
// nfqueue backend forwards to the same engine): a narrow SPI range makes every collision certain.
// Allocation skips the SPIs of inbound SAs (a bundle's AH SPI too) and of reservations; add_sa
// ends a reservation and refuses one held for another peer; release and expiry free an SPI.
#include <gtest/gtest.h>

#include <set>

#include "driver/crypto/test_sas.h"
#include "driver/sim/sim_dataplane.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::driver::sim_spi_test {
namespace {

using namespace std::chrono_literals;
using crypto::Direction;
using crypto::SecurityProtocol;

const IpAddress kPeerA = *IpAddress::parse("10.20.1.10");
const IpAddress kPeerC = *IpAddress::parse("10.20.3.40");
constexpr std::uint32_t kFilter = 3;

struct NullListener : DataplaneListener {
  void on_acquire(const Acquire&) override {}
  void on_expiry(const SaExpiry&) override {}
};

SaInstall inbound(std::uint32_t spi, const IpAddress& peer, SecurityProtocol protocol = SecurityProtocol::Esp) {
  crypto::testing::SaShape shape;
  if (protocol == SecurityProtocol::Ah) {
    shape.protocol = SecurityProtocol::Ah;
    shape.cipher = crypto::Cipher::Null;
    shape.integrity = crypto::Integrity::HmacSha256_128;
  }
  auto params = crypto::fuzzing::inbound_of(crypto::testing::outbound_params(shape, spi));
  return SaInstall{std::move(params), kFilter, peer, {}};
}

class SimSpiTest : public ::testing::Test {
 protected:
  // SPIs 0x100-0x103 only, reservations for 60 s.
  SimSpiTest() : sim(listener, options(), [this] { return now; }) {}
  static EngineOptions options() {
    EngineOptions o;
    o.spi_allocation.first = 0x100;
    o.spi_allocation.last = 0x103;
    o.spi_allocation.reservation = 60s;
    return o;
  }
  std::set<std::uint32_t> allocate_all(const IpAddress& peer) {
    std::set<std::uint32_t> given;
    while (true) {
      auto spi = sim.allocate_spi(SecurityProtocol::Esp, peer);
      if (!spi) {
        last_error = spi.error();
        return given;
      }
      EXPECT_TRUE(given.insert(*spi).second) << "given twice: " << *spi;
    }
  }

  std::chrono::steady_clock::time_point now{};
  NullListener listener;
  SimDataplane sim;
  std::string last_error;
};

TEST_F(SimSpiTest, AllocationSkipsInstalledSpisIncludingABundlesAhAndReservedOnes) {
  ASSERT_TRUE(sim.add_sa(inbound(0x101, kPeerA)).has_value());
  auto bundle = inbound(0x102, kPeerA);
  bundle.bundled_ah = inbound(0x103, kPeerA, SecurityProtocol::Ah).params;
  ASSERT_TRUE(sim.add_sa(std::move(bundle)).has_value());
  EXPECT_EQ(allocate_all(kPeerC), std::set<std::uint32_t>{0x100});
  EXPECT_EQ(last_error, "no inbound ESP SPI for 10.20.3.40: all 4 SPIs of 256-259 are used by inbound SAs or reserved (1 reserved)");
  // Deleting an SA frees its SPI for the next negotiation.
  ASSERT_TRUE(sim.delete_sa(0x101, Direction::Inbound).has_value());
  EXPECT_EQ(sim.allocate_spi(SecurityProtocol::Ah, kPeerC).value_or(0), 0x101U);
}

TEST_F(SimSpiTest, AddSaEndsTheReservationAndRefusesOneHeldForAnotherPeer) {
  const auto spis = allocate_all(kPeerA);
  ASSERT_EQ(spis.size(), 4U);
  const std::uint32_t for_a = *spis.begin();
  const auto refused = sim.add_sa(inbound(for_a, kPeerC));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), "inbound SPI " + std::to_string(for_a) +
                                 " is reserved for a negotiation with 10.20.1.10; refused for 10.20.3.40 (inbound SPIs must be unique on this host)");
  ASSERT_TRUE(sim.add_sa(inbound(for_a, kPeerA)).has_value()) << "the peer it was reserved for installs it";
  EXPECT_FALSE(sim.release_spi(for_a, SecurityProtocol::Esp).has_value()) << "installed: no reservation left, and the SA stays";
  EXPECT_EQ(sim.counters().sas.size(), 1U);
  // Released: free again at once; the others age out after 60 s.
  const std::uint32_t released = *std::next(spis.begin());
  ASSERT_TRUE(sim.release_spi(released, SecurityProtocol::Esp).has_value());
  EXPECT_EQ(allocate_all(kPeerC), std::set<std::uint32_t>{released});
  now += 60s;
  EXPECT_EQ(allocate_all(kPeerC).size(), 3U) << "every SPI but the installed SA's";
}

}  // namespace
}  // namespace ward::driver::sim_spi_test
