// For wardd's unit tests: a cache in a temporary directory, a sim dataplane, a policy source that
// returns what the test says, and the pieces wired as main.cpp wires them.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "agent/cache/cache.h"
#include "agent/daemon/agent_state.h"
#include "agent/daemon/applier.h"
#include "agent/daemon/log.h"
#include "agent/daemon/policy_source.h"
#include "agent/daemon/policy_updater.h"
#include "agent/daemon/shared_cache.h"
#include "directory/model/test_support.h"
#include "driver/sim/sim_dataplane.h"

namespace ward::agent::daemon::testing {

inline constexpr const char* kHostAddress = "10.20.1.5";

class ScriptedSource final : public PolicySource {
 public:
  Expected<FetchedPolicy, FetchError> fetch() override {
    ++fetches;
    fetching = true;
    while (hold) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a directory that hangs
    fetching = false;
    return next;
  }
  std::string describe() const override { return "test source"; }
  Expected<FetchedPolicy, FetchError> next = unexpected(FetchError{FetchError::Kind::Unavailable, "nothing yet", {}, {}});
  std::atomic<int> fetches{0};
  std::atomic<bool> hold{false};
  std::atomic<bool> fetching{false};
};

class NullListener final : public driver::DataplaneListener {
 public:
  void on_acquire(const driver::Acquire&) override {}
  void on_expiry(const driver::SaExpiry&) override {}
};

inline FetchedPolicy legal_policy() {
  FetchedPolicy fetched{model::testing::load_example_policy("legal-policy.json"), {}, {}};
  fetched.source.change_stamp = "1";
  return fetched;
}

// A policy that parses but does not validate: a rule names a filter action that does not exist.
inline FetchedPolicy broken_policy() {
  auto fetched = legal_policy();
  fetched.policy.name = "Broken";
  fetched.policy.rules[0].filter_action = model::testing::guid("{99999999-9999-9999-9999-999999999999}");
  return fetched;
}

class DaemonFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wardd-test-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto opened = cache::Cache::open(dir_ / "state" / "ward.db", clock_);
    ASSERT_TRUE(opened) << opened.error().message;
    cache_ = std::make_unique<SharedCache>(std::move(*opened));
    make_updater();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A fresh daemon (new state, dataplane and updater) over the same cache: a restart. `boot` is
  // the boot policy (none: boot_mode = permit).
  void make_updater(std::optional<model::Policy> boot = std::nullopt) {
    updater_.reset();
    applier_.reset();
    dataplane_ = std::make_unique<driver::SimDataplane>(listener_);
    applier_ = std::make_unique<Applier>(*dataplane_);
    state_ = std::make_unique<AgentState>();
    updater_ = std::make_unique<PolicyUpdater>(&source_, *cache_, *applier_, *state_, log_, clock_,
                                               std::vector<IpAddress>{*IpAddress::parse(kHostAddress)}, std::move(boot));
  }

  std::vector<cache::Event> events() {
    auto all = cache_->with([](cache::Cache& c) { return c.events_since(TimePoint{}, 100); });
    EXPECT_TRUE(all);
    return all ? *all : std::vector<cache::Event>{};
  }

  ManualClock clock_{TimePoint{std::chrono::seconds(1800000000)}};
  std::filesystem::path dir_;
  std::ostringstream log_text_;
  Logger log_{log_text_, config::LogLevel::Debug};
  ScriptedSource source_;
  NullListener listener_;
  std::unique_ptr<SharedCache> cache_;
  std::unique_ptr<driver::SimDataplane> dataplane_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<AgentState> state_;
  std::unique_ptr<PolicyUpdater> updater_;
};

}  // namespace ward::agent::daemon::testing
