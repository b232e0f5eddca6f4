#include "agent/cache/cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/cache/ward_schema.h"
#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"

namespace ward::agent::cache {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ward-cache-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

mode_t mode_of(const fs::path& p) {
  struct stat info {};
  EXPECT_EQ(::stat(p.c_str(), &info), 0) << p;
  return info.st_mode & 07777;
}

const TimePoint kStart = TimePoint(seconds(1'800'000'000));

PolicySource legal_source() {
  return {"CN=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE},CN=IP Security,CN=System,DC=example,DC=com",
          "CN={31B2F340-016D-11D2-945F-00C04FB984F9},CN=Policies,CN=System,DC=example,DC=com", "Legal IPsec",
          "OU=Legal,DC=example,DC=com", "20261125143000.0Z"};
}

model::Policy legal_with_psk() {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  policy.rules[1].auth_methods.push_back(model::AuthMethod::preshared("correct horse battery staple"));
  return policy;
}

class CacheTest : public ::testing::Test {
 protected:
  fs::path db_path() const { return dir_.path() / "state" / "ward.db"; }
  Cache open_cache() {
    auto cache = Cache::open(db_path(), clock_);
    if (!cache) throw std::runtime_error(cache.error().message);
    return std::move(cache).value();
  }

  TempDir dir_;
  ManualClock clock_{kStart};
};

TEST_F(CacheTest, FilesArePrivate) {
  auto cache = open_cache();
  ASSERT_TRUE(cache.store_if_valid(legal_with_psk(), legal_source()).has_value());
  EXPECT_EQ(mode_of(db_path().parent_path()), 0700u);
  EXPECT_EQ(mode_of(db_path()), 0600u);
  ASSERT_TRUE(fs::exists(db_path().string() + "-wal")) << "WAL mode";
  EXPECT_EQ(mode_of(db_path().string() + "-wal"), 0600u);
}

TEST_F(CacheTest, LaxFileIsTightened) {
  fs::create_directory(dir_.path() / "state");
  ::chmod((dir_.path() / "state").c_str(), 0700);
  { std::ofstream(db_path()).put('\0').flush(); }
  fs::resize_file(db_path(), 0);
  ::chmod(db_path().c_str(), 0644);
  auto cache = open_cache();
  EXPECT_EQ(mode_of(db_path()), 0600u);
}

TEST_F(CacheTest, RefusesADirectoryOthersCanEnter) {
  fs::create_directory(dir_.path() / "state");
  ::chmod((dir_.path() / "state").c_str(), 0755);
  auto cache = Cache::open(db_path(), clock_);
  ASSERT_FALSE(cache.has_value());
  EXPECT_EQ(cache.error().kind, CacheError::Kind::UnsafeDirectory);
  EXPECT_NE(cache.error().message.find("has mode 0755"), std::string::npos) << cache.error().message;
}

TEST_F(CacheTest, StoresAndLoadsThePolicyWithItsSource) {
  auto cache = open_cache();
  auto empty = cache.load_policy();
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->has_value());

  const auto policy = legal_with_psk();
  auto stored = cache.store_if_valid(policy, legal_source());
  ASSERT_TRUE(stored.has_value()) << stored.error().message;

  clock_.advance(hours(1));
  auto loaded = cache.load_policy();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->policy, policy);  // the preshared key survives the round trip
  EXPECT_EQ((*loaded)->source, legal_source());
  EXPECT_EQ((*loaded)->fetched_at, kStart);
}

TEST_F(CacheTest, SurvivesReopen) {
  { auto cache = open_cache(); ASSERT_TRUE(cache.store_if_valid(legal_with_psk(), legal_source()).has_value()); }
  auto cache = open_cache();
  auto loaded = cache.load_policy();
  ASSERT_TRUE(loaded.has_value() && loaded->has_value());
  EXPECT_EQ((*loaded)->policy.name, "Communication for the Legal Department");
}

TEST_F(CacheTest, ABrokenPolicyNeverReplacesTheGoodOne) {
  auto cache = open_cache();
  ASSERT_TRUE(cache.store_if_valid(legal_with_psk(), legal_source()).has_value());

  auto broken = legal_with_psk();
  broken.name = "Broken";
  broken.filter_actions[0].security_methods.clear();  // negotiate with no security method
  auto refused = cache.store_if_valid(broken, PolicySource{"CN=broken", "", "", "", "2"});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, CacheError::Kind::InvalidPolicy);
  EXPECT_TRUE(model::has_errors(refused.error().problems));
  EXPECT_EQ(refused.error().message, "policy \"Broken\" has errors; the cached policy is kept");

  auto not_json = cache.store_json_if_valid("{\"format\": \"ward-policy/1\", \"rules\": 7", legal_source());
  ASSERT_FALSE(not_json.has_value());
  EXPECT_EQ(not_json.error().kind, CacheError::Kind::InvalidPolicy);
  EXPECT_FALSE(not_json.error().problems.empty());

  auto loaded = cache.load_policy();
  ASSERT_TRUE(loaded.has_value() && loaded->has_value());
  EXPECT_EQ((*loaded)->policy, legal_with_psk());
  EXPECT_EQ((*loaded)->source, legal_source());
}

TEST_F(CacheTest, StoresValidJsonText) {
  auto cache = open_cache();
  const std::string text = model::testing::read_text(model::testing::source_dir() + "/schemas/examples/legal-policy.json");
  auto stored = cache.store_json_if_valid(text, legal_source());
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  ASSERT_TRUE(cache.clear_policy().has_value());
  auto loaded = cache.load_policy();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(CacheTest, EventsAreRecordedAndPrunedByAge) {
  auto cache = open_cache();
  ASSERT_TRUE(cache.record_event(EventKind::PolicyApplied, "", "", "policy \"Legal\" from the directory").has_value());
  clock_.advance(hours(24 * 10));
  ASSERT_TRUE(cache.record_event(EventKind::IkeFailure, "10.20.1.7", "kerberos", "no proposal chosen").has_value());
  clock_.advance(hours(24 * 10));
  ASSERT_TRUE(cache.record_event(EventKind::DirectoryUnreachable, "", "", "ldap://dc1: timeout").has_value());
  ASSERT_TRUE(cache.record_event(EventKind::CacheUsed, "", "", "").has_value());

  auto all = cache.events_since(TimePoint{}, 100);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].kind, EventKind::PolicyApplied);
  EXPECT_EQ((*all)[0].at, kStart);
  EXPECT_EQ((*all)[1], (Event{kStart + hours(240), EventKind::IkeFailure, "10.20.1.7", "kerberos", "no proposal chosen", 1, kStart + hours(240)}));
  EXPECT_EQ((*all)[3].kind, EventKind::CacheUsed);

  auto newest_two = cache.events_since(TimePoint{}, 2);
  ASSERT_TRUE(newest_two.has_value());
  ASSERT_EQ(newest_two->size(), 2u);
  EXPECT_EQ((*newest_two)[0].kind, EventKind::DirectoryUnreachable);

  auto since = cache.events_since(kStart + hours(1), 100);
  ASSERT_TRUE(since.has_value());
  EXPECT_EQ(since->size(), 3u);

  // Now day 20; keep 15 days: only the first event (day 0) goes.
  auto pruned = cache.prune_events(hours(24 * 15));
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(*pruned, 1u);
  clock_.advance(hours(24 * 30));
  pruned = cache.prune_events(hours(24 * 15));
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(*pruned, 3u);
  EXPECT_TRUE(cache.events_since(TimePoint{}, 100)->empty());
}

TEST_F(CacheTest, ANewerSchemaIsRefusedClearly) {
  { auto cache = open_cache(); }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    DatabasePtr db(raw);
    ASSERT_EQ(sqlite3_exec(db.get(), "PRAGMA user_version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  auto cache = Cache::open(db_path(), clock_);
  ASSERT_FALSE(cache.has_value());
  EXPECT_EQ(cache.error().kind, CacheError::Kind::NewerSchema);
  EXPECT_EQ(cache.error().message, db_path().string() +
                                       ": cache schema version 7 is newer than this wardd understands (2); it was "
                                       "written by a newer Ward: upgrade wardd or move the file away");
}

TEST_F(CacheTest, SchemaVersionIsSet) {
  { auto cache = open_cache(); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
  DatabasePtr db(raw);
  sqlite3_stmt* raw_statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db.get(), "PRAGMA user_version", -1, &raw_statement, nullptr), SQLITE_OK);
  StatementPtr statement(raw_statement);
  ASSERT_EQ(sqlite3_step(statement.get()), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(statement.get(), 0), kSchemaVersion);
}

// A version 1 cache (before repeats were aggregated) is migrated in place, its events kept.
TEST_F(CacheTest, MigratesAVersionOneCache) {
  fs::create_directory(dir_.path() / "state");
  ::chmod((dir_.path() / "state").c_str(), 0700);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    DatabasePtr db(raw);
    const char* v1 =
        "CREATE TABLE policy (slot INTEGER PRIMARY KEY CHECK (slot = 1), policy_json TEXT NOT NULL, policy_dn TEXT NOT NULL,"
        " gpo_dn TEXT NOT NULL, gpo_name TEXT NOT NULL, som_dn TEXT NOT NULL, change_stamp TEXT NOT NULL,"
        " fetched_at INTEGER NOT NULL) STRICT;"
        "CREATE TABLE event (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN"
        " ('policy-applied', 'policy-rejected', 'directory-unreachable', 'cache-used', 'ike-success', 'ike-failure')),"
        " peer TEXT NOT NULL DEFAULT '', auth_method TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '') STRICT;"
        "CREATE INDEX event_at ON event (at);"
        "INSERT INTO event (at, kind, peer, auth_method, reason) VALUES (1800000000, 'ike-failure', '10.20.1.7', 'kerberos', 'x');"
        "PRAGMA user_version = 1;";
    ASSERT_EQ(sqlite3_exec(db.get(), v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db.get());
  }
  auto cache = open_cache();
  auto events = cache.events_since(TimePoint{}, 10);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0], (Event{kStart, EventKind::IkeFailure, "10.20.1.7", "kerberos", "x", 1, kStart}));
  EXPECT_TRUE(cache.record_event(EventKind::BootPolicy, "", "", "boot").has_value());  // the new kinds are allowed
  EXPECT_TRUE(cache.check_integrity().has_value());
}

TEST_F(CacheTest, InMemoryCacheWorksAndLeavesNoFile) {
  auto cache = Cache::open_in_memory(clock_);
  ASSERT_TRUE(cache.has_value()) << cache.error().message;
  ASSERT_TRUE(cache->store_if_valid(legal_with_psk(), legal_source()).has_value());
  auto loaded = cache->load_policy();
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->policy, legal_with_psk());
  EXPECT_FALSE(fs::exists(db_path()));
}

TEST_F(CacheTest, NotADatabaseIsAnErrorNotACrash) {
  fs::create_directory(dir_.path() / "state");
  ::chmod((dir_.path() / "state").c_str(), 0700);
  {
    std::ofstream out(db_path(), std::ios::binary);
    out << std::string(8192, 'Z');
  }
  auto cache = Cache::open(db_path(), clock_);
  ASSERT_FALSE(cache.has_value());
  EXPECT_EQ(cache.error().kind, CacheError::Kind::Database);
  EXPECT_NE(cache.error().message.find("not a database"), std::string::npos) << cache.error().message;
}

}  // namespace
}  // namespace ward::agent::cache
