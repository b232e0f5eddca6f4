// wardd's start-up fails closed, as real processes: wardd (nfqueue) in a network namespace joined
// to a peer namespace by a veth pair, and one real slapd (the Legal scenario, reached over ldapi://
// with a simple bind) that the tests freeze with SIGSTOP to play a directory that accepts
// connections and never answers.
//
//  (a) Nothing cached, directory hanging: the boot policy is enforced before the first fetch
//      returns (a ping that passed before wardd started no longer passes), the control socket
//      answers every read-only query while the fetch and a `wardctl refresh` hang, and the
//      directory's policy is applied once slapd answers again.
//  (b) A cached policy, directory hanging: the cached policy is enforced at once; SIGTERM while
//      the fetch still hangs stops wardd promptly with exit 0 and its kernel rules removed.
//  (c) A broken cache file (not a database, truncated, wrong schema, newer schema, on a read-only
//      file system): wardd moves it aside (or runs on a cache in memory), says so, and applies the
//      directory's policy.
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/harness/legal_scenario.h"
#include "tests/harness/process.h"
#include "tests/harness/slapd_instance.h"
#include "tests/netns/netns.h"

namespace ward {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kIpTool = "/usr/sbin/ip";
constexpr const char* kAddressA = "10.20.1.10";  // legal-pc1, wardd's host
constexpr const char* kAddressB = "10.20.1.20";  // a peer
const std::string kLegalPolicyName = "Communication for the Legal Department";
constexpr auto kWaitLimit = 20s;

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit = kWaitLimit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

class WarddStartup : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why) || slapd_ != nullptr) return;
    auto options = test::legal_scenario_slapd_options(source_dir(), {}, {});
    options.sasl.reset();  // simple bind over ldapi: no Kerberos needed here
    auto slapd = test::SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    slapd_ = slapd->release();
  }
  static void TearDownTestSuite() {
    delete slapd_;
    slapd_ = nullptr;
  }

  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    ASSERT_NE(slapd_, nullptr);
    auto dir = test::TempDir::create("wardd-startup");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_ = std::make_unique<test::TempDir>(std::move(*dir));
    a_ = std::make_unique<ward::testing::Netns>("startup-a");
    b_ = std::make_unique<ward::testing::Netns>("startup-b");
    ward::testing::connect_veth(*a_, std::string(kAddressA) + "/24", *b_, std::string(kAddressB) + "/24");
    const auto password = dir_->path() / "directory.password";
    ASSERT_TRUE(test::write_file(password, slapd_->options().root_password + "\n"));
    ::chmod(password.c_str(), 0600);
    // request_timeout: the frozen slapd must hang the first fetch for all of (a)'s checks. With the
    // default 15 s a loaded CI stage (ASan, six tests on two cores) once took longer than that, and
    // the fetch had given up before the test looked (clean run of 2026-12-07; alone it takes 2.7 s).
    ASSERT_TRUE(test::write_file(
        config(), "[directory]\nuri = " + slapd_->ldapi_uri() + "\nrealm = EXAMPLE.TEST\ncomputer_name = LEGAL-PC1$\n" +
                      "request_timeout = 120s\nbind = simple\nbind_dn = " + slapd_->options().root_dn + "\npassword_file = " + password.string() +
                      "\n[driver]\nbackend = nfqueue\n[control]\nsocket = " + socket().string() + "\n[cache]\npath = " +
                      cache_file().string() + "\n[log]\nlevel = debug\n"));
  }
  void TearDown() override {
    thaw();
    wardd_.stop();
    if (!HasFailure() || !dir_) return;
    std::cout << "wardd log:\n" << test::file_tail(log(), 6000) << "\n";
  }

  std::filesystem::path config() const { return dir_->path() / "ward.conf"; }
  std::filesystem::path socket() const { return dir_->path() / "run" / "control.sock"; }
  std::filesystem::path cache_file() const { return dir_->path() / "state" / "ward.db"; }
  std::filesystem::path log() const { return dir_->path() / "wardd.log"; }

  // A directory that accepts connections and never answers.
  void freeze() {
    ASSERT_EQ(::kill(slapd_->pid(), SIGSTOP), 0);
    frozen_ = true;
  }
  void thaw() {
    if (frozen_ && slapd_ != nullptr) ::kill(slapd_->pid(), SIGCONT);
    frozen_ = false;
  }

  // `prefix` runs wardd (e.g. under unshare to remount something).
  void start_wardd(const std::string& prefix = "") {
    std::vector<std::string> argv{kIpTool, "netns", "exec", a_->name()};
    const std::string command = std::string(WARDD_PATH) + " --config " + config().string();
    if (prefix.empty()) {
      argv.push_back(WARDD_PATH);
      argv.push_back("--config");
      argv.push_back(config().string());
    } else {
      argv.insert(argv.end(), {"sh", "-c", prefix + " " + command});
    }
    auto child = test::ChildProcess::spawn(argv, {}, log());
    ASSERT_TRUE(child) << child.error().to_string();
    wardd_ = std::move(*child);
  }

  // `wardctl --json <words>` parsed; null when wardctl failed (no socket yet, error answer).
  nlohmann::json wardctl(const std::vector<std::string>& words) const {
    std::vector<std::string> argv{WARDCTL_PATH, "--socket", socket().string(), "--json", "--timeout", "5"};
    argv.insert(argv.end(), words.begin(), words.end());
    const auto result = test::run_captured(argv, dir_->path());
    if (result.exit_code != 0) return nullptr;
    return nlohmann::json::parse(result.out, nullptr, false);
  }
  std::string state() const {
    const auto p = wardctl({"show", "policy"});
    return p.is_object() && p.contains("state") ? p["state"].get<std::string>() : std::string();
  }
  bool has_event(const std::string& kind, const std::string& text = "") const {
    const auto e = wardctl({"show", "events"});
    if (!e.is_object() || !e.contains("events")) return false;
    for (const auto& event : e["events"]) {
      if (event.value("kind", "") == kind && event.value("reason", "").find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string wardd_log() const { return test::read_text(log()); }
  // wardd's nfqueue rules in the kernel (raw table of its namespace).
  // The kernel filter table (driver/kernel_table): one nftables table, gone when wardd stops.
  std::string kernel_rules() const { return a_->exec_output("nft list table inet ward 2>&1"); }
  bool pings() const { return ward::testing::ping_once(*a_, kAddressB) == 0; }

  void stop_wardd_expecting_exit_0() {
    ASSERT_EQ(::kill(wardd_.pid(), SIGTERM), 0);
    EXPECT_TRUE(eventually([&] { return !wardd_.running(); }, 15s));
    EXPECT_EQ(wardd_.exit_description(), "exited with status 0");
    EXPECT_EQ(kernel_rules().find("table inet ward {"), std::string::npos) << kernel_rules();
  }

  // A wardd that applied the directory's policy and stopped: its cache holds the policy.
  void run_once_to_fill_the_cache() {
    start_wardd();
    ASSERT_TRUE(eventually([&] { return state() == "applied"; })) << wardd_log();
    stop_wardd_expecting_exit_0();
  }

  static inline test::SlapdInstance* slapd_ = nullptr;
  std::unique_ptr<test::TempDir> dir_;
  std::unique_ptr<ward::testing::Netns> a_, b_;
  test::ChildProcess wardd_;
  bool frozen_ = false;
};

// (a)
TEST_F(WarddStartup, NothingCachedAndADirectoryThatHangsMeansTheBootPolicyAtOnce) {
  ASSERT_TRUE(pings()) << "the two namespaces must reach each other before wardd starts";
  freeze();
  start_wardd();
  ASSERT_TRUE(eventually([&] { return state() == "boot"; })) << wardd_log();
  // The first fetch is still waiting on slapd: nothing reported it unreachable yet.
  EXPECT_EQ(wardd_log().find("event=directory-unreachable"), std::string::npos);
  EXPECT_NE(kernel_rules().find(": drop"), std::string::npos) << kernel_rules();  // a block filter's map element
  EXPECT_FALSE(pings()) << "the boot policy blocks until a policy is applied";
  EXPECT_TRUE(has_event("boot-policy"));

  // A refresh asked over the control socket hangs too; read-only queries do not wait for it.
  const auto refresher_dir = dir_->path() / "refresher";  // run_captured's output files are per directory
  std::filesystem::create_directories(refresher_dir);
  std::thread refresher([&] {
    (void)test::run_captured({WARDCTL_PATH, "--socket", socket().string(), "--timeout", "60", "refresh"}, refresher_dir);
  });
  std::this_thread::sleep_for(300ms);
  const auto policy = wardctl({"show", "policy"});
  ASSERT_TRUE(policy.is_object());
  EXPECT_EQ(policy["state"], "boot");
  EXPECT_TRUE(wardctl({"show", "filters"}).is_object());
  EXPECT_TRUE(wardctl({"show", "sa"}).is_object());
  EXPECT_TRUE(wardctl({"show", "events"}).is_object());
  const auto explained = wardctl({"explain", kAddressA, kAddressB, "tcp", "40000", "22"});
  ASSERT_TRUE(explained.is_object());
  EXPECT_NE(explained.dump().find("block"), std::string::npos) << explained.dump();
  EXPECT_EQ(wardd_log().find("event=directory-unreachable"), std::string::npos) << "the fetch must still hang here";

  thaw();
  EXPECT_TRUE(eventually([&] { return state() == "applied"; }, 60s)) << wardd_log();
  refresher.join();
  EXPECT_EQ(wardctl({"show", "policy"})["policy"]["name"], kLegalPolicyName);
  stop_wardd_expecting_exit_0();
}

// (b)
TEST_F(WarddStartup, ACachedPolicyIsEnforcedAtOnceAndSigtermDoesNotWaitForTheDirectory) {
  run_once_to_fill_the_cache();
  freeze();
  start_wardd();
  ASSERT_TRUE(eventually([&] { return state() == "cached"; })) << wardd_log();
  EXPECT_EQ(wardd_log().find("event=directory-unreachable"), std::string::npos);
  EXPECT_EQ(wardctl({"show", "policy"})["policy"]["name"], kLegalPolicyName);
  EXPECT_NE(kernel_rules().find("table inet ward {"), std::string::npos) << kernel_rules();
  EXPECT_TRUE(has_event("cache-used", kLegalPolicyName));

  // SIGTERM with the fetch still hanging: prompt, clean exit.
  const auto asked = Clock::now();
  stop_wardd_expecting_exit_0();
  std::cout << "SIGTERM with a hanging refresh: wardd gone after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked).count() << " ms\n";
  EXPECT_NE(wardd_log().find("event=refresh-abandoned"), std::string::npos) << wardd_log();
}

// (c)
struct BrokenCache {
  const char* name;
  void (*spoil)(const std::filesystem::path& file);
  const char* why;  // in the log's cache-moved-aside line
};

void PrintTo(const BrokenCache& broken, std::ostream* out) { *out << broken.name; }

void run_sqlite(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

const BrokenCache kBrokenCaches[] = {
    {"NotADatabase", [](const std::filesystem::path& f) { ASSERT_TRUE(test::write_file(f, std::string(8192, 'Z'))); },
     "not a database"},
    {"Truncated", [](const std::filesystem::path& f) { std::filesystem::resize_file(f, std::filesystem::file_size(f) / 2); },
     "ward.db"},
    {"NewerSchema", [](const std::filesystem::path& f) { run_sqlite(f, "PRAGMA user_version = 99"); },
     "newer than this wardd understands"},
    {"WrongSchema", [](const std::filesystem::path& f) { run_sqlite(f, "DROP TABLE event"); }, "schema does not match"},
};

class WarddBrokenCache : public WarddStartup, public ::testing::WithParamInterface<BrokenCache> {};

TEST_P(WarddBrokenCache, IsMovedAsideAndTheDirectoryPolicyApplied) {
  run_once_to_fill_the_cache();
  GetParam().spoil(cache_file());
  std::filesystem::remove(cache_file().string() + "-wal");
  start_wardd();
  ASSERT_TRUE(eventually([&] { return state() == "applied"; })) << wardd_log();
  EXPECT_EQ(wardctl({"show", "policy"})["policy"]["name"], kLegalPolicyName);
  const auto log = wardd_log();
  EXPECT_NE(log.find("event=cache-moved-aside"), std::string::npos) << log;
  EXPECT_NE(log.find(GetParam().why), std::string::npos) << log;
  EXPECT_TRUE(has_event("cache-reset", "moved to"));
  std::size_t moved = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cache_file().parent_path())) {
    moved += entry.path().filename().string().rfind("ward.db.broken-", 0) == 0;
  }
  EXPECT_EQ(moved, 1u);
  stop_wardd_expecting_exit_0();
}

INSTANTIATE_TEST_SUITE_P(Kinds, WarddBrokenCache, ::testing::ValuesIn(kBrokenCaches),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A cache on a read-only file system can be neither written nor moved: wardd runs on a cache in
// memory and still applies the directory's policy.
TEST_F(WarddStartup, ACacheOnAReadOnlyFileSystemGivesACacheInMemory) {
  run_once_to_fill_the_cache();
  const auto state_dir = cache_file().parent_path().string();
  start_wardd("mount --bind " + state_dir + " " + state_dir + " && mount -o remount,bind,ro " + state_dir + " && exec");
  ASSERT_TRUE(eventually([&] { return state() == "applied"; })) << wardd_log();
  const auto log = wardd_log();
  EXPECT_NE(log.find("event=cache-in-memory"), std::string::npos) << log;
  EXPECT_TRUE(has_event("cache-reset", "in memory"));
  stop_wardd_expecting_exit_0();
}

}  // namespace
}  // namespace ward
