// wardd with weak offers (agent/ikebridge/offers.h): a policy offering DES and legacy algorithms is
// applied, not rejected; what it leaves out is logged once per apply; a rule left with no usable
// offer fails closed, and `show policy`, `show filters`, explain and the dataplane's counters say so.
#include "agent/daemon/control_handler.h"
#include "agent/daemon/test_fixture.h"
#include "driver/packet/test_packets.h"

namespace ward::agent::daemon::testing {
namespace {

const IpAddress kLegalPeer = *IpAddress::parse("10.20.1.7");

// The Legal policy with Windows-era offers: its first filter action (Legal intra-department)
// offers only DES and 3DES/MD5, its key exchange settings add DES/SHA-1/group 1.
FetchedPolicy weak_policy() {
  auto fetched = legal_policy();
  auto& p = fetched.policy;
  p.key_exchange.methods.push_back({model::Cipher::Des, model::Integrity::Sha1, model::DhGroup::Modp768});
  p.filter_actions[0].security_methods = {
      {std::nullopt, model::EspTransform{model::Cipher::Des, model::Integrity::Sha1}, 100000, 900},
      {std::nullopt, model::EspTransform{model::Cipher::TripleDes, model::Integrity::Md5}, 100000, 900}};
  return fetched;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class WeakOffersTest : public DaemonFixture {
 protected:
  DaemonHandler handler() {
    return DaemonHandler(*state_, *cache_, *dataplane_, []() -> Expected<std::string, std::string> { return std::string(); });
  }
  std::vector<driver::FilterAction> actions_of_rule(std::size_t rule) const {
    std::vector<driver::FilterAction> out;
    const auto& s = *state_->current();
    for (const auto& f : s.translation.table.filters) {
      if (s.translation.origins.at(f.id).rule_index == rule) out.push_back(f.action);
    }
    return out;
  }
};

TEST_F(WeakOffersTest, AppliedWithSkippedOffersAndTheRuleWithoutOffersBlocksVisibly) {
  source_.next = weak_policy();
  const auto outcome = updater_->refresh("test");
  ASSERT_TRUE(outcome.applied) << outcome.message;
  const auto& snapshot = *state_->current();
  ASSERT_EQ(snapshot.offers.fail_closed.size(), 1u);
  EXPECT_EQ(snapshot.offers.fail_closed[0].rule_name, "Legal intra-department communications");
  for (const auto action : actions_of_rule(0)) EXPECT_EQ(action, driver::FilterAction::Block);
  for (const auto action : actions_of_rule(1)) EXPECT_EQ(action, driver::FilterAction::Negotiate);

  // The log: every skipped offer and the fail-closed rule, once.
  const auto log = log_text_.str();
  EXPECT_EQ(count(log, "key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken"), 2u)
      << "validation's policy-warning and this host's offer-skipped\n" << log;
  EXPECT_EQ(count(log, "event=offer-skipped"), 3u) << log;
  EXPECT_EQ(count(log, "event=rule-fails-closed"), 1u) << log;
  EXPECT_EQ(count(log, "security method 2 (ESP 3DES/MD5) skipped: 3DES is legacy"), 3u)
      << "policy-warning, offer-skipped, and the fail-closed rule's reason\n" << log;

  // The blocked traffic is counted against the rule.
  const auto packet = driver::testing::make_packet(*IpAddress::parse(kHostAddress), kLegalPeer, 6, 40000, 445);
  EXPECT_EQ(dataplane_->send(packet).disposition, driver::Disposition::Drop);
  EXPECT_EQ(dataplane_->counters().blocked, 1u);

  auto h = handler();
  const auto policy = h.show_policy();
  ASSERT_TRUE(policy) << policy.error();
  const auto& offers = policy->at("offers");
  EXPECT_FALSE(offers.at("legacy_algorithms").get<bool>());
  EXPECT_EQ(offers.at("skipped").size(), 3u);
  ASSERT_EQ(offers.at("fail_closed").size(), 1u);
  EXPECT_EQ(offers.at("fail_closed")[0].at("rule"), "Legal intra-department communications");
  EXPECT_EQ(offers.at("fail_closed")[0].at("blocked_packets"), 1u);
  EXPECT_NE(offers.at("fail_closed")[0].at("reason").get<std::string>().find("has no usable security method"), std::string::npos);
  EXPECT_NE(policy->at("warnings").dump().find("DES is broken"), std::string::npos) << policy->at("warnings").dump();

  const auto explained = h.explain(model::PacketTuple{*IpAddress::parse(kHostAddress), kLegalPeer, 6, 40000, 445});
  ASSERT_TRUE(explained) << explained.error();
  EXPECT_EQ(explained->at("winner").at("action"), "block");
  EXPECT_EQ(explained->at("winner").at("note").get<std::string>().rfind("fails closed: filter action", 0), 0u)
      << explained->dump();
  const auto filters = h.show_filters(control::FilterView::Specific);
  ASSERT_TRUE(filters);
  EXPECT_NE(filters->dump().find("fails closed"), std::string::npos);

  // The same policy again: nothing applied, nothing logged again.
  const auto before = log_text_.str().size();
  EXPECT_FALSE(updater_->refresh("again").applied);
  EXPECT_EQ(log_text_.str().substr(before).find("offer-skipped"), std::string::npos);
}

TEST_F(WeakOffersTest, AHostThatForbidsLegacyAlgorithmsFailsClosedWhereOnlyLegacyIsOffered) {
  auto fetched = legal_policy();
  fetched.policy.allow_legacy_algorithms = true;
  fetched.policy.key_exchange.methods = {{model::Cipher::TripleDes, model::Integrity::Sha1, model::DhGroup::Modp1024}};
  source_.next = fetched;
  // This host: [ike] legacy_algorithms = never.
  updater_.reset();
  applier_ = std::make_unique<Applier>(*dataplane_, false);
  updater_ = std::make_unique<PolicyUpdater>(&source_, *cache_, *applier_, *state_, log_, clock_,
                                             std::vector<IpAddress>{*IpAddress::parse(kHostAddress)});
  ASSERT_TRUE(updater_->refresh("test").applied);
  const auto& snapshot = *state_->current();
  EXPECT_FALSE(snapshot.offers.allow_legacy);
  EXPECT_TRUE(snapshot.offers.main_mode.empty());
  EXPECT_EQ(snapshot.offers.fail_closed.size(), 2u) << "both rules negotiate";
  for (const auto& f : snapshot.translation.table.filters) EXPECT_NE(f.action, driver::FilterAction::Negotiate);
  EXPECT_NE(log_text_.str().find("key exchange method 1 (3DES/SHA-1/group 2) skipped: 3DES is legacy"), std::string::npos);

  // The policy's own opt-in is what the default ("policy") honours.
  make_updater();
  ASSERT_TRUE(updater_->refresh("test").applied);
  EXPECT_TRUE(state_->current()->offers.allow_legacy);
  EXPECT_TRUE(state_->current()->offers.fail_closed.empty());
}

}  // namespace
}  // namespace ward::agent::daemon::testing
