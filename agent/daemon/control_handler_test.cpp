// DaemonHandler against a sim dataplane and a real cache: what wardctl's commands answer.
#include "agent/daemon/control_handler.h"

#include "agent/daemon/test_fixture.h"
#include "driver/crypto/fuzz_sas.h"
#include "driver/crypto/test_sas.h"

namespace ward::agent::daemon::testing {
namespace {

constexpr const char* kPsk = "handler-test-psk-never-shown";

class HandlerTest : public DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    auto fetched = legal_policy();
    fetched.policy.rules[1].auth_methods.push_back(model::AuthMethod::preshared(kPsk));
    source_.next = fetched;
    ASSERT_TRUE(updater_->refresh("test").applied);
    handler_ = std::make_unique<DaemonHandler>(*state_, *cache_, *dataplane_, [this]() -> Expected<std::string, std::string> {
      auto outcome = updater_->refresh("control-socket");
      if (outcome.failed) return unexpected(std::move(outcome.message));
      return std::move(outcome.message);
    });
  }

  driver::SaInstall sa(std::uint32_t spi, driver::crypto::Direction direction, std::uint32_t filter) {
    auto params = driver::crypto::testing::outbound_params(driver::crypto::testing::SaShape{}, spi);
    if (direction == driver::crypto::Direction::Inbound) params = driver::crypto::fuzzing::inbound_of(params);
    return driver::SaInstall{std::move(params), filter, *IpAddress::parse("10.20.1.7"), {}};
  }

  std::unique_ptr<DaemonHandler> handler_;
};

TEST_F(HandlerTest, ShowPolicyRedactsAndNamesTheSource) {
  const auto result = handler_->show_policy();
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->at("state"), "applied");
  EXPECT_EQ(result->at("policy").at("name"), "Communication for the Legal Department");
  EXPECT_EQ(result->at("source").at("origin"), "test source");
  EXPECT_EQ(result->at("source").at("fetched_at"), 1800000000);
  EXPECT_EQ(result->dump().find(kPsk), std::string::npos);
}

TEST_F(HandlerTest, ShowFiltersBothViewsWithDriverIds) {
  const auto specific = handler_->show_filters(control::FilterView::Specific);
  ASSERT_TRUE(specific);
  const auto& rows = specific->at("filters");
  const auto& table = state_->current()->translation.table.filters;
  ASSERT_EQ(rows.size(), table.size());
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].at("id"), table[i].id);
  const auto generic = handler_->show_filters(control::FilterView::Generic);
  ASSERT_TRUE(generic);
  EXPECT_EQ(generic->at("view"), "generic");
  EXPECT_EQ(generic->at("filters").size(), 2u);
}

TEST_F(HandlerTest, ExplainNamesTheWinningRule) {
  model::PacketTuple packet{*IpAddress::parse("10.20.1.5"), *IpAddress::parse("10.20.1.7"), 6, 40000, 445};
  const auto result = handler_->explain(packet);
  ASSERT_TRUE(result) << result.error();
  EXPECT_NE(result->dump().find("Legal intra-department communications"), std::string::npos) << result->dump();
}

TEST_F(HandlerTest, ShowSaAndFlushUseTheDataplane) {
  const auto id = state_->current()->translation.table.filters.front().id;
  ASSERT_TRUE(dataplane_->add_sa(sa(0xc0ffee01, driver::crypto::Direction::Outbound, id)));
  ASSERT_TRUE(dataplane_->add_sa(sa(0xc0ffee02, driver::crypto::Direction::Inbound, id)));
  const auto shown = handler_->show_sa();
  ASSERT_TRUE(shown) << shown.error();
  ASSERT_EQ(shown->at("sas").size(), 2u);
  const auto dump = shown->dump();
  EXPECT_NE(dump.find("0xc0ffee01"), std::string::npos) << dump;
  EXPECT_NE(dump.find(state_->current()->translation.origins.at(id).rule_name), std::string::npos) << dump;
  const auto flushed = handler_->flush();
  ASSERT_TRUE(flushed) << flushed.error();
  EXPECT_EQ(flushed->at("message"), "flushed 2 SAs");
  EXPECT_TRUE(dataplane_->counters().sas.empty());
}

TEST_F(HandlerTest, ShowEventsFromTheCacheAndSince) {
  clock_.advance(std::chrono::seconds(100));
  source_.next = broken_policy();
  const auto refreshed = handler_->refresh();
  ASSERT_FALSE(refreshed);
  EXPECT_NE(refreshed.error().find("keeping policy"), std::string::npos) << refreshed.error();
  const auto all = handler_->show_events(std::nullopt);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->at("events").size(), 2u);
  EXPECT_EQ(all->at("events")[0].at("kind"), "policy-applied");
  EXPECT_EQ(all->at("events")[1].at("kind"), "policy-rejected");
  const auto recent = handler_->show_events(1800000050);
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->at("events").size(), 1u);
  EXPECT_EQ(recent->at("events")[0].at("time"), 1800000100);
}

TEST_F(HandlerTest, NoPolicyStillAnswers) {
  state_->publish(std::make_shared<const Snapshot>());
  const auto policy = handler_->show_policy();
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->at("state"), "none");
  const auto filters = handler_->show_filters(control::FilterView::Specific);
  ASSERT_TRUE(filters);
  EXPECT_TRUE(filters->at("filters").empty());
  model::PacketTuple packet{*IpAddress::parse("10.20.1.5"), *IpAddress::parse("10.20.1.7"), 6, 1, 2};
  EXPECT_TRUE(handler_->explain(packet));
}

}  // namespace
}  // namespace ward::agent::daemon::testing
