// The refresh rules of policy_updater.h: a broken policy never replaces a good one, the cache is
// enforced at start-up before the source is asked, with nothing cached the boot policy (or in
// permit mode an empty table), and a fetch that hangs holds up nothing else.
#include "agent/daemon/policy_updater.h"

#include "agent/config/config.h"
#include "agent/daemon/boot_policy.h"
#include "agent/daemon/test_fixture.h"

namespace ward::agent::daemon::testing {
namespace {

using PolicyUpdaterTest = DaemonFixture;

bool has_event(const std::vector<cache::Event>& events, cache::EventKind kind, const std::string& text) {
  for (const auto& e : events) {
    if (e.kind == kind && e.reason.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_F(PolicyUpdaterTest, AppliesAGoodPolicyAndCachesIt) {
  source_.next = legal_policy();
  const auto outcome = updater_->refresh("test");
  EXPECT_TRUE(outcome.applied) << outcome.message;
  const auto snapshot = state_->current();
  EXPECT_EQ(snapshot->origin, PolicyOrigin::Source);
  EXPECT_FALSE(snapshot->translation.table.filters.empty());
  EXPECT_EQ(snapshot->fetched_at, clock_.now());
  EXPECT_TRUE(has_event(events(), cache::EventKind::PolicyApplied, "Communication for the Legal Department"));
  auto cached = cache_->with([](cache::Cache& c) { return c.load_policy(); });
  ASSERT_TRUE(cached && *cached);
  EXPECT_EQ((*cached)->policy, legal_policy().policy);
  // The same policy again: nothing to do.
  const auto again = updater_->refresh("test");
  EXPECT_FALSE(again.applied);
  EXPECT_FALSE(again.failed);
  EXPECT_NE(again.message.find("unchanged"), std::string::npos);
}

TEST_F(PolicyUpdaterTest, BrokenPolicyKeepsTheEnforcedOneAndSaysSo) {
  source_.next = legal_policy();
  ASSERT_TRUE(updater_->refresh("test").applied);
  const auto before = state_->current();
  source_.next = broken_policy();
  const auto outcome = updater_->refresh("test");
  EXPECT_FALSE(outcome.applied);
  EXPECT_TRUE(outcome.failed);
  EXPECT_NE(outcome.message.find("keeping policy \"Communication for the Legal Department\""), std::string::npos)
      << outcome.message;
  EXPECT_EQ(state_->current(), before);
  EXPECT_TRUE(has_event(events(), cache::EventKind::PolicyRejected, "\"Broken\""));
  auto cached = cache_->with([](cache::Cache& c) { return c.load_policy(); });
  ASSERT_TRUE(cached && *cached);
  EXPECT_EQ((*cached)->policy.name, "Communication for the Legal Department");
  EXPECT_NE(log_text_.str().find("event=policy-rejected"), std::string::npos) << log_text_.str();
}

TEST_F(PolicyUpdaterTest, StartsFromTheCacheWhenTheSourceIsBrokenOrUnavailable) {
  source_.next = legal_policy();
  ASSERT_TRUE(updater_->refresh("test").applied);
  make_updater();  // restart
  source_.next = broken_policy();
  updater_->refresh("start-up");
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Cache);
  EXPECT_EQ(state_->current()->policy.name, "Communication for the Legal Department");
  EXPECT_FALSE(state_->current()->translation.table.filters.empty());
  EXPECT_TRUE(has_event(events(), cache::EventKind::CacheUsed, "cached policy"));
  make_updater();
  source_.next = unexpected(FetchError{FetchError::Kind::Unavailable, "no such file", {}, {}});
  updater_->refresh("start-up");
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Cache);
  EXPECT_TRUE(has_event(events(), cache::EventKind::DirectoryUnreachable, "no such file"));
}

config::Config local_host() {
  config::Config c;
  c.local_policy = "/etc/ward/local.json";
  return c;
}

TEST_F(PolicyUpdaterTest, StartEnforcesTheCacheWithoutAskingTheSource) {
  source_.next = legal_policy();
  ASSERT_TRUE(updater_->refresh("test").applied);
  make_updater(boot_policy(local_host()));  // restart
  const int fetches = source_.fetches;
  const auto outcome = updater_->start();
  EXPECT_TRUE(outcome.applied) << outcome.message;
  EXPECT_EQ(source_.fetches, fetches);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Cache);
  EXPECT_FALSE(state_->current()->translation.table.filters.empty());
  EXPECT_TRUE(has_event(events(), cache::EventKind::CacheUsed, "until the source answers"));
}

// Nothing cached: the boot policy blocks until a policy comes, and a source that fails keeps it.
TEST_F(PolicyUpdaterTest, WithNothingCachedTheBootPolicyIsEnforcedAndKept) {
  make_updater(boot_policy(local_host()));
  ASSERT_TRUE(updater_->start().applied);
  EXPECT_EQ(source_.fetches, 0);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Boot);
  EXPECT_EQ(state_->current()->policy.name, kBootPolicyName);
  EXPECT_FALSE(state_->current()->translation.table.filters.empty());
  EXPECT_NE(log_text_.str().find("level=error event=boot-policy"), std::string::npos) << log_text_.str();
  EXPECT_TRUE(has_event(events(), cache::EventKind::BootPolicy, "boot policy"));

  source_.next = unexpected(FetchError{FetchError::Kind::Unavailable, "ldap://dc1: timed out", {}, {}});
  auto outcome = updater_->refresh("test");
  EXPECT_TRUE(outcome.failed);
  EXPECT_NE(outcome.message.find("keeping the boot policy"), std::string::npos) << outcome.message;
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Boot);
  source_.next = broken_policy();
  EXPECT_TRUE(updater_->refresh("test").failed);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Boot);

  source_.next = legal_policy();
  EXPECT_TRUE(updater_->refresh("test").applied);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Source);
}

// The administrator's "no policy assigned" beats the boot policy: nothing is enforced.
TEST_F(PolicyUpdaterTest, NoPolicyAssignedReplacesTheBootPolicy) {
  make_updater(boot_policy(local_host()));
  source_.next = unexpected(FetchError{FetchError::Kind::NotAssigned, "no IPsec policy assigned to CN=ws01", {}, {}});
  EXPECT_TRUE(updater_->refresh("start-up").applied);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::None);
  EXPECT_TRUE(state_->current()->translation.table.filters.empty());
}

// A fetch that hangs: readdress goes through, and once stopped a late answer installs nothing.
TEST_F(PolicyUpdaterTest, AFetchThatHangsHoldsUpNothingAndAfterStopInstallsNothing) {
  make_updater(boot_policy(local_host()));
  ASSERT_TRUE(updater_->start().applied);
  source_.hold = true;
  source_.next = legal_policy();
  UpdateOutcome late;
  std::thread refresher([&] { late = updater_->refresh("test"); });
  while (!source_.fetching) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(updater_->readdress({*IpAddress::parse("10.20.1.6")}).applied);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Boot);
  updater_->stop();
  source_.hold = false;
  refresher.join();
  EXPECT_FALSE(late.applied);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Boot);
}

// boot_mode = permit: with nothing cached and a broken policy, nothing is enforced, loudly.
TEST_F(PolicyUpdaterTest, PermitModeNoCacheAndABrokenPolicyMeansNoPolicyLoudly) {
  source_.next = broken_policy();
  const auto outcome = updater_->refresh("start-up");
  EXPECT_FALSE(outcome.applied);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::None);
  EXPECT_TRUE(state_->current()->translation.table.filters.empty());
  EXPECT_NE(log_text_.str().find("level=error event=no-policy"), std::string::npos) << log_text_.str();
  EXPECT_TRUE(has_event(events(), cache::EventKind::PolicyRejected, "no IPsec policy is enforced"));
  // Fixed: applied.
  source_.next = legal_policy();
  EXPECT_TRUE(updater_->refresh("test").applied);
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::Source);
}

// The directory says no policy is assigned any more: none is enforced and the cache forgets it.
TEST_F(PolicyUpdaterTest, NoPolicyAssignedEnforcesNoneAndClearsTheCache) {
  source_.next = legal_policy();
  ASSERT_TRUE(updater_->refresh("test").applied);
  source_.next = unexpected(FetchError{FetchError::Kind::NotAssigned, "no IPsec policy assigned to CN=ws01", {}, {}});
  const auto outcome = updater_->refresh("test");
  EXPECT_TRUE(outcome.applied) << outcome.message;
  EXPECT_FALSE(outcome.failed);
  const auto snapshot = state_->current();
  EXPECT_EQ(snapshot->origin, PolicyOrigin::None);
  EXPECT_TRUE(snapshot->translation.table.filters.empty());
  EXPECT_NE(snapshot->source_description.find("no IPsec policy assigned"), std::string::npos);
  EXPECT_TRUE(has_event(events(), cache::EventKind::PolicyApplied, "no IPsec policy assigned to CN=ws01"));
  auto cached = cache_->with([](cache::Cache& c) { return c.load_policy(); });
  ASSERT_TRUE(cached);
  EXPECT_FALSE(*cached);
  EXPECT_NE(updater_->refresh("test").message.find("unchanged"), std::string::npos);
  // A restart with the directory down then has nothing to fall back to: still none.
  make_updater();
  source_.next = unexpected(FetchError{FetchError::Kind::Unavailable, "down", {}, {}});
  updater_->refresh("start-up");
  EXPECT_EQ(state_->current()->origin, PolicyOrigin::None);
}

TEST_F(PolicyUpdaterTest, ReaddressRecompilesWithStableIds) {
  source_.next = legal_policy();
  ASSERT_TRUE(updater_->refresh("test").applied);
  const auto before = state_->current();
  updater_->readdress({*IpAddress::parse("10.20.1.5"), *IpAddress::parse("10.20.1.6")});
  const auto after = state_->current();
  EXPECT_GT(after->translation.table.filters.size(), before->translation.table.filters.size());
  EXPECT_EQ(after->translation.origins.size(), before->translation.origins.size());
  for (const auto& [id, origin] : before->translation.origins) EXPECT_EQ(after->translation.origins.at(id), origin);
}

}  // namespace
}  // namespace ward::agent::daemon::testing
