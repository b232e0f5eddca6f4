// A broken cache file never stops wardd: each kind of breakage is moved aside, logged and replaced
// by a new cache; what cannot be moved or must not be used gives a cache in memory.
#include "agent/daemon/cache_recovery.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "directory/model/test_support.h"

namespace ward::agent::daemon {
namespace {

namespace fs = std::filesystem;

class CacheRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ward-cache-recovery-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "state");
    ::chmod((dir_ / "state").c_str(), 0700);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path db() const { return dir_ / "state" / "ward.db"; }

  // A good cache holding the Legal policy, closed (WAL checkpointed into the file).
  void write_good_cache() {
    auto cache = cache::Cache::open(db(), clock_);
    ASSERT_TRUE(cache) << cache.error().message;
    ASSERT_TRUE(cache->store_if_valid(model::testing::load_example_policy("legal-policy.json"), {}));
  }
  void sql(const std::string& statement) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
    const int rc = sqlite3_exec(raw, statement.c_str(), nullptr, nullptr, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  std::vector<fs::path> moved_aside() const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(dir_ / "state")) {
      if (entry.path().filename().string().rfind("ward.db.broken-", 0) == 0) out.push_back(entry.path());
    }
    return out;
  }
  bool has_reset_event(cache::Cache& cache, const std::string& text) {
    auto events = cache.events_since(TimePoint{}, 10);
    if (!events) return false;
    for (const auto& e : *events) {
      if (e.kind == cache::EventKind::CacheReset && e.reason.find(text) != std::string::npos) return true;
    }
    return false;
  }
  // Opens with recovery and checks the result is a usable, empty cache at the same path with the
  // old file moved aside.
  void expect_moved_aside_and_fresh(const std::string& why_part) {
    auto cache = open_cache_or_recover(db(), clock_, log_);
    EXPECT_EQ(cache.path(), db());
    auto loaded = cache.load_policy();
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_FALSE(*loaded);
    ASSERT_EQ(moved_aside().size(), 1u) << log_text_.str();
    EXPECT_TRUE(has_reset_event(cache, "moved to " + moved_aside()[0].string())) << log_text_.str();
    EXPECT_NE(log_text_.str().find("level=error event=cache-moved-aside"), std::string::npos) << log_text_.str();
    EXPECT_NE(log_text_.str().find(why_part), std::string::npos) << log_text_.str();
    EXPECT_TRUE(cache.check_integrity());
  }

  fs::path dir_;
  ManualClock clock_{TimePoint{std::chrono::seconds(1800000000)}};
  std::ostringstream log_text_;
  Logger log_{log_text_, config::LogLevel::Debug};
};

TEST_F(CacheRecoveryTest, AGoodCacheIsUsedAsItIs) {
  write_good_cache();
  auto cache = open_cache_or_recover(db(), clock_, log_);
  auto loaded = cache.load_policy();
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_TRUE(moved_aside().empty());
  EXPECT_EQ(log_text_.str(), "");
}

TEST_F(CacheRecoveryTest, NotADatabase) {
  std::ofstream(db(), std::ios::binary) << std::string(8192, 'Z');
  expect_moved_aside_and_fresh("not a database");
}

TEST_F(CacheRecoveryTest, Truncated) {
  write_good_cache();
  fs::resize_file(db(), fs::file_size(db()) / 2);
  expect_moved_aside_and_fresh("ward.db");
}

TEST_F(CacheRecoveryTest, ANewerSchema) {
  write_good_cache();
  sql("PRAGMA user_version = 99");
  expect_moved_aside_and_fresh("cache schema version 99 is newer");
}

TEST_F(CacheRecoveryTest, AnotherSchemaUnderOurVersion) {
  sql("CREATE TABLE something (x INTEGER); PRAGMA user_version = 2");
  expect_moved_aside_and_fresh("schema does not match");
}

TEST_F(CacheRecoveryTest, ACachedPolicyThatNoLongerParses) {
  write_good_cache();
  sql("UPDATE policy SET policy_json = '{\"format\": \"ward-policy/1\", \"name\": '");
  expect_moved_aside_and_fresh("the cached policy no longer parses");
}

// Group or others could enter the directory: the preshared keys must not go there, and moving
// the file within it would not help.
TEST_F(CacheRecoveryTest, AnUnsafeDirectoryGivesACacheInMemory) {
  write_good_cache();
  ::chmod((dir_ / "state").c_str(), 0755);
  auto cache = open_cache_or_recover(db(), clock_, log_);
  EXPECT_EQ(cache.path(), "(memory)");
  EXPECT_TRUE(moved_aside().empty());
  EXPECT_TRUE(has_reset_event(cache, "has mode 0755"));
  EXPECT_NE(log_text_.str().find("level=error event=cache-in-memory"), std::string::npos) << log_text_.str();
  EXPECT_TRUE(cache.store_if_valid(model::testing::load_example_policy("legal-policy.json"), {}));
}

TEST_F(CacheRecoveryTest, MovedAsideNamesNeverCollide) {
  const TimePoint at{std::chrono::seconds(1800000000)};
  const auto first = moved_aside_name(db(), at);
  EXPECT_EQ(first.filename(), "ward.db.broken-20270115T080000Z");
  std::ofstream(first) << "x";
  EXPECT_EQ(moved_aside_name(db(), at).filename(), "ward.db.broken-20270115T080000Z-2");
}

}  // namespace
}  // namespace ward::agent::daemon
