#include "agent/daemon/lifetime_limit.h"

#include <gtest/gtest.h>

#include "driver/crypto/test_sas.h"
#include "driver/sim/sim_dataplane.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;

TEST(LifetimeLimit, LimitsTimeLifetimesAndLeavesBytesAlone) {
  const driver::SaLifetime windows{270s, 300s, 18000, 20000};
  const auto limited = limit_lifetime(windows, 9s);
  EXPECT_EQ(limited.hard_time, 9s);
  EXPECT_EQ(limited.soft_time, 6s) << "two thirds of the limit";
  EXPECT_EQ(limited.soft_bytes, 18000u);
  EXPECT_EQ(limited.hard_bytes, 20000u);
  const auto unlimited = limit_lifetime(driver::SaLifetime{}, 30s);
  EXPECT_EQ(unlimited.hard_time, 30s) << "no negotiated time limit: the limit";
  EXPECT_EQ(unlimited.soft_time, 20s);
  const auto shorter = limit_lifetime(driver::SaLifetime{4s, 5s, 0, 0}, 60s);
  EXPECT_EQ(shorter.soft_time, 4s) << "a shorter negotiated lifetime stays";
  EXPECT_EQ(shorter.hard_time, 5s);
}

class ExpiryRecorder : public driver::DataplaneListener {
 public:
  void on_acquire(const driver::Acquire&) override {}
  void on_expiry(const driver::SaExpiry& expiry) override { expiries.push_back(expiry); }
  std::vector<driver::SaExpiry> expiries;
};

// A Windows-length SA (300 s) through the limit of 9 s: the dataplane's clock expires it softly at 6 s
// and hard at 9 s.
TEST(LifetimeLimit, TheDataplaneExpiresTheSaAtTheLimit) {
  ExpiryRecorder recorder;
  auto now = std::chrono::steady_clock::now();
  auto sim = std::make_unique<driver::SimDataplane>(recorder, driver::EngineOptions{}, [&] { return now; });
  auto* engine = sim.get();
  LifetimeLimitedDataplane limited(std::move(sim), 9s);
  driver::SaInstall sa;
  sa.params = driver::crypto::testing::outbound_params({});
  sa.filter_id = 7;
  sa.peer = *ward::IpAddress::parse("192.0.2.2");
  sa.lifetime = driver::SaLifetime{270s, 300s, 0, 0};
  ASSERT_TRUE(limited.add_sa(std::move(sa)).has_value());
  now += 5s;
  engine->tick();
  EXPECT_TRUE(recorder.expiries.empty());
  now += 2s;
  engine->tick();
  ASSERT_EQ(recorder.expiries.size(), 1u);
  EXPECT_EQ(recorder.expiries[0].kind, driver::ExpiryKind::Soft);
  now += 3s;
  engine->tick();
  ASSERT_EQ(recorder.expiries.size(), 2u);
  EXPECT_EQ(recorder.expiries[1].kind, driver::ExpiryKind::Hard);
  EXPECT_TRUE(limited.counters().sas.empty()) << "the hard expiry deleted it";
}

}  // namespace
}  // namespace ward::agent::daemon
