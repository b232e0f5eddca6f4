// The Legal department scenario end to end (issue 3's "done" test), against one real slapd
// loaded with schemas/openldap/ward-ad-ipsec.ldif and schemas/examples/legal.ldif, and one real
// MIT KDC for the hosts' SASL/GSSAPI binds (shared by the suite).
//
// The administrator authors the Legal policy with the ward-dir binary (a subprocess); a host
// (legal-pc1, bound with its host keytab) then finds its policy by GPO scoping and reads it back
// equal to the JSON original; the number of LDAP round trips of that fetch is printed and bounded.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "directory/gpo/reader.h"
#include "directory/model/fresh_ids.h"
#include "directory/model/policy_json.h"
#include "directory/store/gpo_admin.h"
#include "directory/store/ldif.h"
#include "directory/store/policy_store.h"
#include "tests/harness/kdc_instance.h"
#include "tests/harness/legal_scenario.h"
#include "tests/harness/slapd_instance.h"

namespace ward {
namespace {

const std::string kDomain = "DC=example,DC=test";
const std::string kRealm = "EXAMPLE.TEST";
const std::string kLegalOu = "OU=Legal," + kDomain;
const std::string kIpSecurity = "CN=IP Security,CN=System," + kDomain;
const std::string kLegalPolicy = "CN=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE}," + kIpSecurity;
const std::string kDomainPolicy = "CN=ipsecPolicy{5D0A3C71-2B8E-4F6A-9C1D-7E2F40B1A001}," + kIpSecurity;
const std::string kExampleLegalGpo = "CN={6D2A0F4E-3B1C-4C8D-9E7F-1A2B3C4D5E01},CN=Policies,CN=System," + kDomain;
const std::string kDomainGpo = "CN={6D2A0F4E-3B1C-4C8D-9E7F-1A2B3C4D5E02},CN=Policies,CN=System," + kDomain;
// One host's fetch: scope (computer + OUs + domain, then the GPO container) and policy (policy
// with owned objects, then filters and negotiation policies).
constexpr std::uint64_t kMaxFetchRoundTrips = 4;

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

model::Policy example_policy(const std::string& file) {
  auto policy = model::policy_from_json(test::read_text(source_dir() / "schemas/examples" / file));
  EXPECT_TRUE(policy);
  return policy ? *policy : model::Policy{};
}

using RunResult = test::CapturedRun;

RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& dir) { return test::run_captured(argv, dir); }

class LegalScenario : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto kdc = test::KdcInstance::start({kRealm});
    ASSERT_TRUE(kdc) << kdc.error().to_string();
    kdc_ = kdc->release();
    krb5_env_ = new test::ScopedEnv("KRB5_CONFIG", kdc_->krb5_config().string());
    const auto service_keytab = test::add_legal_principals(*kdc_, {"legal-pc1", "sales-pc1"});
    ASSERT_TRUE(service_keytab) << service_keytab.error().to_string();

    auto options = test::legal_scenario_slapd_options(source_dir(), *service_keytab, kdc_->krb5_config());
    auto slapd = test::SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    slapd_ = slapd->release();

    auto dir = test::TempDir::create("ward-dirstore-test");
    ASSERT_TRUE(dir) << dir.error().to_string();
    temp_ = new test::TempDir(std::move(*dir));
    password_file_ = temp_->path() / "admin.password";
    ASSERT_TRUE(test::write_file(password_file_, slapd_->options().root_password + "\n"));
    ::chmod(password_file_.c_str(), 0600);
  }
  static void TearDownTestSuite() {
    delete temp_;
    delete slapd_;
    delete krb5_env_;
    delete kdc_;
    temp_ = nullptr;
    slapd_ = nullptr;
    krb5_env_ = nullptr;
    kdc_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(slapd_, nullptr);
    ASSERT_NE(kdc_, nullptr);
    admin_ = connect(ldap::SimpleBind{slapd_->options().root_dn, model::Secret(slapd_->options().root_password)});
    ASSERT_NE(admin_, nullptr);
  }

  static std::unique_ptr<ldap::Session> connect(ldap::BindCredentials bind) {
    ldap::SessionOptions options;
    options.uris = {slapd_->ldap_uri("localhost")};
    options.bind = std::move(bind);
    auto session = ldap::Session::connect(options);
    EXPECT_TRUE(session) << session.error().to_string() << "\n" << test::file_tail(slapd_->log_file());
    return session ? std::move(*session) : nullptr;
  }
  static std::unique_ptr<ldap::Session> host_session(const std::string& host) {
    return connect(ldap::GssapiBind{test::legal_host_keytab(*kdc_, host).string(),
                                    "host/" + host + ".example.test@" + kRealm});
  }

  // ward-dir with the admin's connection options.
  static RunResult ward_dir(std::vector<std::string> words) {
    std::vector<std::string> argv{WARD_DIR_BINARY, "--uri", slapd_->ldap_uri(), "--bind-dn", slapd_->options().root_dn,
                                  "--password-file", password_file_.string(), "--domain", kDomain};
    argv.insert(argv.end(), words.begin(), words.end());
    return run(argv, temp_->path());
  }

  Expected<gpo::ComputerScope, gpo::GpoError> scope_of(const std::string& computer_dn) {
    return gpo::read_computer_scope(*admin_, computer_dn, std::nullopt);
  }

  static inline test::KdcInstance* kdc_ = nullptr;
  static inline test::ScopedEnv* krb5_env_ = nullptr;
  static inline test::SlapdInstance* slapd_ = nullptr;
  static inline test::TempDir* temp_ = nullptr;
  static inline std::filesystem::path password_file_;
  std::unique_ptr<ldap::Session> admin_;
};

// legal.ldif's generated section is exactly what the writer produces for the two examples.
TEST(LegalLdif, GeneratedSectionMatchesWriter) {
  const std::string ldif = test::read_text(source_dir() / "schemas/examples/legal.ldif");
  const std::string marker = "# GENERATED by ward-policy-ldif: do not edit below this line\n";
  const auto at = ldif.find(marker);
  ASSERT_NE(at, std::string::npos);
  std::string expected;
  for (const auto* file : {"legal-policy.json", "domain-policy.json"}) {
    const auto policy = example_policy(file);
    auto text = store::policy_ldif(policy, kDomain);
    ASSERT_TRUE(text) << text.error().to_string();
    expected += "# policy \"" + policy.name + "\"\n" + *text;
  }
  EXPECT_EQ(ldif.substr(at + marker.size()), expected)
      << "regenerate with: " << WARD_POLICY_LDIF_BINARY << " " << kDomain
      << " schemas/examples/legal-policy.json schemas/examples/domain-policy.json";
}

TEST_F(LegalScenario, ExampleDirectoryScopesAsDescribed) {
  auto legal = scope_of("CN=legal-pc1," + kLegalOu);
  ASSERT_TRUE(legal) << legal.error().to_string();
  ASSERT_TRUE(legal->winner);
  EXPECT_EQ(adblob::normalized_dn(legal->winner->policy_dn), adblob::normalized_dn(kLegalPolicy));
  auto stored = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(stored) << stored.error().to_string();
  EXPECT_EQ(stored->policy, example_policy("domain-policy.json"));
}

// The done test: author the Legal policy with ward-dir, read it back as the host.
TEST_F(LegalScenario, AuthoredWithWardDirAndReadBackByHost) {
  // Start from the example directory without its Legal policy and GPO.
  auto refused = store::delete_policy(*admin_, kDomain, kLegalPolicy, /*force=*/false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("Legal IPsec"), std::string::npos) << refused.error().to_string();
  ASSERT_TRUE(store::delete_policy(*admin_, kDomain, kLegalPolicy, /*force=*/true));
  ASSERT_TRUE(store::unlink_gpo(*admin_, kLegalOu, kExampleLegalGpo));
  for (const auto* rdn : {"CN=Windows,CN=Microsoft,CN=Machine,", "CN=Microsoft,CN=Machine,", "CN=Machine,", "CN=User,", ""}) {
    ASSERT_TRUE(admin_->remove(rdn + kExampleLegalGpo)) << rdn;
  }
  auto before = scope_of("CN=legal-pc1," + kLegalOu);
  ASSERT_TRUE(before) << before.error().to_string();
  ASSERT_TRUE(before->winner);
  EXPECT_EQ(adblob::normalized_dn(before->winner->policy_dn), adblob::normalized_dn(kDomainPolicy));

  // The administrator's steps.
  const auto json_file = (source_dir() / "schemas/examples/legal-policy.json").string();
  auto imported = ward_dir({"policy", "import", json_file});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.out, kLegalPolicy + "\n");
  auto created = ward_dir({"gpo", "create", "Legal IPsec"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string gpo_dn = created.out.substr(0, created.out.find('\n'));
  auto linked = ward_dir({"gpo", "link", "Legal IPsec", kLegalOu});
  ASSERT_EQ(linked.exit_code, 0) << linked.err;
  auto assigned = ward_dir({"gpo", "assign", "Legal IPsec", "Communication for the Legal Department"});
  ASSERT_EQ(assigned.exit_code, 0) << assigned.err;

  auto listed = ward_dir({"--json", "policy", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto list = nlohmann::json::parse(listed.out);
  bool found = false;
  for (const auto& policy : list) {
    if (adblob::normalized_dn(policy["dn"].get<std::string>()) != adblob::normalized_dn(kLegalPolicy)) continue;
    found = true;
    ASSERT_EQ(policy["assigned_by"].size(), 1u);
    EXPECT_EQ(policy["assigned_by"][0]["display_name"], "Legal IPsec");
  }
  EXPECT_TRUE(found) << listed.out;

  auto scoped = ward_dir({"scope", "LEGAL-PC1$", "--json"});
  ASSERT_EQ(scoped.exit_code, 0) << scoped.err;
  const auto scope_json = nlohmann::json::parse(scoped.out);
  EXPECT_EQ(scope_json["winner"]["display_name"], "Legal IPsec");
  EXPECT_EQ(adblob::normalized_dn(scope_json["winner"]["som"].get<std::string>()), adblob::normalized_dn(kLegalOu));

  // The host: GSSAPI bind with its keytab, scope, then the policy.
  auto host = host_session("legal-pc1");
  ASSERT_NE(host, nullptr);
  auto me = host->whoami();
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(adblob::normalized_dn(me->substr(3)), adblob::normalized_dn("CN=legal-pc1," + kLegalOu));
  const auto start = host->round_trips();
  auto scope = gpo::read_computer_scope(*host, me->substr(3), std::nullopt);
  ASSERT_TRUE(scope) << scope.error().to_string();
  ASSERT_TRUE(scope->winner);
  EXPECT_EQ(scope->winner->gpo_display_name, "Legal IPsec");
  EXPECT_EQ(adblob::normalized_dn(scope->winner->gpo_dn), adblob::normalized_dn(gpo_dn));
  EXPECT_EQ(adblob::normalized_dn(scope->winner->som_dn), adblob::normalized_dn(kLegalOu));
  auto policy = store::read_policy(*host, scope->winner->policy_dn);
  ASSERT_TRUE(policy) << policy.error().to_string();
  const auto fetch_round_trips = host->round_trips() - start;
  std::cout << "legal-pc1 full fetch (scope + policy read): " << fetch_round_trips << " LDAP round trips\n";
  RecordProperty("host_fetch_round_trips", static_cast<int>(fetch_round_trips));
  EXPECT_LE(fetch_round_trips, kMaxFetchRoundTrips);
  EXPECT_EQ(policy->policy, example_policy("legal-policy.json"));

  // Scoping of the other computers.
  auto sales = gpo::read_computer_scope(*host, "CN=sales-pc1,OU=Sales," + kDomain, std::nullopt);
  ASSERT_TRUE(sales) << sales.error().to_string();
  ASSERT_TRUE(sales->winner);
  EXPECT_EQ(adblob::normalized_dn(sales->winner->policy_dn), adblob::normalized_dn(kDomainPolicy));
  EXPECT_EQ(adblob::normalized_dn(sales->winner->som_dn), adblob::normalized_dn(kDomain));
  auto lab = gpo::read_computer_scope(*host, "CN=lab-pc1,OU=Lab," + kDomain, std::nullopt);
  ASSERT_TRUE(lab) << lab.error().to_string();
  EXPECT_FALSE(lab->winner) << lab->winner->policy_dn;

  // Enforce the domain link: the domain policy wins even in OU=Legal and the blocking OU=Lab.
  auto enforced = ward_dir({"gpo", "link", "Domain IPsec", kDomain, "--enforced"});
  ASSERT_EQ(enforced.exit_code, 0) << enforced.err;
  for (const auto& computer : {"CN=legal-pc1," + kLegalOu, "CN=lab-pc1,OU=Lab," + kDomain}) {
    auto result = gpo::read_computer_scope(*host, computer, std::nullopt);
    ASSERT_TRUE(result) << result.error().to_string();
    ASSERT_TRUE(result->winner) << computer;
    EXPECT_EQ(adblob::normalized_dn(result->winner->policy_dn), adblob::normalized_dn(kDomainPolicy)) << computer;
  }
  auto relaxed = ward_dir({"gpo", "link", "Domain IPsec", kDomain});
  ASSERT_EQ(relaxed.exit_code, 0) << relaxed.err;

  // Export: preshared keys redacted, file private.
  const auto exported = temp_->path() / "legal-export.json";
  auto exported_run = ward_dir({"policy", "export", "Communication for the Legal Department", exported.string()});
  ASSERT_EQ(exported_run.exit_code, 0) << exported_run.err;
  struct stat st {};
  ASSERT_EQ(::stat(exported.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto reimported = model::policy_from_json(test::read_text(exported));
  ASSERT_TRUE(reimported);
  EXPECT_EQ(*reimported, example_policy("legal-policy.json"));
}

// Edits go through the model: one that would make the policy invalid is refused with object and
// field and the directory keeps the old policy; valid ones are written with update_policy.
TEST_F(LegalScenario, EditsAreValidatedAndWrittenThroughTheModel) {
  auto before = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(before) << before.error().to_string();
  // AES-CBC without integrity is not a valid ESP transform.
  auto refused = ward_dir({"filteraction", "set", "Domain IPsec: secure traffic to Legal", "Encrypt traffic to Legal",
                           "--esp", "aes256-cbc"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("Encrypt traffic to Legal"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("integrity"), std::string::npos) << refused.err;
  auto after = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_EQ(after->objects, before->objects);

  // A valid edit goes through update_policy: deactivate a rule, then re-activate it.
  auto off = ward_dir({"rule", "set", "Domain IPsec: secure traffic to Legal", "Permit all other traffic", "--active", "no"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  auto changed = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(changed) << changed.error().to_string();
  ASSERT_EQ(changed->policy.rules.size(), 2u);
  EXPECT_FALSE(changed->policy.rules[1].active);
  auto on = ward_dir({"rule", "set", "Domain IPsec: secure traffic to Legal", "Permit all other traffic", "--active", "yes"});
  ASSERT_EQ(on.exit_code, 0) << on.err;
  auto restored = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->policy, before->policy);

  // A new filter list for a rule, a second filter in it, a new action; then the JSON original
  // again with import --update, which deletes the objects no longer used.
  const std::string name = "Domain IPsec: secure traffic to Legal";
  auto list = ward_dir({"filterlist", "add", name, "Web", "--rule", "Permit all other traffic", "--src", "me", "--dst",
                        "any", "--protocol", "tcp", "--dstport", "443"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto filter = ward_dir({"filter", "add", name, "Web", "--src", "me", "--dst", "10.9.0.0/16", "--protocol", "tcp",
                          "--dstport", "80"});
  ASSERT_EQ(filter.exit_code, 0) << filter.err;
  auto action = ward_dir({"filteraction", "add", name, "Block web", "--rule", "Permit all other traffic", "--action",
                          "block"});
  ASSERT_EQ(action.exit_code, 0) << action.err;
  auto edited = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(edited) << edited.error().to_string();
  const auto* web = edited->policy.find_filter_list(*edited->policy.rules[1].filter_list);
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->name, "Web");
  ASSERT_EQ(web->filters.size(), 2u);
  EXPECT_EQ(web->filters[1].destination_ports, PortRange::single(80));
  EXPECT_EQ(edited->policy.find_filter_action(edited->policy.rules[1].filter_action)->kind, model::ActionKind::Block);
  auto busy = ward_dir({"filterlist", "delete", name, "Web"});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("Permit all other traffic"), std::string::npos) << busy.err;

  auto reset = ward_dir({"policy", "import", "--update", (source_dir() / "schemas/examples/domain-policy.json").string()});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  auto again = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->policy, before->policy);
  EXPECT_EQ(again->objects.size(), before->objects.size());

  // A weak offer is a warning, not a refusal (as Windows applies such policies): the edit is
  // written and ward-dir names the offer it will not be used for.
  auto weak = ward_dir({"filteraction", "set", name, "Encrypt traffic to Legal", "--esp", "des:sha1", "--esp", "aes256-gcm"});
  ASSERT_EQ(weak.exit_code, 0) << weak.err;
  EXPECT_NE(weak.err.find("ward-dir: warning: filter action \"Encrypt traffic to Legal\", field security_methods[0]: "
                          "security method 1 (ESP DES/SHA-1) skipped: DES is broken"),
            std::string::npos)
      << weak.err;
  auto with_des = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(with_des) << with_des.error().to_string();
  bool stored = false;
  for (const auto& a : with_des->policy.filter_actions) {
    if (a.name == "Encrypt traffic to Legal") stored = a.security_methods.size() == 2 && a.security_methods[0].esp->cipher == model::Cipher::Des;
  }
  EXPECT_TRUE(stored);
  ASSERT_EQ(ward_dir({"policy", "import", "--update", (source_dir() / "schemas/examples/domain-policy.json").string()}).exit_code, 0);

  // Usage errors: no password on the command line.
  auto password = run({WARD_DIR_BINARY, "--password", "x", "policy", "list"}, temp_->path());
  EXPECT_EQ(password.exit_code, 2);
}

// An add that fails midway (an object already sits at one NFA's DN) leaves nothing behind.
TEST_F(LegalScenario, FailedWriteMidwayLeavesNoHalfPolicy) {
  model::Policy policy = example_policy("domain-policy.json");
  const auto fresh = model::renew_ids(policy);
  policy.name = "Half written";
  const std::string blocker = adblob::ipsec_dn(adblob::AdClass::Nfa, policy.rules.back().id, kDomain);
  ASSERT_TRUE(admin_->add(blocker, {{"objectClass", {"container"}}, {"cn", {"ipsecNFA" + policy.rules.back().id.to_string()}}}));

  auto written = store::write_policy(*admin_, kDomain, policy);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().dn, blocker);
  EXPECT_NE(written.error().message.find("68"), std::string::npos) << written.error().to_string();

  // Nothing of the new policy remains, nothing references it.
  std::string filter = "(|";
  for (const auto& [old_id, new_id] : fresh) filter += "(ipsecID=" + new_id.to_string() + ")";
  filter += "(ipsecOwnersReference=" + store::policy_dn(policy, kDomain) + "))";
  auto left = admin_->search({kDomain, ldap::Scope::kSubtree, filter, {"cn"}, 0});
  ASSERT_TRUE(left) << left.error().to_string();
  EXPECT_TRUE(left->empty()) << left->front().dn;
  ASSERT_TRUE(admin_->remove(blocker));

  // With the obstacle gone the same write succeeds, and delete removes every object again.
  auto retried = store::write_policy(*admin_, kDomain, policy);
  ASSERT_TRUE(retried) << retried.error().to_string();
  auto back = store::read_policy(*admin_, *retried);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->policy, policy);
  ASSERT_TRUE(store::delete_policy(*admin_, kDomain, *retried, false));
  auto gone = admin_->search({kDomain, ldap::Scope::kSubtree, filter, {"cn"}, 0});
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->empty());
}

// The objects with every DN in normalized form: slapd returns a DN value it was given as "CN=x"
// as "cn=x" (its schema's name for the attribute), the same DN.
std::vector<adblob::AdObject> with_normalized_dns(std::vector<adblob::AdObject> objects) {
  for (auto& o : objects) {
    o.dn = adblob::normalized_dn(o.dn);
    if (o.isakmp_reference) o.isakmp_reference = adblob::normalized_dn(*o.isakmp_reference);
    if (o.negotiation_policy_reference) o.negotiation_policy_reference = adblob::normalized_dn(*o.negotiation_policy_reference);
    for (auto* list : {&o.nfa_references, &o.filter_references, &o.owners_references}) {
      for (auto& dn : *list) dn = adblob::normalized_dn(dn);
    }
  }
  return objects;
}

// The same on slapd for an update of an assigned policy: a failure injected before any add or
// modification leaves every object exactly as read (policy_writer undoes the earlier steps).
TEST_F(LegalScenario, InjectedFailuresDuringAnUpdateAreUndone) {
  auto before = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(before) << before.error().to_string();
  model::Policy edited = before->policy;
  edited.description = "updated";
  edited.rules.front().active = !edited.rules.front().active;
  model::Rule extra = edited.rules.front();
  extra.id = model::Guid::random();
  extra.name = "Extra";
  edited.rules.push_back(extra);
  std::size_t fail_at = 0;
  for (;; ++fail_at) {
    std::size_t index = 0;
    store::WriteOptions options;
    options.fail_before = [&](std::size_t, const store::WriteStep& step) {
      return step.kind != store::WriteStep::Kind::kDelete && index++ == fail_at;
    };
    auto updated = store::update_policy(*admin_, kDomain, edited, options);
    if (updated) break;
    EXPECT_NE(updated.error().message.find("injected"), std::string::npos) << updated.error().to_string();
    auto after = store::read_policy(*admin_, kDomainPolicy);
    ASSERT_TRUE(after) << after.error().to_string();
    EXPECT_EQ(with_normalized_dns(after->objects), with_normalized_dns(before->objects)) << "failing at step " << fail_at;
  }
  EXPECT_GE(fail_at, 3u);
  auto done = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_EQ(done->policy, edited);
  ASSERT_TRUE(store::update_policy(*admin_, kDomain, before->policy));
  auto restored = store::read_policy(*admin_, kDomainPolicy);
  ASSERT_TRUE(restored);
  EXPECT_EQ(with_normalized_dns(restored->objects), with_normalized_dns(before->objects));
}

}  // namespace
}  // namespace ward
