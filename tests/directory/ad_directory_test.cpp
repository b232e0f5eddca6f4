// Every ward-dir verb against a real Active Directory: one Samba AD DC for the binary
// (SambaAdEnvironment; the process runs in the DC's network, so ward-dir finds dc1.ward.test),
// the administrator bound with SASL/GSSAPI from a keytab as a real admin would with kinit.
//
// - policies written in MS-GPIPSEC's order (AD checks every DN reference), updated, deleted;
// - a write that fails at any step leaves the directory as it was (injected failures);
// - GPOs: both halves (the groupPolicyContainer and the GPT on SYSVOL, written over SMB with
//   Kerberos or through a local SysVol folder), link, enforce, block inheritance, assign (with the
//   assignment's description) and unassign, GPT.INI's Version in step with versionNumber;
// - `directory grant-read` lets computers read the policies;
// - Windows' own default policies edited byte-exactly (windows_write_back.h).
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "directory/gpo/reader.h"
#include "directory/model/fresh_ids.h"
#include "directory/model/policy_json.h"
#include "directory/store/gpo_admin.h"
#include "directory/store/policy_store.h"
#include "tests/directory/windows_write_back.h"
#include "tests/harness/samba_ad_environment.h"

namespace ward {
namespace {

const auto* const kSambaAd = ::testing::AddGlobalTestEnvironment(new test::SambaAdEnvironment);

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

model::Policy example_policy(const std::string& file) {
  auto policy = model::policy_from_json(test::read_text(source_dir() / "schemas/examples" / file));
  EXPECT_TRUE(policy);
  return policy ? *policy : model::Policy{};
}

class AdDirectory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dc_ = test::SambaAdEnvironment::dc();
    if (dc_ == nullptr) return;
    auto keytab = dc_->admin_keytab();
    ASSERT_TRUE(keytab) << keytab.error().to_string();
    keytab_ = *keytab;
    domain_ = dc_->domain_dn();
    auto dir = test::TempDir::create("ward-ad-directory-test");
    ASSERT_TRUE(dir) << dir.error().to_string();
    temp_ = new test::TempDir(std::move(*dir));
  }
  static void TearDownTestSuite() {
    delete temp_;
    temp_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(dc_, nullptr) << "no Samba AD DC (see the environment's failure)";
    admin_ = connect(ldap::GssapiBind{keytab_.string(), dc_->admin_principal()});
    ASSERT_NE(admin_, nullptr);
  }

  static std::unique_ptr<ldap::Session> connect(ldap::BindCredentials bind) {
    ldap::SessionOptions options;
    options.uris = {dc_->ldap_uri()};
    options.bind = std::move(bind);
    auto session = ldap::Session::connect(options);
    EXPECT_TRUE(session) << session.error().to_string();
    return session ? std::move(*session) : nullptr;
  }

  // ward-dir as the domain administrator (GSSAPI from the keytab), with `extra` options first.
  static test::CapturedRun ward_dir(const std::vector<std::string>& words, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{WARD_DIR_BINARY, "--uri", dc_->ldap_uri(), "--keytab", keytab_.string(),
                                  "--principal", dc_->admin_principal(), "--domain", domain_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), words.begin(), words.end());
    return test::run_captured(argv, temp_->path());
  }

  static std::string write_json(const model::Policy& policy, const std::string& name) {
    const auto file = temp_->path() / name;
    EXPECT_TRUE(test::write_file(file, model::policy_to_json(policy, model::SecretHandling::Include)));
    return file.string();
  }

  std::optional<ldap::Entry> read_entry(const std::string& dn, std::vector<std::string> attributes) {
    auto entries = admin_->search({dn, ldap::Scope::kBase, "(objectClass=*)", std::move(attributes), 0});
    if (!entries || entries->empty()) return std::nullopt;
    return entries->front();
  }

  // The GPT.INI of a GPO on the DC's sysvol (the [sysvol] share's folder).
  static std::string gpt_ini(const std::string& gpo_dn) {
    const auto guid = gpo_dn.substr(3, gpo_dn.find(',') - 3);
    return test::read_text(dc_->sysvol_dir() / dc_->dns_domain() / "Policies" / guid / "GPT.INI");
  }

  static inline test::SambaAdInstance* dc_ = nullptr;
  static inline std::filesystem::path keytab_;
  static inline std::string domain_;
  static inline test::TempDir* temp_ = nullptr;
  std::unique_ptr<ldap::Session> admin_;
};

// First, while the Windows default objects are as Samba provisioned them.
TEST_F(AdDirectory, WindowsDefaultPoliciesWriteBackByteExact) {
  test::check_windows_write_back(*admin_, domain_, [](const std::vector<std::string>& words) { return ward_dir(words); });
}

TEST_F(AdDirectory, PolicyVerbsWriteInMsGpipsecOrder) {
  const model::Policy legal = example_policy("legal-policy.json");
  auto imported = ward_dir({"policy", "import", (source_dir() / "schemas/examples/legal-policy.json").string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.describe();
  const std::string dn = store::policy_dn(legal, domain_);
  EXPECT_EQ(imported.out, dn + "\n");
  auto stored = store::read_policy(*admin_, dn);
  ASSERT_TRUE(stored) << stored.error().to_string();
  EXPECT_EQ(stored->policy, legal);
  auto again = ward_dir({"policy", "import", (source_dir() / "schemas/examples/legal-policy.json").string()});
  EXPECT_EQ(again.exit_code, 1) << "a second import of the same ids is refused";

  // --update adding a rule with a new filter list and a new filter action, then removing it.
  model::Policy bigger = legal;
  model::FilterList web;
  web.id = model::Guid::random();
  web.name = "Web";
  model::Filter filter;
  filter.id = model::Guid::random();
  filter.source = model::AddressSpec::my_address();
  filter.protocol = model::ip_protocol::kTcp;
  filter.destination_ports = PortRange::single(443);
  web.filters.push_back(filter);
  model::FilterAction block;
  block.id = model::Guid::random();
  block.name = "Block web";
  block.kind = model::ActionKind::Block;
  model::Rule rule = bigger.rules.front();
  rule.id = model::Guid::random();
  rule.name = "Block web";
  rule.filter_list = web.id;
  rule.filter_action = block.id;
  bigger.filter_lists.push_back(web);
  bigger.filter_actions.push_back(block);
  bigger.rules.push_back(rule);
  auto grown = ward_dir({"policy", "import", "--update", write_json(bigger, "bigger.json")});
  ASSERT_EQ(grown.exit_code, 0) << grown.describe();
  auto with_rule = store::read_policy(*admin_, dn);
  ASSERT_TRUE(with_rule) << with_rule.error().to_string();
  EXPECT_EQ(with_rule->policy, bigger);
  EXPECT_EQ(with_rule->objects.size(), stored->objects.size() + 3);
  auto shrunk = ward_dir({"policy", "import", "--update", (source_dir() / "schemas/examples/legal-policy.json").string()});
  ASSERT_EQ(shrunk.exit_code, 0) << shrunk.describe();
  auto back = store::read_policy(*admin_, dn);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->policy, legal);
  EXPECT_EQ(back->objects, stored->objects);
  for (const auto& gone : {adblob::ipsec_dn(adblob::AdClass::Nfa, rule.id, domain_),
                           adblob::ipsec_dn(adblob::AdClass::Filter, web.id, domain_),
                           adblob::ipsec_dn(adblob::AdClass::NegotiationPolicy, block.id, domain_)}) {
    EXPECT_FALSE(read_entry(gone, {"cn"})) << gone;
  }

  // The editing verbs.
  const std::string name = legal.name;
  const std::string inter = legal.rules[1].name;
  auto off = ward_dir({"rule", "set", name, inter, "--active", "no"});
  ASSERT_EQ(off.exit_code, 0) << off.describe();
  auto list = ward_dir({"filterlist", "add", name, "Web", "--rule", inter, "--src", "me", "--dst", "any", "--protocol",
                        "tcp", "--dstport", "443"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  auto more = ward_dir({"filter", "add", name, "Web", "--src", "me", "--dst", "10.9.0.0/16", "--protocol", "tcp",
                        "--dstport", "80"});
  ASSERT_EQ(more.exit_code, 0) << more.describe();
  auto action = ward_dir({"filteraction", "add", name, "Block web", "--rule", inter, "--action", "block"});
  ASSERT_EQ(action.exit_code, 0) << action.describe();
  auto described = ward_dir({"policy", "set", name, "--description", "Edited on AD"});
  ASSERT_EQ(described.exit_code, 0) << described.describe();
  auto edited = store::read_policy(*admin_, dn);
  ASSERT_TRUE(edited) << edited.error().to_string();
  EXPECT_FALSE(edited->policy.rules[1].active);
  EXPECT_EQ(edited->policy.description, "Edited on AD");
  const auto* web_list = edited->policy.find_filter_list(*edited->policy.rules[1].filter_list);
  ASSERT_NE(web_list, nullptr);
  EXPECT_EQ(web_list->filters.size(), 2u);
  EXPECT_EQ(edited->policy.find_filter_action(edited->policy.rules[1].filter_action)->kind, model::ActionKind::Block);
  auto shown = ward_dir({"--json", "policy", "show", name});
  ASSERT_EQ(shown.exit_code, 0) << shown.describe();
  EXPECT_EQ(nlohmann::json::parse(shown.out)["name"], name);

  // Delete: every object of the policy goes.
  auto deleted = ward_dir({"policy", "delete", name});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.describe();
  for (const auto& object : edited->objects) EXPECT_FALSE(read_entry(object.dn, {"cn"})) << object.dn;
}

// Injected failures at every write step of a new policy, and of an update of an assigned policy:
// the directory holds exactly what it held before (adds undone, modifications reverted).
TEST_F(AdDirectory, AFailureAtAnyStepLeavesThePolicyAsItWas) {
  model::Policy policy = model::with_fresh_ids(example_policy("domain-policy.json"));
  policy.name = "Injected failures policy";
  const std::string dn = store::policy_dn(policy, domain_);
  std::size_t steps = 0;
  for (std::size_t fail_at = 0;; ++fail_at) {
    store::WriteOptions options;
    options.fail_before = [&](std::size_t i, const store::WriteStep&) { return i == fail_at; };
    auto written = store::write_policy(*admin_, domain_, policy, options);
    if (written) {
      steps = fail_at;
      break;
    }
    EXPECT_NE(written.error().message.find("injected"), std::string::npos) << written.error().to_string();
    auto left = admin_->search({adblob::ip_security_container(domain_), ldap::Scope::kOneLevel,
                                "(|(ipsecID=" + policy.id.to_string() + ")(ipsecID=" + policy.rules.front().id.to_string() +
                                    ")(ipsecOwnersReference=" + dn + "))",
                                {"cn"}, 0});
    ASSERT_TRUE(left) << left.error().to_string();
    EXPECT_TRUE(left->empty()) << "failing at step " << fail_at << " left " << left->front().dn;
  }
  std::cout << "new policy: " << steps << " write steps, a failure injected before each undone\n";
  EXPECT_GT(steps, 6u);

  // Assigned to a GPO, then updated: one rule more (new filter list and action), one rule
  // deactivated, the description changed.
  auto local = store::local_sysvol(dc_->sysvol_dir());
  auto gpo = store::create_gpo(*admin_, domain_, "Injected failures", local.get());
  ASSERT_TRUE(gpo) << gpo.error().to_string();
  ASSERT_TRUE(store::assign_policy(*admin_, *gpo, dn, local.get()));
  model::Policy edited = policy;
  edited.description = "updated";
  model::FilterList list;
  list.id = model::Guid::random();
  list.name = "DNS";
  model::Filter filter;
  filter.id = model::Guid::random();
  filter.source = model::AddressSpec::my_address();
  filter.protocol = model::ip_protocol::kUdp;
  filter.destination_ports = PortRange::single(53);
  list.filters.push_back(filter);
  model::FilterAction permit;
  permit.id = model::Guid::random();
  permit.name = "Permit DNS";
  permit.kind = model::ActionKind::Permit;
  model::Rule rule = edited.rules.front();
  rule.id = model::Guid::random();
  rule.name = "DNS";
  rule.filter_list = list.id;
  rule.filter_action = permit.id;
  edited.filter_lists.push_back(list);
  edited.filter_actions.push_back(permit);
  edited.rules.push_back(rule);
  edited.rules.front().active = false;
  auto before = store::read_policy(*admin_, dn);
  ASSERT_TRUE(before) << before.error().to_string();
  for (std::size_t fail_at = 0;; ++fail_at) {
    std::size_t index = 0;
    store::WriteOptions options;
    options.fail_before = [&](std::size_t, const store::WriteStep& step) {
      return step.kind != store::WriteStep::Kind::kDelete && index++ == fail_at;
    };
    auto updated = store::update_policy(*admin_, domain_, edited, options);
    if (updated) {
      std::cout << "update of an assigned policy: " << updated->writes << " write steps, a failure before each of the "
                << fail_at << " adds and modifications undone\n";
      break;
    }
    auto after = store::read_policy(*admin_, dn);
    ASSERT_TRUE(after) << "failing at step " << fail_at << ": " << after.error().to_string();
    EXPECT_EQ(after->objects, before->objects) << "failing at step " << fail_at;
    EXPECT_FALSE(read_entry(adblob::ipsec_dn(adblob::AdClass::Nfa, rule.id, domain_), {"cn"})) << fail_at;
  }
  auto done = store::read_policy(*admin_, dn);
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_EQ(done->policy, edited);
  auto assignment = read_entry(store::assignment_dn(*gpo), {"ipsecOwnersReference"});
  ASSERT_TRUE(assignment);
  EXPECT_EQ(adblob::normalized_dn(assignment->first("ipsecOwnersReference").value_or("")), adblob::normalized_dn(dn));

  // A failing delete (cleanup of an object the policy no longer references) leaves the policy complete.
  store::WriteOptions fail_deletes;
  fail_deletes.fail_before = [](std::size_t, const store::WriteStep& step) { return step.kind == store::WriteStep::Kind::kDelete; };
  auto cleanup = store::update_policy(*admin_, domain_, policy, fail_deletes);
  ASSERT_FALSE(cleanup);
  EXPECT_NE(cleanup.error().message.find("complete"), std::string::npos) << cleanup.error().to_string();
  auto reverted = store::read_policy(*admin_, dn);
  ASSERT_TRUE(reverted) << reverted.error().to_string();
  EXPECT_EQ(reverted->policy, policy);
}

TEST_F(AdDirectory, GpoVerbsMakeBothHalvesAndKeepGptIniInStep) {
  const std::string ou = "OU=Gpo Verbs," + domain_;
  ASSERT_TRUE(dc_->create_ou(ou));
  auto computer = dc_->create_computer("verbs-pc1", "Verbs-Computer-Pa55", ou);
  ASSERT_TRUE(computer) << computer.error().to_string();
  model::Policy policy = model::with_fresh_ids(example_policy("domain-policy.json"));
  policy.name = "Gpo verbs policy";
  const auto file = write_json(policy, "gpo-verbs.json");
  auto imported = ward_dir({"policy", "import", file});
  ASSERT_EQ(imported.exit_code, 0) << imported.describe();

  // create: the groupPolicyContainer and, over SMB to the DC, its folder with GPT.INI.
  auto created = ward_dir({"gpo", "create", "Gpo Verbs"});
  ASSERT_EQ(created.exit_code, 0) << created.describe();
  const std::string gpo = created.out.substr(0, created.out.find('\n'));
  const auto gpc = read_entry(gpo, {"versionNumber", "gPCFileSysPath", "displayName"});
  ASSERT_TRUE(gpc);
  EXPECT_EQ(gpc->first("versionNumber"), "0");
  EXPECT_EQ(gpc->first("gPCFileSysPath"), "\\\\ward.test\\SysVol\\ward.test\\Policies\\" + gpo.substr(3, gpo.find(',') - 3));
  EXPECT_EQ(gpt_ini(gpo), "[General]\r\nVersion=0\r\n");
  const auto folder = dc_->sysvol_dir() / dc_->dns_domain() / "Policies" / gpo.substr(3, gpo.find(',') - 3);
  EXPECT_TRUE(std::filesystem::is_directory(folder / "MACHINE"));
  EXPECT_TRUE(std::filesystem::is_directory(folder / "USER"));

  // link, enforce, block inheritance: AD's OU carries gPLink/gPOptions itself (no auxiliary class).
  const auto classes_before = read_entry(ou, {"objectClass"});
  auto linked = ward_dir({"gpo", "link", "Gpo Verbs", ou});
  ASSERT_EQ(linked.exit_code, 0) << linked.describe();
  auto enforced = ward_dir({"gpo", "link", "Gpo Verbs", ou, "--enforced"});
  ASSERT_EQ(enforced.exit_code, 0) << enforced.describe();
  auto blocked = ward_dir({"gpo", "block-inheritance", ou, "yes"});
  ASSERT_EQ(blocked.exit_code, 0) << blocked.describe();
  const auto som = read_entry(ou, {"objectClass", "gPLink", "gPOptions"});
  ASSERT_TRUE(som);
  EXPECT_EQ(som->first("gPLink"), "[LDAP://" + gpo + ";2]");
  EXPECT_EQ(som->first("gPOptions"), "1");
  EXPECT_EQ(*som->values("objectClass"), *classes_before->values("objectClass"));

  // assign: the IPSEC object with the policy's name and description; version 1 in both halves.
  auto assigned = ward_dir({"gpo", "assign", "Gpo Verbs", policy.name});
  ASSERT_EQ(assigned.exit_code, 0) << assigned.describe();
  const auto assignment = read_entry(store::assignment_dn(gpo), {"objectClass", "ipsecOwnersReference", "ipsecName", "description"});
  ASSERT_TRUE(assignment);
  EXPECT_EQ(adblob::normalized_dn(assignment->first("ipsecOwnersReference").value_or("")),
            adblob::normalized_dn(store::policy_dn(policy, domain_)));
  EXPECT_EQ(assignment->first("ipsecName"), policy.name);
  EXPECT_EQ(assignment->first("description"), policy.description);
  const auto after_assign = read_entry(gpo, {"versionNumber", "gPCMachineExtensionNames"});
  EXPECT_EQ(after_assign->first("versionNumber"), "1");
  EXPECT_EQ(after_assign->first("gPCMachineExtensionNames"),
            "[{E437BC1C-AA7D-11D2-A382-00C04F991E27}{DEA8AFA0-CC85-11D0-9CE2-0080C7221EBD}]");
  EXPECT_EQ(gpt_ini(gpo), "[General]\r\nVersion=1\r\n");

  // The computer in the OU gets the policy (scope read as the administrator; the computer's own
  // reads are GrantReadLetsComputersReadThePolicies').
  auto scoped = ward_dir({"--json", "scope", "verbs-pc1$"});
  ASSERT_EQ(scoped.exit_code, 0) << scoped.describe();
  const auto scope = nlohmann::json::parse(scoped.out);
  EXPECT_EQ(scope["winner"]["display_name"], "Gpo Verbs");
  EXPECT_EQ(adblob::normalized_dn(scope["winner"]["policy"].get<std::string>()),
            adblob::normalized_dn(store::policy_dn(policy, domain_)));
  // On AD the scope says how security filtering saw the computer, and where its site came from.
  EXPECT_EQ(scope["directory"], "Active Directory");
  EXPECT_EQ(scope["security_filtering"], true);
  EXPECT_EQ(scope["account"], "WARD\\verbs-pc1$");
  EXPECT_EQ(scope["site"]["dn"], "") << "Samba sets no msDS-SiteName and no subnet was given";
  auto text = ward_dir({"scope", "verbs-pc1$", "--site", "CN=Default-First-Site-Name,CN=Sites,CN=Configuration," + domain_});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_NE(text.out.find("Security filtering: evaluated"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Site: CN=Default-First-Site-Name,CN=Sites,CN=Configuration," + domain_ + " (given with --site)"),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("applied: Gpo Verbs at " + ou + " (link order 1, enforced) precedence 1: its IPsec policy wins"),
            std::string::npos) << text.out;
  // What if the computer were in the domain's own container: the OU's GPO no longer applies.
  auto modelled = ward_dir({"--json", "scope", "verbs-pc1$", "--in", domain_});
  ASSERT_EQ(modelled.exit_code, 0) << modelled.describe();
  EXPECT_TRUE(nlohmann::json::parse(modelled.out)["winner"].is_null()) << modelled.out;

  // unassign: the object goes, the version (both halves) goes up; unlink, unblock.
  auto unassigned = ward_dir({"gpo", "unassign", "Gpo Verbs"});
  ASSERT_EQ(unassigned.exit_code, 0) << unassigned.describe();
  EXPECT_FALSE(read_entry(store::assignment_dn(gpo), {"cn"}));
  EXPECT_EQ(read_entry(gpo, {"versionNumber"})->first("versionNumber"), "2");
  EXPECT_EQ(gpt_ini(gpo), "[General]\r\nVersion=2\r\n");
  auto unlinked = ward_dir({"gpo", "unlink", "Gpo Verbs", ou});
  ASSERT_EQ(unlinked.exit_code, 0) << unlinked.describe();
  auto unblocked = ward_dir({"gpo", "block-inheritance", ou, "no"});
  ASSERT_EQ(unblocked.exit_code, 0) << unblocked.describe();
  const auto som_after = read_entry(ou, {"gPLink", "gPOptions"});
  EXPECT_FALSE(som_after->first("gPLink").has_value());
  EXPECT_EQ(som_after->first("gPOptions"), "0");
}

// --sysvol-path: the same through the SysVol folder itself (on the DC, or a mounted share).
TEST_F(AdDirectory, GpoFilesThroughALocalSysvolFolder) {
  auto created = ward_dir({"gpo", "create", "Local Sysvol"}, {"--sysvol-path", dc_->sysvol_dir().string()});
  ASSERT_EQ(created.exit_code, 0) << created.describe();
  const std::string gpo = created.out.substr(0, created.out.find('\n'));
  EXPECT_EQ(gpt_ini(gpo), "[General]\r\nVersion=0\r\n");
}

// A password bind cannot reach SYSVOL over SMB with Kerberos: refused before anything is written.
TEST_F(AdDirectory, GpoCreateWithoutAWayToSysvolIsRefusedAndWritesNothing) {
  const auto password = temp_->path() / "admin.password";
  ASSERT_TRUE(test::write_file(password, dc_->admin_password() + "\n"));
  auto refused = test::run_captured({WARD_DIR_BINARY, "--uri", dc_->ldaps_uri(), "--ca", dc_->ca_certificate().string(),
                                     "--bind-dn", dc_->admin_dn(), "--password-file", password.string(), "--domain",
                                     domain_, "gpo", "create", "No Sysvol"},
                                    temp_->path());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("SYSVOL"), std::string::npos) << refused.err;
  auto gpos = admin_->search({"CN=Policies,CN=System," + domain_, ldap::Scope::kOneLevel, "(displayName=No Sysvol)", {"cn"}, 0});
  ASSERT_TRUE(gpos);
  EXPECT_TRUE(gpos->empty());
}

// AD's default ACL lets a computer list CN=IP Security's children but not read them; after
// `ward-dir directory grant-read` it reads the whole policy. Run twice: the second changes nothing.
TEST_F(AdDirectory, GrantReadLetsComputersReadThePolicies) {
  model::Policy policy = model::with_fresh_ids(example_policy("domain-policy.json"));
  policy.name = "Grant read policy";
  ASSERT_TRUE(store::write_policy(*admin_, domain_, policy));
  const std::string dn = store::policy_dn(policy, domain_);
  auto computer = dc_->create_computer("reader-pc1", "Reader-Computer-Pa55");
  ASSERT_TRUE(computer) << computer.error().to_string();
  const auto keytab = temp_->path() / "reader-pc1.keytab";
  ASSERT_TRUE(dc_->export_keytab("reader-pc1$", keytab));
  auto host = connect(ldap::GssapiBind{keytab.string(), "reader-pc1$@" + dc_->realm()});
  ASSERT_NE(host, nullptr);

  auto denied = store::read_policy(*host, dn);
  EXPECT_FALSE(denied) << "the default ACL already lets computers read the policies";

  auto granted = ward_dir({"directory", "grant-read"});
  ASSERT_EQ(granted.exit_code, 0) << granted.describe();
  EXPECT_EQ(granted.out.rfind("granted:", 0), 0u) << granted.out;
  EXPECT_NE(granted.out.find("S-1-5-11"), std::string::npos) << granted.out;
  auto again = ward_dir({"directory", "grant-read"});
  ASSERT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_EQ(again.out.rfind("already granted:", 0), 0u) << again.out;

  auto read = store::read_policy(*host, dn);
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(read->policy, policy);

  auto info = ward_dir({"--json", "directory", "info"});
  ASSERT_EQ(info.exit_code, 0) << info.describe();
  const auto json = nlohmann::json::parse(info.out);
  EXPECT_EQ(json["kind"], "Active Directory");
  EXPECT_EQ(json["default_naming_context"], domain_);
}

}  // namespace
}  // namespace ward
