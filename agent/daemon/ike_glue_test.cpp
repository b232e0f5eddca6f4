// wardd's IKE glue: acquires and expiries forwarded to IKE when it runs, IKE results in the event
// log, and `show sa` joining IKE's snapshot with the dataplane's counters.
#include "agent/daemon/acquire_listener.h"
#include "agent/daemon/control_handler.h"
#include "agent/daemon/test_fixture.h"
#include "driver/crypto/fuzz_sas.h"
#include "driver/crypto/test_sas.h"

namespace ward::agent::daemon::testing {
namespace {

using IkeGlueTest = DaemonFixture;
using ike::service::IkeEvent;

driver::Acquire acquire_to(const char* peer) {
  driver::Acquire a;
  a.filter_id = 2;
  a.peer = *IpAddress::parse(peer);
  a.source = *IpAddress::parse(kHostAddress);
  a.destination = a.peer;
  a.protocol = 6;
  a.destination_port = 445;
  return a;
}

TEST_F(IkeGlueTest, WithIkeAttachedEveryAcquireGoesToItAndNoUnavailableEventIsRecorded) {
  AcquireRecorder recorder(*cache_, log_, clock_);
  std::vector<driver::Acquire> forwarded;
  std::vector<driver::SaExpiry> expiries;
  recorder.attach_ike(IkeHooks{[&](const driver::Acquire& a) { forwarded.push_back(a); },
                               [&](const driver::SaExpiry& e) { expiries.push_back(e); }});
  for (int i = 0; i < 3; ++i) recorder.on_acquire(acquire_to("10.20.1.7"));
  EXPECT_EQ(forwarded.size(), 3U) << "IKE coalesces; the recorder forwards every acquire";
  EXPECT_TRUE(events().empty());
  EXPECT_NE(log_text_.str().find("result=negotiating"), std::string::npos) << log_text_.str();
  recorder.on_expiry(driver::SaExpiry{0x1234, driver::crypto::Direction::Outbound, driver::ExpiryKind::Soft, 2,
                                      *IpAddress::parse("10.20.1.7")});
  EXPECT_EQ(expiries.size(), 1U);

  // Detached (IKE stopping): acquires are "ike unavailable" again.
  recorder.attach_ike({});
  recorder.on_acquire(acquire_to("10.20.1.8"));
  EXPECT_EQ(forwarded.size(), 3U);
  ASSERT_EQ(events().size(), 1U);
  EXPECT_EQ(events()[0].reason, kNoIkeReason);
}

TEST_F(IkeGlueTest, IkeResultsBecomeEventsWithPeerAuthMethodAndReason) {
  AcquireRecorder recorder(*cache_, log_, clock_);
  const auto peer = *IpAddress::parse("10.20.1.7");
  recorder.on_ike_event(IkeEvent{IkeEvent::Kind::MainModeEstablished, peer, ike::auth::Role::Initiator, "pre-shared key", 0, 0, 0, {}});
  recorder.on_ike_event(IkeEvent{IkeEvent::Kind::QuickModeEstablished, peer, ike::auth::Role::Initiator, "pre-shared key", 2,
                                 0x1001, 0x2002, {}});
  IkeEvent failure{IkeEvent::Kind::MainModeFailed, peer, ike::auth::Role::Initiator, "pre-shared key", 0, 0, 0,
                   "no answer after 4 sends in state MainMode5Sent"};
  failure.failure = ike::service::FailureKind::TimedOut;
  recorder.on_ike_event(failure);
  recorder.on_ike_event(failure);   // the same failure again within the interval: logged, not recorded
  const auto all = events();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].kind, cache::EventKind::IkeSuccess);
  EXPECT_EQ(all[0].auth_method, "pre-shared key");
  EXPECT_EQ(all[1].reason, "quick mode established for filter 2: SPI in 0x00001001, out 0x00002002");
  EXPECT_EQ(all[2].kind, cache::EventKind::IkeFailure);
  EXPECT_EQ(all[2].peer, "10.20.1.7");
  // The helpdesk's words first, the whole reason after them.
  EXPECT_EQ(all[2].reason, "main mode failed: negotiation timed out (no answer after 4 sends in state MainMode5Sent)");
  clock_.advance(kAcquireEventInterval);
  recorder.on_ike_event(failure);
  EXPECT_EQ(events().size(), 4U);
}

TEST_F(IkeGlueTest, ShowSaListsIkeSasWithTheDataplanesCounters) {
  auto fetched = legal_policy();
  source_.next = fetched;
  ASSERT_TRUE(updater_->refresh("test").applied);
  const auto filter = state_->current()->translation.table.filters.front().id;
  const auto rule = state_->current()->translation.origins.at(filter).rule_name;
  auto install = [&](std::uint32_t spi, driver::crypto::Direction direction) {
    auto params = driver::crypto::testing::outbound_params(driver::crypto::testing::SaShape{}, spi);
    if (direction == driver::crypto::Direction::Inbound) params = driver::crypto::fuzzing::inbound_of(params);
    ASSERT_TRUE(dataplane_->add_sa(driver::SaInstall{std::move(params), filter, *IpAddress::parse("10.20.1.7"), {}}));
  };
  install(0x1001, driver::crypto::Direction::Inbound);
  install(0x2002, driver::crypto::Direction::Outbound);

  DaemonHandler handler(*state_, *cache_, *dataplane_, [] { return Expected<std::string, std::string>(std::string("ok")); });
  const auto without = handler.show_sa();
  ASSERT_TRUE(without);
  EXPECT_FALSE(without->contains("quick_modes")) << "no IKE running: the dataplane's SAs only";

  ike::service::IkeSnapshot ike;
  ike::service::MainModeSaInfo mm;
  mm.peer = *IpAddress::parse("10.20.1.7");
  mm.state = "MainMode6Received";
  mm.auth_method = "pre-shared key";
  mm.cipher = "AES-CBC-256";
  mm.hash = "SHA2-256";
  mm.group = 19;
  mm.lifetime_left = std::chrono::seconds(28000);
  ike.main_modes.push_back(mm);
  ike::service::QuickModeSaInfo qm;
  qm.peer = mm.peer;
  qm.filter_id = filter;
  qm.inbound_spi = 0x1001;
  qm.outbound_spi = 0x2002;
  qm.pfs_group = ike::IkeGroupDescription::Ecp256;
  qm.auth_method = "pre-shared key";
  qm.lifetime_left = std::chrono::seconds(3500);
  ike.quick_modes.push_back(qm);
  ike.counters.quick_modes_established = 1;
  ike.counters.ikev2_fragments_dropped = 3;
  handler.set_ike_snapshots([&] { return std::vector<ike::service::IkeSnapshot>{ike}; });
  const auto result = handler.show_sa();
  ASSERT_TRUE(result);
  ASSERT_EQ((*result)["main_modes"].size(), 1U);
  EXPECT_EQ((*result)["main_modes"][0]["cipher"], "AES-CBC-256");
  EXPECT_EQ((*result)["main_modes"][0]["lifetime_left"], 28000);
  ASSERT_EQ((*result)["quick_modes"].size(), 1U);
  const auto& row = (*result)["quick_modes"][0];
  EXPECT_EQ(row["spi_in"], "0x00001001");
  EXPECT_EQ(row["spi_out"], "0x00002002");
  EXPECT_EQ(row["rule"], rule);
  EXPECT_EQ(row["pfs_group"], 19);
  EXPECT_EQ(row["packets_in"], 0);
  EXPECT_EQ(row["bytes_out"], 0);
  EXPECT_EQ((*result)["ike"][0]["quick_modes_established"], 1);
  EXPECT_EQ((*result)["ike"][0]["ikev2_fragments_dropped"], 3);   // RFC 7383 fragments refused
  EXPECT_EQ((*result)["sas"].size(), 2U);
}

}  // namespace
}  // namespace ward::agent::daemon::testing
