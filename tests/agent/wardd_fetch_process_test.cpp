// wardd with [privsep] user reads the directory through its fetcher process (fetch_process.h), as
// real processes: one real slapd (AD schema, the Legal example, syncprov) and one real MIT KDC;
// wardd (sim backend) binds with SASL/GSSAPI, and its fetcher runs as `nobody`.
//
//  (a) the Legal policy comes through the child: /proc shows it as uid 65534 with no capability,
//      no_new_privs and a seccomp filter, the fetch's events carry process=fetch, and it binds with
//      SASL/GSSAPI though the keytab and krb5.conf are in a directory only root may enter (wardd
//      hands it a ticket, never the keytab; it copied the configuration before dropping root); the
//      ticket came from the key process, which alone read the keytab (each key of the keytab in its
//      memory, in neither wardd's nor the fetcher's);
//  (b) the child killed with SIGKILL in the middle of a refresh (slapd frozen so that the fetch
//      waits; `show policy` answers meanwhile): the refresh fails as an unreachable directory does,
//      the Legal policy stays enforced, a new child starts, and the next refresh succeeds through it;
//  (c) the change watch runs in the child: wardd holds no TCP connection to slapd (its sockets,
//      from /proc/<pid>/fd, against /proc/<pid>/net/tcp*), the child does; an edit of the policy
//      object is applied within seconds (the figure is printed); the child SIGKILLed: wardd says the
//      watch is lost, a new child's watch is established and the next edit is applied as fast;
//  (d) the TGT renewed for the watch: with a 6 s ticket lifetime, slapd restarted after the start-up
//      ticket expired, the child's watch reconnects and binds at once with the ticket wardd sent it
//      meanwhile (no failed connect), and an edit is applied.
// Root (the sandbox changes uid); skips otherwise.
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "agent/privsep/proc_test_support.h"
#include "tests/harness/kdc_instance.h"
#include "tests/harness/legal_scenario.h"
#include "tests/harness/process_memory.h"
#include "tests/harness/slapd_instance.h"

namespace ward {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kDomain = "DC=example,DC=test";
const std::string kRealm = "EXAMPLE.TEST";
const std::string kLegalPolicyName = "Communication for the Legal Department";
constexpr auto kWaitLimit = 20s;

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit = kWaitLimit, std::chrono::milliseconds step = 50ms) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(step);
  }
  return done();
}

using agent::privsep::testing::privsep_child_of;
using agent::privsep::testing::proc_status;

pid_t fetch_process_of(pid_t wardd) { return privsep_child_of(wardd, "fetch"); }

// The inodes of the sockets `pid` holds (/proc/<pid>/fd links "socket:[N]").
std::set<std::string> socket_inodes(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    const auto target = std::filesystem::read_symlink(entry.path(), error).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// How many TCP connections `pid` holds to `port` (any address): /proc/<pid>/net/tcp and tcp6 list
// its network namespace's sockets; those whose inode is among the process's descriptors are its own.
int tcp_connections_to(pid_t pid, std::uint16_t port) {
  const auto mine = socket_inodes(pid);
  int count = 0;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);   // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      const auto colon = remote.rfind(':');
      if (colon == std::string::npos || state != "01") continue;   // 01: ESTABLISHED
      if (std::stoul(remote.substr(colon + 1), nullptr, 16) == port && mine.contains(inode)) ++count;
    }
  }
  return count;
}

class Wardd {
 public:
  Wardd(const std::filesystem::path& dir, const std::string& uri, const std::filesystem::path& keytab,
        const std::filesystem::path& krb5_config)
      : dir_(dir), krb5_config_(krb5_config) {
    std::filesystem::create_directories(dir_);
    socket_ = dir_ / "run" / "control.sock";
    const std::string conf = "[directory]\nuri = " + uri + "\nrealm = " + kRealm + "\ncomputer_name = LEGAL-PC1$\nkeytab = " +
                             keytab.string() + "\nprincipal = host/legal-pc1.example.test@" + kRealm +
                             "\n[privsep]\nuser = nobody\n[driver]\nbackend = sim\n[control]\nsocket = " + socket_.string() +
                             "\n[cache]\npath = " + (dir_ / "state" / "ward.db").string() + "\n[log]\nlevel = debug\n";
    config_ = dir_ / "ward.conf";
    EXPECT_TRUE(test::write_file(config_, conf));
  }
  ~Wardd() {
    process_.stop();
    // Under the asan preset wardd and its children report sanitizer findings on stderr, the log.
    const std::string all = log();
    EXPECT_EQ(all.find("Sanitizer"), std::string::npos) << all;
    EXPECT_EQ(all.find("runtime error:"), std::string::npos) << all;
  }
  Wardd(const Wardd&) = delete;
  Wardd& operator=(const Wardd&) = delete;

  void start() {
    auto child = test::ChildProcess::spawn({WARDD_PATH, "--config", config_.string()},
                                           {{"KRB5_CONFIG", krb5_config_.string()}, {"KRB5CCNAME", "MEMORY:wardd-test"}},
                                           dir_ / "wardd.log");
    ASSERT_TRUE(child) << child.error().to_string();
    process_ = std::move(*child);
  }
  pid_t pid() const { return process_.pid(); }
  std::string log() const { return test::read_text(dir_ / "wardd.log"); }
  std::size_t log_count(const std::string& text) const {
    const std::string all = log();
    std::size_t count = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + 1)) ++count;
    return count;
  }
  // The log's lines that hold `text` and not `but_not`.
  std::vector<std::string> log_lines(const std::string& text, const std::string& but_not) const {
    std::istringstream all(log());
    std::vector<std::string> lines;
    for (std::string line; std::getline(all, line);) {
      if (line.find(text) != std::string::npos && line.find(but_not) == std::string::npos) lines.push_back(line);
    }
    return lines;
  }

  nlohmann::json wardctl(const std::vector<std::string>& words) const {
    std::vector<std::string> argv{WARDCTL_PATH, "--socket", socket_.string(), "--json"};
    argv.insert(argv.end(), words.begin(), words.end());
    const auto result = test::run_captured(argv, dir_);
    if (result.exit_code != 0) return nullptr;
    return nlohmann::json::parse(result.out, nullptr, false);
  }
  nlohmann::json policy() const { return wardctl({"show", "policy"}); }
  std::string state() const {
    const auto p = policy();
    return p.is_object() && p.contains("state") ? p["state"].get<std::string>() : std::string();
  }
  std::string policy_name() const {
    const auto p = policy();
    return p.is_object() && p.contains("policy") ? p["policy"].value("name", "") : std::string();
  }
  bool has_event(const std::string& kind, const std::string& reason_part) const {
    const auto e = wardctl({"show", "events"});
    if (!e.is_object() || !e.contains("events")) return false;
    for (const auto& event : e["events"]) {
      if (event.value("kind", "") == kind && event.value("reason", "").find(reason_part) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::filesystem::path dir_, krb5_config_, socket_, config_;
  test::ChildProcess process_;
};

class WarddFetchProcess : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    auto kdc = test::KdcInstance::start({kRealm});
    ASSERT_TRUE(kdc) << kdc.error().to_string();
    kdc_ = kdc->release();
    const auto service_keytab = test::add_legal_principals(*kdc_, {"legal-pc1"});
    ASSERT_TRUE(service_keytab) << service_keytab.error().to_string();
    auto options = test::legal_scenario_slapd_options(source_dir(), *service_keytab, kdc_->krb5_config());
    options.syncprov = true;
    auto slapd = test::SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    slapd_ = slapd->release();
    auto dir = test::TempDir::create("ward-wardd-fetch");
    ASSERT_TRUE(dir) << dir.error().to_string();
    temp_ = new test::TempDir(std::move(*dir));
  }
  static void TearDownTestSuite() {
    delete temp_;
    delete slapd_;
    delete kdc_;
    temp_ = nullptr;
    slapd_ = nullptr;
    kdc_ = nullptr;
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the fetcher changes uid)";
    ASSERT_NE(slapd_, nullptr);
  }

  // An administrator's edit of the Legal policy object; how long until `w` shows it.
  static std::optional<std::chrono::milliseconds> edit_and_time(const Wardd& w, const std::string& description) {
    const std::string ldif = "dn: CN=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE},CN=IP Security,CN=System," + kDomain +
                             "\nchangetype: modify\nreplace: description\ndescription: " + description + "\n";
    auto edited = slapd_->add_ldif_text(ldif);
    EXPECT_TRUE(edited) << edited.error().to_string();
    if (!edited) return std::nullopt;
    const auto written = Clock::now();
    const bool seen = eventually(
        [&] {
          const auto p = w.policy();
          return p.is_object() && p.contains("policy") && p["policy"].value("description", "") == description;
        },
        kWaitLimit, 20ms);
    if (!seen) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - written);
  }

  static std::unique_ptr<Wardd> wardd(const std::string& name) {
    // krb5.conf and the keytab are in the KDC's directory, root's alone (0700), as the lab's are:
    // the fetcher (nobody) gets the configuration as wardd sees it and a ticket, never the keytab.
    return std::make_unique<Wardd>(temp_->path() / name, slapd_->ldap_uri("localhost"), test::legal_host_keytab(*kdc_, "legal-pc1"),
                                   kdc_->krb5_config());
  }

  static inline test::KdcInstance* kdc_ = nullptr;
  static inline test::SlapdInstance* slapd_ = nullptr;
  static inline test::TempDir* temp_ = nullptr;
};

// (a)
TEST_F(WarddFetchProcess, ThePolicyComesThroughTheSandboxedFetcher) {
  auto legal = wardd("a");
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  EXPECT_EQ(legal->policy_name(), kLegalPolicyName);

  const pid_t child = fetch_process_of(legal->pid());
  ASSERT_GT(child, 0) << "no fetch process under wardd\n" << legal->log();
  auto status = proc_status(child);
  std::cout << "fetch process " << child << ": Uid " << status["Uid"] << ", CapEff " << status["CapEff"] << ", CapBnd "
            << status["CapBnd"] << ", NoNewPrivs " << status["NoNewPrivs"] << ", Seccomp " << status["Seccomp"] << "\n";
  EXPECT_EQ(status["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(status["Gid"], "65534\t65534\t65534\t65534");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"}) EXPECT_EQ(status[set], "0000000000000000") << set;
  EXPECT_EQ(status["NoNewPrivs"], "1");
  EXPECT_EQ(status["Seccomp"], "2");
  // wardd itself stays root.
  EXPECT_EQ(proc_status(legal->pid())["Uid"], "0\t0\t0\t0");
  // Its key process (key_process.h) runs beside the fetcher as the same user, with nothing either.
  const pid_t keys = privsep_child_of(legal->pid(), "keys");
  ASSERT_GT(keys, 0) << "no key process under wardd\n" << legal->log();
  const auto key_status = proc_status(keys);
  std::cout << "key process " << keys << ": Uid " << key_status.at("Uid") << ", CapEff " << key_status.at("CapEff") << ", CapBnd "
            << key_status.at("CapBnd") << ", NoNewPrivs " << key_status.at("NoNewPrivs") << ", Seccomp " << key_status.at("Seccomp") << "\n";
  EXPECT_EQ(key_status.at("Uid"), "65534\t65534\t65534\t65534");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"}) EXPECT_EQ(key_status.at(set), "0000000000000000") << set;
  EXPECT_EQ(key_status.at("Seccomp"), "2");

  // The fetch ran there: its events came back from the child, and wardd bound nothing itself for it.
  const std::string log = legal->log();
  if (std::getenv("WARD_TEST_VERBOSE")) std::cout << log;
  EXPECT_NE(log.find("event=fetch-process-started pid=" + std::to_string(child) + " user=nobody"), std::string::npos) << log;
  EXPECT_NE(log.find("event=directory-fetch uri=" + slapd_->ldap_uri("localhost")), std::string::npos) << log;
  EXPECT_NE(log.find("result=policy process=fetch"), std::string::npos) << log;
  // The keytab and krb5.conf are root's alone (their directory is 0700): the child bound with the
  // ticket wardd handed it and the configuration it copied before dropping root.
  struct stat st {};
  ASSERT_EQ(::stat(kdc_->dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the KDC's directory must be root's alone for this check to mean anything";
  EXPECT_EQ(st.st_uid, 0u);
  // Its first connection (the start-up fetch's or the change watch's, which share it) bound with
  // SASL/GSSAPI: the fetch says so, or found the watch's connection already bound. The watch's
  // events reach wardd as notes of their own, at times after the fetch's answer (a clean CI run
  // logged the kept connection first): wait for its establishment, not for it to come first.
  const bool fetch_bound = log.find("bind_round_trips=3") != std::string::npos;
  const bool watch_bound_first =
      log.find("connection=kept result=policy process=fetch") != std::string::npos &&
      eventually([&] { return legal->log().find("event=change-watch-established") != std::string::npos; });
  EXPECT_TRUE(fetch_bound || watch_bound_first) << "no SASL/GSSAPI bind by the child\n" << log;

  // The TGT wardd handed on came from its key process, which alone read the keytab: each of the
  // keytab's keys is in the key process's memory, in neither wardd's nor the fetcher's, and no
  // process keeps the file open.
  const auto keytab = test::legal_host_keytab(*kdc_, "legal-pc1");
  const auto keys_of_keytab = test::keytab_keys(keytab);
  ASSERT_FALSE(keys_of_keytab.empty()) << "klist -k -K " << keytab << " printed no key";
  for (const auto& key : keys_of_keytab) {
    ASSERT_GE(key.size(), 16u);
    EXPECT_TRUE(test::memory_holds(keys, key)) << "the key process does not hold a key of the keytab";
    EXPECT_FALSE(test::memory_holds(legal->pid(), key)) << "wardd holds a key of the keytab";
    EXPECT_FALSE(test::memory_holds(child, key)) << "the fetch process holds a key of the keytab";
  }
  EXPECT_EQ(log.find("key-process-keytab-refused"), std::string::npos) << log;

  // A refresh brings a fresh TGT (one per fetch) without opening the keytab: the key process
  // already holds it (wardd gets a TGT from its own keytab reading otherwise).
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(::inotify_add_watch(watch, keytab.c_str(), IN_OPEN | IN_ACCESS), 0);
  const auto answers = legal->log_count("event=fetch-process-answer ");
  ASSERT_EQ(kill(legal->pid(), SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return legal->log_count("event=fetch-process-answer ") > answers; })) << legal->log();
  char events[4096];
  const auto read = ::read(watch, events, sizeof events);
  ::close(watch);
  EXPECT_LT(read, 0) << "the keytab was opened or read during a refresh\n" << legal->log();
}

// (b)
TEST_F(WarddFetchProcess, AChildKilledMidRefreshLeavesThePolicyAndTheNextRefreshSucceeds) {
  auto legal = wardd("b");
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  const pid_t first = fetch_process_of(legal->pid());
  ASSERT_GT(first, 0) << legal->log();
  const auto filters_before = legal->wardctl({"show", "filters"});
  ASSERT_TRUE(filters_before.is_object());
  ASSERT_FALSE(filters_before["filters"].empty());

  // Frozen, slapd answers nothing: the next fetch waits in the child on its kept connection.
  ASSERT_EQ(kill(slapd_->pid(), SIGSTOP), 0);
  const auto calls = legal->log_count("event=fetch-process-call");
  ASSERT_EQ(kill(legal->pid(), SIGHUP), 0);
  const bool asked = eventually([&] { return legal->log_count("event=fetch-process-call") > calls; });
  std::this_thread::sleep_for(200ms);   // the child has read the request and waits on slapd
  // Read-only control queries answer while the fetch hangs in the child.
  const auto asked_at = Clock::now();
  EXPECT_EQ(legal->state(), "applied");
  EXPECT_LT(Clock::now() - asked_at, 2s);
  EXPECT_EQ(kill(first, SIGKILL), 0);
  EXPECT_EQ(kill(slapd_->pid(), SIGCONT), 0);
  ASSERT_TRUE(asked) << legal->log();

  EXPECT_TRUE(eventually([&] { return legal->has_event("directory-unreachable", "ended during the fetch"); })) << legal->log();
  EXPECT_NE(legal->log().find("event=fetch-process-exited pid=" + std::to_string(first) + " how=\"killed by SIGKILL\""),
            std::string::npos)
      << legal->log();
  // The policy stays enforced, table and all, while the fetcher is away and after.
  EXPECT_EQ(legal->state(), "applied");
  EXPECT_EQ(legal->policy_name(), kLegalPolicyName);
  EXPECT_EQ(legal->wardctl({"show", "filters"})["filters"], filters_before["filters"]);

  pid_t second = -1;
  ASSERT_TRUE(eventually([&] { return (second = fetch_process_of(legal->pid())) > 0 && second != first; })) << legal->log();
  // Spawned, it enters its sandbox at once (under ASan its start-up takes a moment).
  EXPECT_TRUE(eventually([&] { return proc_status(second)["Seccomp"] == "2"; })) << legal->log();
  const auto applied = legal->log_count("event=directory-fetch uri=");
  const auto refreshed = legal->wardctl({"refresh"});
  ASSERT_TRUE(refreshed.is_object()) << legal->log();
  EXPECT_GT(legal->log_count("event=directory-fetch uri="), applied) << legal->log();
  EXPECT_NE(legal->log().find("event=fetch-process-answer pid=" + std::to_string(second) + " result=policy"), std::string::npos)
      << legal->log();
  EXPECT_EQ(legal->state(), "applied");
  EXPECT_EQ(legal->policy_name(), kLegalPolicyName);
}

// (c)
TEST_F(WarddFetchProcess, TheChangeWatchRunsInTheFetcherAndWarddHoldsNoDirectoryConnection) {
  auto legal = wardd("c");
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  ASSERT_TRUE(eventually([&] { return legal->log_count("event=change-watch-established") >= 1; })) << legal->log();
  const pid_t child = fetch_process_of(legal->pid());
  ASSERT_GT(child, 0) << legal->log();
  EXPECT_NE(legal->log().find("event=fetch-process-watch pid=" + std::to_string(child)), std::string::npos) << legal->log();

  // wardd parses nothing from the directory: it holds no connection to it, its fetcher does (one,
  // shared by the watch and the fetches).
  const auto port = slapd_->port();
  const int wardd_connections = tcp_connections_to(legal->pid(), port);
  const int child_connections = tcp_connections_to(child, port);
  std::cout << "TCP connections to slapd: wardd (pid " << legal->pid() << ") " << wardd_connections << ", fetch process (pid "
            << child << ") " << child_connections << "\n";
  EXPECT_EQ(wardd_connections, 0) << legal->log();
  EXPECT_EQ(child_connections, 1) << legal->log();

  // The refresh that follows the watch's set-up (after 0.5 + 0-2 s) first, then the edit.
  ASSERT_TRUE(eventually([&] { return legal->log_count("event=policy-refresh trigger=directory-watch-established") >= 1; }))
      << legal->log();
  std::this_thread::sleep_for(300ms);
  const auto latency = edit_and_time(*legal, "changed for test c");
  ASSERT_TRUE(latency) << legal->log();
  std::cout << "change-to-applied latency through the fetch process's watch: " << latency->count() << " ms\n";
  EXPECT_LE(*latency, 5s);
  // The child's note named the changed entry (a refresh still pending from the watch's set-up may
  // carry it: one refresh per burst).
  EXPECT_NE(legal->log().find("event=directory-change dn=\"cn=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE},cn=IP Security"),
            std::string::npos)
      << legal->log();

  // The child killed: wardd notices, the watch restarts with the next child and resumes its work.
  const auto established = legal->log_count("event=change-watch-established");
  ASSERT_EQ(kill(child, SIGKILL), 0);
  EXPECT_TRUE(eventually([&] { return legal->log().find("event=change-watch-lost pid=" + std::to_string(child)) != std::string::npos; }))
      << legal->log();
  pid_t second = -1;
  ASSERT_TRUE(eventually([&] { return (second = fetch_process_of(legal->pid())) > 0 && second != child; })) << legal->log();
  ASSERT_TRUE(eventually([&] { return legal->log_count("event=change-watch-established") > established; })) << legal->log();
  ASSERT_TRUE(eventually([&] { return legal->log_count("event=policy-refresh trigger=directory-watch-established") >= 2; }))
      << legal->log();
  std::this_thread::sleep_for(300ms);
  const auto again = edit_and_time(*legal, "changed again for test c");
  ASSERT_TRUE(again) << legal->log();
  std::cout << "after the fetch process was killed: change-to-applied latency " << again->count() << " ms\n";
  EXPECT_LE(*again, 5s);
  EXPECT_NE(legal->log().find("event=fetch-process-watch-change pid=" + std::to_string(second) + " reason=directory-change"),
            std::string::npos)
      << legal->log();
  EXPECT_EQ(tcp_connections_to(legal->pid(), port), 0);
  EXPECT_EQ(legal->state(), "applied");
}

// (d) Last: it shortens the host principal's ticket lifetime.
TEST_F(WarddFetchProcess, TheWatchReconnectsWithATicketWarddRenewed) {
  const std::string principal = "host/legal-pc1.example.test@" + kRealm;
  // 12 s: wardd renews at half the remaining life, so a reconnect finds at least ~6 s left on its
  // ticket; with 6 s, slapd's restart under a loaded run's pace outlasted the ~3 s left.
  ASSERT_TRUE(kdc_->kadmin("modprinc -maxlife \"12 seconds\" " + principal));
  auto legal = wardd("d");
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  ASSERT_TRUE(eventually([&] { return legal->log_count("event=change-watch-established") >= 1; })) << legal->log();
  // Every ticket of the start-up (the fetch's, the watch's first) has expired by now.
  std::this_thread::sleep_for(13s);
  const auto established = legal->log_count("event=change-watch-established");
  slapd_->stop();
  auto restarted = slapd_->restart();
  ASSERT_TRUE(restarted) << restarted.error().to_string();
  EXPECT_TRUE(eventually([&] { return legal->log_count("event=change-watch-established") > established; })) << legal->log();
  // It bound with the ticket wardd renewed: with an expired one the bind fails (and a refresh's
  // fetch brings a new one a second later). A connect refused while slapd is still starting
  // (result -1, "Can't contact LDAP server") is the restart's, not the ticket's: the watch
  // reconnects 0-1 s after losing slapd, which under a loaded run's pace can come before slapd
  // listens again.
  EXPECT_EQ(legal->log_lines("event=change-watch-connect-failed", "failed (result -1)"), std::vector<std::string>{})
      << legal->log();
  EXPECT_GE(legal->log_count("event=fetch-process-ticket "), 2u) << legal->log();
  const auto latency = edit_and_time(*legal, "changed for test d");
  EXPECT_TRUE(latency) << legal->log();
  ASSERT_TRUE(kdc_->kadmin("modprinc -maxlife \"1 hour\" " + principal));
}

}  // namespace
}  // namespace ward
