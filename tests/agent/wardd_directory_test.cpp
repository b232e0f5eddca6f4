// wardd against the directory, as real processes: one real slapd (AD schema, the Legal example,
// the syncprov overlay for change notification) and one real MIT KDC; wardd (sim backend) binds
// with SASL/GSSAPI from a host keytab, and the built wardctl observes it over the control socket.
//
//  (a) legal-pc1 shows the Legal policy with its GPO and OU; sales-pc1 the domain policy;
//      lab-pc1 (OU=Lab blocks inheritance) has none assigned and enforces none.
//  (b) a ward-dir edit is applied through the change notification; the latency is printed.
//  (c) slapd stopped: wardd keeps its policy and says so (an event), a restarted wardd runs on
//      the cached policy; slapd back: wardd follows again, and a later edit is applied.
//  (d) failover: the first URI is a closed port, the second works.
//  (e) labs: simple bind with a root-only password file over ldapi://.
//  (f) a policy object whose ipsecData does not decode: rejected naming DN and attribute, the
//      policy kept; repaired: applied again.
// Printed figures: LDAP round trips of a full fetch, wardd's VmRSS, change-to-applied latency.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "directory/ldap/session.h"
#include "tests/harness/kdc_instance.h"
#include "tests/harness/legal_scenario.h"
#include "tests/harness/slapd_instance.h"

namespace ward {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kDomain = "DC=example,DC=test";
const std::string kRealm = "EXAMPLE.TEST";
const std::string kLegalOu = "OU=Legal," + kDomain;
const std::string kLegalPolicyName = "Communication for the Legal Department";
const std::string kDomainPolicyName = "Domain IPsec: secure traffic to Legal";
const std::string kOutsideAction = "Secure traffic outside the Legal department";
const std::string kLegalPolicyDn =
    "CN=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE},CN=IP Security,CN=System," + kDomain;
const std::string kLegalGpo = "CN={6D2A0F4E-3B1C-4C8D-9E7F-1A2B3C4D5E01},CN=Policies,CN=System," + kDomain;
constexpr auto kWaitLimit = 20s;
// A change must be applied within this after ward-dir returns (debounce 0.5 s + one fetch).
constexpr auto kMaxChangeLatency = 5s;
// bind (SASL/GSSAPI) + computer + scope (SOMs, site, GPO container) + policy (2) + change stamp
constexpr std::uint64_t kMaxFetchRoundTrips = 12;

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

using RunResult = test::CapturedRun;

RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& dir) { return test::run_captured(argv, dir); }

// "VmRSS:	   12345 kB" of /proc/<pid>/status, in kB (0 when unreadable).
long vm_rss_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// One wardd process with its own config, cache and socket.
class Wardd {
 public:
  struct Host {
    std::string name;          // legal-pc1: the keytab and principal host/<name>.example.test
    std::string computer_key;  // "computer_name = LEGAL-PC1$" or "computer_dn = ..."
  };

  // `bind_lines` replaces the GSSAPI settings (keytab, principal) when not empty.
  Wardd(const std::filesystem::path& dir, const Host& host, const std::vector<std::string>& uris,
        const std::filesystem::path& keytab, const std::filesystem::path& krb5_config,
        const std::string& bind_lines = "")
      : dir_(dir), krb5_config_(krb5_config) {
    std::filesystem::create_directories(dir_);
    socket_ = dir_ / "run" / "control.sock";
    std::string conf = "[directory]\n";
    for (const auto& uri : uris) conf += "uri = " + uri + "\n";
    conf += "realm = " + kRealm + "\n" + host.computer_key + "\n";
    conf += bind_lines.empty() ? "keytab = " + keytab.string() + "\nprincipal = host/" + host.name + ".example.test@" +
                                     kRealm + "\n"
                               : bind_lines;
    conf += "[driver]\nbackend = sim\n[control]\nsocket = " + socket_.string() + "\n[cache]\npath = " +
            (dir_ / "state" / "ward.db").string() + "\n[log]\nlevel = debug\n";
    config_ = dir_ / "ward.conf";
    EXPECT_TRUE(test::write_file(config_, conf));
  }

  // Under the asan preset wardd reports sanitizer findings on stderr, which is its log.
  ~Wardd() {
    process_.stop();
    const std::string all = log();
    EXPECT_EQ(all.find("Sanitizer"), std::string::npos) << all;
    EXPECT_EQ(all.find("runtime error:"), std::string::npos) << all;
  }
  Wardd(const Wardd&) = delete;
  Wardd& operator=(const Wardd&) = delete;

  void start() {
    auto child = test::ChildProcess::spawn({WARDD_PATH, "--config", config_.string()},
                                           {{"KRB5_CONFIG", krb5_config_.string()}, {"KRB5CCNAME", "MEMORY:wardd-test"}},
                                           log_path());
    ASSERT_TRUE(child) << child.error().to_string();
    process_ = std::move(*child);
  }
  void stop() { process_.stop(); }
  pid_t pid() const { return process_.pid(); }
  std::filesystem::path log_path() const { return dir_ / "wardd.log"; }
  std::string log() const { return test::read_text(log_path()); }

  // `wardctl --json <words>` parsed, or null when wardctl failed.
  nlohmann::json wardctl(const std::vector<std::string>& words) const {
    std::vector<std::string> argv{WARDCTL_PATH, "--socket", socket_.string(), "--json"};
    argv.insert(argv.end(), words.begin(), words.end());
    const auto result = run(argv, dir_);
    if (result.exit_code != 0) return nullptr;
    return nlohmann::json::parse(result.out, nullptr, false);
  }
  nlohmann::json policy() const { return wardctl({"show", "policy"}); }
  std::string state() const {
    const auto p = policy();
    return p.is_object() && p.contains("state") ? p["state"].get<std::string>() : std::string();
  }
  bool has_event(const std::string& kind, const std::string& reason_part) const {
    const auto e = wardctl({"show", "events"});
    if (!e.is_object() || !e.contains("events")) return false;
    for (const auto& event : e["events"]) {
      // DNs come back as the server spells them: compare without case.
      if (event.value("kind", "") == kind && lower(event.value("reason", "")).find(lower(reason_part)) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  // How many times the log has `text` (used only to wait for the watcher, never as an assertion).
  std::size_t log_count(const std::string& text) const {
    const std::string all = log();
    std::size_t count = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + 1)) ++count;
    return count;
  }
  // round_trips=N of the last directory-fetch log line.
  std::uint64_t last_fetch_round_trips() const {
    const std::string all = log();
    static const std::regex line("event=directory-fetch uri=\\S+ round_trips=([0-9]+)");
    std::uint64_t last = 0;
    for (auto it = std::sregex_iterator(all.begin(), all.end(), line); it != std::sregex_iterator(); ++it) {
      last = std::stoull((*it)[1].str());
    }
    return last;
  }

 private:
  std::filesystem::path dir_, krb5_config_, socket_, config_;
  test::ChildProcess process_;
};

template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit = kWaitLimit, std::chrono::milliseconds step = 100ms) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(step);
  }
  return done();
}

const nlohmann::json* find_named(const nlohmann::json& items, const std::string& name) {
  for (const auto& item : items) {
    if (item.value("name", "") == name) return &item;
  }
  return nullptr;
}

class WarddDirectory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto kdc = test::KdcInstance::start({kRealm});
    ASSERT_TRUE(kdc) << kdc.error().to_string();
    kdc_ = kdc->release();
    const auto service_keytab = test::add_legal_principals(*kdc_, {"legal-pc1", "sales-pc1", "lab-pc1"});
    ASSERT_TRUE(service_keytab) << service_keytab.error().to_string();

    auto options = test::legal_scenario_slapd_options(source_dir(), *service_keytab, kdc_->krb5_config());
    options.syncprov = true;
    auto slapd = test::SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    slapd_ = slapd->release();

    auto dir = test::TempDir::create("ward-wardd-directory");
    ASSERT_TRUE(dir) << dir.error().to_string();
    temp_ = new test::TempDir(std::move(*dir));
    password_file_ = temp_->path() / "admin.password";
    ASSERT_TRUE(test::write_file(password_file_, slapd_->options().root_password + "\n"));
    ::chmod(password_file_.c_str(), 0600);
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
    ASSERT_NE(slapd_, nullptr);
    ASSERT_NE(kdc_, nullptr);
  }

  static std::unique_ptr<Wardd> wardd(const std::string& name, const Wardd::Host& host,
                                      std::vector<std::string> uris = {}) {
    if (uris.empty()) uris = {slapd_->ldap_uri("localhost")};
    return std::make_unique<Wardd>(temp_->path() / name, host, uris, test::legal_host_keytab(*kdc_, host.name),
                                   kdc_->krb5_config());
  }

  static RunResult ward_dir(std::vector<std::string> words) {
    std::vector<std::string> argv{WARD_DIR_BINARY, "--uri", slapd_->ldap_uri(), "--bind-dn", slapd_->options().root_dn,
                                  "--password-file", password_file_.string(), "--domain", kDomain};
    argv.insert(argv.end(), words.begin(), words.end());
    return run(argv, temp_->path());
  }

  // Edits the "outside" filter action's description with ward-dir and returns how long after
  // ward-dir returned `w` showed it (or nothing when it never did within kWaitLimit).
  static std::optional<std::chrono::milliseconds> change_and_time(const Wardd& w, const std::string& description) {
    auto edited = ward_dir({"filteraction", "set", kLegalPolicyName, kOutsideAction, "--description", description});
    EXPECT_EQ(edited.exit_code, 0) << edited.err;
    if (edited.exit_code != 0) return std::nullopt;
    const auto written = Clock::now();
    const bool seen = eventually(
        [&] {
          const auto p = w.policy();
          if (!p.is_object() || !p["policy"].contains("filter_actions")) return false;
          const auto* action = find_named(p["policy"]["filter_actions"], kOutsideAction);
          return action != nullptr && action->value("description", "") == description;
        },
        kWaitLimit, 20ms);
    if (!seen) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - written);
  }

  static bool watching(const Wardd& w, std::size_t times = 1) {
    return eventually([&] { return w.log_count("event=change-watch-established") >= times; });
  }

  static inline test::KdcInstance* kdc_ = nullptr;
  static inline test::SlapdInstance* slapd_ = nullptr;
  static inline test::TempDir* temp_ = nullptr;
  static inline std::filesystem::path password_file_;
};

const Wardd::Host kLegalPc1{"legal-pc1", "computer_name = LEGAL-PC1$"};
const Wardd::Host kSalesPc1{"sales-pc1", "computer_dn = CN=sales-pc1,OU=Sales," + kDomain};
const Wardd::Host kLabPc1{"lab-pc1", "computer_name = lab-pc1"};

// (a) Each host gets the policy its GPO scope assigns, with where it came from.
TEST_F(WarddDirectory, ShowsThePolicyTheGpoScopeAssigns) {
  auto legal = wardd("a-legal", kLegalPc1);
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  const auto shown = legal->policy();
  EXPECT_EQ(shown["policy"]["name"], kLegalPolicyName);
  EXPECT_EQ(lower(shown["source"]["policy_dn"].get<std::string>()), lower(kLegalPolicyDn));
  EXPECT_EQ(lower(shown["source"]["gpo_dn"].get<std::string>()), lower(kLegalGpo));
  EXPECT_EQ(lower(shown["source"]["som_dn"].get<std::string>()), lower(kLegalOu));
  EXPECT_FALSE(shown["source"]["change_stamp"].get<std::string>().empty());
  EXPECT_NE(shown["source"]["origin"].get<std::string>().find("directory"), std::string::npos);
  const auto round_trips = legal->last_fetch_round_trips();
  const long rss = vm_rss_kb(legal->pid());
  std::cout << "legal-pc1: full fetch " << round_trips << " LDAP round trips (bind included); wardd VmRSS "
            << rss << " kB after start\n";
  RecordProperty("fetch_round_trips", static_cast<int>(round_trips));
  RecordProperty("wardd_vmrss_kb", static_cast<int>(rss));
  if (std::getenv("WARD_TEST_VERBOSE")) std::cout << legal->log();
  EXPECT_GT(round_trips, 0u);
  EXPECT_LE(round_trips, kMaxFetchRoundTrips);
  const auto filters = legal->wardctl({"show", "filters"});
  ASSERT_TRUE(filters.is_object());
  EXPECT_FALSE(filters["filters"].empty());

  auto sales = wardd("a-sales", kSalesPc1);
  sales->start();
  ASSERT_TRUE(eventually([&] { return sales->state() == "applied"; })) << sales->log();
  const auto sales_shown = sales->policy();
  EXPECT_EQ(sales_shown["policy"]["name"], kDomainPolicyName);
  EXPECT_EQ(lower(sales_shown["source"]["som_dn"].get<std::string>()), lower(kDomain));
  EXPECT_EQ(sales_shown["source"]["gpo_name"], "Domain IPsec");

  // OU=Lab blocks inheritance and links nothing: no policy assigned, none enforced.
  auto lab = wardd("a-lab", kLabPc1);
  lab->start();
  ASSERT_TRUE(eventually([&] { return lab->has_event("policy-applied", "no IPsec policy assigned"); })) << lab->log();
  EXPECT_EQ(lab->state(), "none");
  const auto lab_filters = lab->wardctl({"show", "filters"});
  ASSERT_TRUE(lab_filters.is_object());
  EXPECT_TRUE(lab_filters["filters"].empty());
}

// (b) An administrator's edit reaches the host through the change notification, not the poll
// (the policy's polling interval is far longer than the wait).
TEST_F(WarddDirectory, AppliesADirectoryChangeWithinSeconds) {
  auto legal = wardd("b-legal", kLegalPc1);
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  ASSERT_TRUE(watching(*legal)) << legal->log();
  std::this_thread::sleep_for(1s);  // let the refresh that follows the watch's set-up pass

  const auto latency = change_and_time(*legal, "changed for test b");
  ASSERT_TRUE(latency) << legal->log();
  std::cout << "change-to-applied latency (ward-dir edit -> wardctl shows it): " << latency->count() << " ms\n";
  RecordProperty("change_latency_ms", static_cast<int>(latency->count()));
  EXPECT_LE(*latency, kMaxChangeLatency);
  EXPECT_TRUE(legal->has_event("policy-applied", kLegalPolicyName));
}

// (c) The directory goes away: the policy stays enforced and wardd says so; a restart runs on the
// cache; the directory comes back: wardd follows it again.
TEST_F(WarddDirectory, KeepsThePolicyWhileTheDirectoryIsDownAndFollowsItAgain) {
  auto legal = wardd("c-legal", kLegalPc1);
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  ASSERT_TRUE(watching(*legal)) << legal->log();

  slapd_->stop();
  EXPECT_TRUE(eventually([&] { return legal->has_event("directory-unreachable", "keeping policy"); })) << legal->log();
  EXPECT_EQ(legal->policy()["policy"]["name"], kLegalPolicyName);
  EXPECT_EQ(legal->state(), "applied");

  // A wardd started while the directory is down enforces the cached policy.
  legal->stop();
  legal->start();
  EXPECT_TRUE(eventually([&] { return legal->state() == "cached"; })) << legal->log();
  EXPECT_EQ(legal->policy()["policy"]["name"], kLegalPolicyName);
  EXPECT_TRUE(legal->has_event("cache-used", kLegalPolicyName));
  EXPECT_FALSE(legal->wardctl({"show", "filters"})["filters"].empty());

  auto back = slapd_->restart();
  ASSERT_TRUE(back) << back.error().to_string();
  // The watcher reconnects (back-off) and refreshes: the policy is from the directory again.
  EXPECT_TRUE(eventually([&] { return legal->state() == "applied"; }, 90s)) << legal->log();
  ASSERT_TRUE(watching(*legal, 2)) << legal->log();  // the first wardd's watch, then this one's
  std::this_thread::sleep_for(1s);
  const auto latency = change_and_time(*legal, "changed for test c");
  ASSERT_TRUE(latency) << legal->log();
  std::cout << "after the directory came back: change-to-applied latency " << latency->count() << " ms\n";
  EXPECT_LE(*latency, kMaxChangeLatency);
}

// (d) The first URI is a closed port: the fetch and the watcher both fail over to the second.
TEST_F(WarddDirectory, FailsOverToTheSecondUri) {
  auto dead = test::free_loopback_port();
  ASSERT_TRUE(dead) << dead.error().to_string();
  auto legal = wardd("d-legal", kLegalPc1, {"ldap://localhost:" + std::to_string(*dead), slapd_->ldap_uri("localhost")});
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  EXPECT_EQ(legal->policy()["policy"]["name"], kLegalPolicyName);
  EXPECT_NE(legal->log().find("event=directory-failover"), std::string::npos);
  ASSERT_TRUE(watching(*legal)) << legal->log();
  std::this_thread::sleep_for(1s);
  const auto latency = change_and_time(*legal, "changed for test d");
  ASSERT_TRUE(latency) << legal->log();
  std::cout << "failover (first URI closed): change-to-applied latency " << latency->count() << " ms\n";
}

// (f) Broken directory content never replaces the enforced policy, and the event says where.
TEST_F(WarddDirectory, UndecodablePolicyObjectIsRejectedNamingDnAndAttribute) {
  auto legal = wardd("f-legal", kLegalPc1);
  legal->start();
  ASSERT_TRUE(eventually([&] { return legal->state() == "applied"; })) << legal->log();
  ASSERT_TRUE(watching(*legal)) << legal->log();
  std::this_thread::sleep_for(1s);

  ldap::SessionOptions admin_options;
  admin_options.uris = {slapd_->ldap_uri()};
  admin_options.bind = ldap::SimpleBind{slapd_->options().root_dn, model::Secret(slapd_->options().root_password)};
  auto admin = ldap::Session::connect(admin_options);
  ASSERT_TRUE(admin) << admin.error().to_string();
  const std::string isakmp = "CN=ipsecISAKMPPolicy{B2ACDF98-0E63-44BB-9BEF-369CED626C68},CN=IP Security,CN=System," + kDomain;
  auto original = (*admin)->search({isakmp, ldap::Scope::kBase, "(objectClass=*)", {"ipsecData"}, 0});
  ASSERT_TRUE(original && original->size() == 1) << (original ? "" : original.error().to_string());
  const auto data = (*original)[0].first("ipsecData");
  ASSERT_TRUE(data);
  ASSERT_TRUE((*admin)->modify(isakmp, {{ldap::Modification::Op::kReplace, "ipsecData", {std::string("\x01\x02\x03", 3)}}}));

  EXPECT_TRUE(eventually([&] { return legal->has_event("policy-rejected", isakmp); })) << legal->log();
  EXPECT_TRUE(legal->has_event("policy-rejected", "ipsecData"));
  EXPECT_TRUE(legal->has_event("policy-rejected", "keeping policy \"" + kLegalPolicyName + "\""));
  EXPECT_EQ(legal->state(), "applied");
  EXPECT_EQ(legal->policy()["policy"]["name"], kLegalPolicyName);

  ASSERT_TRUE((*admin)->modify(isakmp, {{ldap::Modification::Op::kReplace, "ipsecData", {*data}}}));
  const auto latency = change_and_time(*legal, "changed for test f");
  ASSERT_TRUE(latency) << legal->log();
}

// (e) Labs without Kerberos: a simple bind with the password from a root-only file, over ldapi://
// (local, so the password never crosses a network in clear); the watcher works the same way.
TEST_F(WarddDirectory, SimpleBindFromARootOnlyPasswordFile) {
  const auto dir = temp_->path() / "e-legal";
  std::filesystem::create_directories(dir);
  const auto password = dir / "directory.password";
  ASSERT_TRUE(test::write_file(password, slapd_->options().root_password + "\n"));
  ::chmod(password.c_str(), 0600);
  Wardd legal(dir, kLegalPc1, {slapd_->ldapi_uri()}, {}, kdc_->krb5_config(),
              "bind = simple\nbind_dn = " + slapd_->options().root_dn + "\npassword_file = " + password.string() + "\n");
  legal.start();
  ASSERT_TRUE(eventually([&] { return legal.state() == "applied"; })) << legal.log();
  EXPECT_EQ(legal.policy()["policy"]["name"], kLegalPolicyName);
  EXPECT_EQ(legal.log().find(slapd_->options().root_password), std::string::npos);
  ASSERT_TRUE(watching(legal)) << legal.log();
  std::this_thread::sleep_for(1s);
  const auto latency = change_and_time(legal, "changed for test e");
  ASSERT_TRUE(latency) << legal.log();
  std::cout << "simple bind over ldapi: change-to-applied latency " << latency->count() << " ms\n";
}

}  // namespace
}  // namespace ward
