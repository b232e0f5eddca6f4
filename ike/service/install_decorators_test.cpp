// The dataplane decorators quick modes install through (install_decorators.h), over a real
// SimDataplane: an initiator's outbound SA waits until release() (the responder has had message 3),
// a waiting SA that is deleted never reaches the dataplane, a default response SA brings the
// dynamic filter of its traffic, and inbound SPIs come from the dataplane behind.
#include "ike/service/install_decorators.h"

#include <gtest/gtest.h>

#include "driver/crypto/test_sas.h"
#include "driver/sim/sim_dataplane.h"

namespace ward::ike::service {
namespace {

using driver::crypto::Direction;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kUs = ip("10.0.0.1");
const IpAddress kPeer = ip("10.0.0.2");
constexpr std::uint32_t kFilter = 4;

struct Listener : driver::DataplaneListener {
  void on_acquire(const driver::Acquire&) override {}
  void on_expiry(const driver::SaExpiry&) override {}
};

driver::SaInstall sa(std::uint32_t spi, Direction direction) {
  auto params = driver::crypto::testing::outbound_params(driver::crypto::testing::SaShape{}, spi);
  if (direction == Direction::Inbound) params = driver::crypto::fuzzing::inbound_of(params);
  return driver::SaInstall{std::move(params), kFilter, kPeer, {}};
}

bool installed(const driver::Dataplane& dataplane, std::uint32_t spi, Direction direction) {
  for (const auto& s : dataplane.counters().sas) {
    if (s.spi == spi && s.direction == direction) return true;
  }
  return false;
}

TEST(OutboundAfterMessage3, HoldsOutboundSasUntilReleasedAndPassesInboundOnesAtOnce) {
  Listener listener;
  driver::SimDataplane sim(listener);
  OutboundAfterMessage3 installer(sim);

  // Not holding: straight through.
  ASSERT_TRUE(installer.add_sa(sa(0x100, Direction::Outbound)).has_value());
  EXPECT_TRUE(installed(sim, 0x100, Direction::Outbound));

  installer.hold();
  ASSERT_TRUE(installer.add_sa(sa(0x200, Direction::Inbound)).has_value());
  ASSERT_TRUE(installer.add_sa(sa(0x201, Direction::Outbound)).has_value());
  EXPECT_TRUE(installed(sim, 0x200, Direction::Inbound));
  EXPECT_FALSE(installed(sim, 0x201, Direction::Outbound));
  EXPECT_TRUE(installer.waiting());

  ASSERT_TRUE(installer.release().has_value());
  EXPECT_TRUE(installed(sim, 0x201, Direction::Outbound));
  EXPECT_FALSE(installer.waiting());
  // Released: the next outbound SA is not held.
  ASSERT_TRUE(installer.add_sa(sa(0x202, Direction::Outbound)).has_value());
  EXPECT_TRUE(installed(sim, 0x202, Direction::Outbound));
}

TEST(OutboundAfterMessage3, AWaitingSaThatIsDeletedNeverReachesTheDataplane) {
  Listener listener;
  driver::SimDataplane sim(listener);
  OutboundAfterMessage3 installer(sim);
  installer.hold();
  ASSERT_TRUE(installer.add_sa(sa(0x301, Direction::Outbound)).has_value());
  ASSERT_TRUE(installer.add_sa(sa(0x302, Direction::Outbound)).has_value());
  EXPECT_TRUE(sim.counters().sas.empty());
  ASSERT_TRUE(installer.delete_sa(0x301, Direction::Outbound).has_value());
  // Of another peer: not this waiting SA.
  EXPECT_FALSE(installer.delete_sa_of_peer(0x302, Direction::Outbound, ip("10.0.0.9")).has_value());
  ASSERT_TRUE(installer.delete_sa_of_peer(0x302, Direction::Outbound, kPeer).has_value());
  EXPECT_FALSE(installer.waiting());
  ASSERT_TRUE(installer.release().has_value());
  EXPECT_TRUE(sim.counters().sas.empty());
}

TEST(DefaultResponseInstaller, EverySaBringsTheDynamicFilterOfItsTraffic) {
  Listener listener;
  driver::SimDataplane sim(listener);
  const driver::DynamicSelector selector{kUs, kPeer, 6, 445, 40000};
  DefaultResponseInstaller installer(sim, selector);
  ASSERT_TRUE(installer.add_sa(sa(0x400, Direction::Inbound)).has_value());
  ASSERT_TRUE(installer.add_sa(sa(0x401, Direction::Outbound)).has_value());
  const auto counters = sim.counters();
  ASSERT_EQ(counters.sas.size(), 2U);
  for (const auto& s : counters.sas) EXPECT_NE(s.dynamic_filter_id, 0U) << "SA " << s.spi;
  // Directly, without the decorator: no dynamic filter.
  ASSERT_TRUE(sim.add_sa(sa(0x402, Direction::Inbound)).has_value());
  for (const auto& s : sim.counters().sas) {
    if (s.spi == 0x402) {
      EXPECT_EQ(s.dynamic_filter_id, 0U);
    }
  }
}

// Quick modes take their inbound SPIs through the decorators: the dataplane's own allocator answers.
TEST(InstallDecorators, SpisAreAllocatedAndReleasedByTheDataplaneBehind) {
  Listener listener;
  driver::SimDataplane sim(listener);
  OutboundAfterMessage3 initiator(sim);
  DefaultResponseInstaller responder(sim, driver::DynamicSelector{kUs, kPeer, 0, 0, 0});
  const auto a = initiator.allocate_spi(driver::crypto::SecurityProtocol::Esp, kPeer);
  const auto b = responder.allocate_spi(driver::crypto::SecurityProtocol::Esp, kPeer);
  ASSERT_TRUE(a.has_value()) << a.error();
  ASSERT_TRUE(b.has_value()) << b.error();
  EXPECT_NE(*a, *b);   // one allocator behind both
  EXPECT_TRUE(initiator.release_spi(*a, driver::crypto::SecurityProtocol::Esp).has_value());
  EXPECT_TRUE(responder.release_spi(*b, driver::crypto::SecurityProtocol::Esp).has_value());
}

}  // namespace
}  // namespace ward::ike::service
