// The agent's directory side against a real Active Directory (Samba AD DC, one per binary): the
// root DSE's traits, AD change notification through the ChangeWatcher (a change reaches the
// watcher in about a second; unrelated changes are filtered out on the client), and "cannot
// read" told apart from "does not exist" under AD's default ACL of CN=IP Security.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <regex>
#include <chrono>
#include <thread>

#include "agent/daemon/change_watcher.h"
#include "agent/daemon/directory_source.h"
#include "agent/daemon/log.h"
#include "directory/gpo/dn.h"
#include "directory/ldap/root_dse.h"
#include "directory/ldap/session.h"
#include "tests/harness/samba_ad_environment.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;

const auto* const kSambaAd = ::testing::AddGlobalTestEnvironment(new test::SambaAdEnvironment);

// A domain member: computer account NAME$ in OU=Agents with its keytab. Made once per name.
struct Member {
  std::string dn;
  std::filesystem::path keytab;
  std::string principal;
};
Member member(const std::string& name) {
  auto* dc = test::SambaAdEnvironment::dc();
  static bool ou = false;
  if (!ou) {
    EXPECT_TRUE(dc->create_ou("OU=Agents," + dc->domain_dn()));
    ou = true;
  }
  auto dn = dc->create_computer(name, "Agent-Computer-Pa55-" + name, "OU=Agents," + dc->domain_dn());
  EXPECT_TRUE(dn) << dn.error().to_string();
  const auto keytab = dc->dir() / (name + ".keytab");
  auto exported = dc->export_keytab(name + "$", keytab);
  EXPECT_TRUE(exported) << exported.error().to_string();
  return {dn ? *dn : "", keytab, name + "$@" + dc->realm()};
}

ldap::SessionOptions member_options(const Member& m) {
  ldap::SessionOptions options;
  options.uris = {test::SambaAdEnvironment::dc()->ldap_uri()};
  options.bind = ldap::GssapiBind{m.keytab.string(), m.principal};
  return options;
}

std::unique_ptr<ldap::Session> admin_session() {
  auto* dc = test::SambaAdEnvironment::dc();
  auto keytab = dc->admin_keytab();
  EXPECT_TRUE(keytab) << keytab.error().to_string();
  ldap::SessionOptions options;
  options.uris = {dc->ldap_uri()};
  options.bind = ldap::GssapiBind{keytab->string(), dc->admin_principal()};
  auto session = ldap::Session::connect(options);
  EXPECT_TRUE(session) << session.error().to_string();
  return session ? std::move(*session) : nullptr;
}

template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

TEST(AdDirectory, RootDseTraitsAreActiveDirectorys) {
  auto* dc = test::SambaAdEnvironment::dc();
  ASSERT_NE(dc, nullptr);
  const auto m = member("trait-pc");
  auto session = ldap::Session::connect(member_options(m));
  ASSERT_TRUE(session) << session.error().to_string();
  auto root = (*session)->root_dse();
  ASSERT_TRUE(root) << root.error().to_string();
  const auto traits = ldap::traits_of(*root);
  EXPECT_EQ(traits.kind, ldap::DirectoryKind::kActiveDirectory);
  EXPECT_EQ(traits.notification, ldap::ChangeNotification::kAdNotification) << "Samba offers no syncrepl";
  EXPECT_TRUE(traits.security_filtering);
  EXPECT_EQ(root->configuration_naming_context, "CN=Configuration," + dc->domain_dn());
}

// AD's notification control (no syncrepl there): the watcher's searches are accepted (one at the
// domain's head, one at the configuration NC's), a change to an OU triggers a refresh within
// seconds, and a change to an unrelated user does not.
TEST(AdDirectory, ChangeNotificationReachesTheWatcherInSeconds) {
  auto* dc = test::SambaAdEnvironment::dc();
  ASSERT_NE(dc, nullptr);
  const auto m = member("watch-pc");
  ASSERT_TRUE(dc->create_user("watch-bystander", "Bystander-Pa55-word"));
  std::ostringstream log_text;
  Logger log(log_text);
  std::atomic<int> triggered{0};
  ChangeWatchSettings settings;
  settings.session = member_options(m);
  settings.scope = WatchScope{dc->domain_dn(), m.dn, "watch-pc$"};
  settings.debounce = 100ms;
  ChangeWatcher watcher(settings, log, [&](std::string_view) {
    ++triggered;
    return true;
  });
  ASSERT_TRUE(eventually([&] { return watcher.counters().established.load() == 1; })) << log_text.str();
  ASSERT_TRUE(eventually([&] { return triggered.load() == 1; })) << "the refresh after establishing";

  auto admin = admin_session();
  ASSERT_NE(admin, nullptr);
  ASSERT_TRUE(admin->modify("CN=watch-bystander,CN=Users," + dc->domain_dn(),
                            {{ldap::Modification::Op::kReplace, "description", {"not a policy"}}}));
  const auto changed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(admin->modify("OU=Agents," + dc->domain_dn(), {{ldap::Modification::Op::kReplace, "description", {"changed"}}}));
  ASSERT_TRUE(eventually([&] { return triggered.load() == 2; })) << log_text.str();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - changed_at);
  RecordProperty("ad_change_to_trigger_ms", static_cast<int>(took.count()));
  std::cout << "AD change notification: OU change -> watcher trigger in " << took.count() << " ms (debounce 100 ms)\n";
  EXPECT_LT(took, 5s);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(triggered.load(), 2) << "the user's change is not a policy change";
  EXPECT_EQ(watcher.counters().connections_lost.load(), 0u);
}

TEST(AdDirectory, OnlyPolicyObjectsCountAsChanges) {
  const WatchScope scope{"DC=ward,DC=test", "CN=PC1,OU=Legal,DC=ward,DC=test", "PC1$"};
  const auto entry = [](std::string dn, std::vector<std::string> classes, std::string account = {}) {
    ldap::Entry e;
    e.dn = std::move(dn);
    if (!classes.empty()) e.attributes["objectClass"] = std::move(classes);
    if (!account.empty()) e.attributes["sAMAccountName"] = {account};
    return e;
  };
  EXPECT_TRUE(is_policy_change(entry("CN=ipsecNFA{1},CN=IP Security,CN=System,DC=ward,DC=test", {"top", "ipsecNFA"}), scope));
  EXPECT_TRUE(is_policy_change(entry("CN={G},CN=Policies,CN=System,DC=ward,DC=test", {"top", "container", "groupPolicyContainer"}), scope));
  EXPECT_TRUE(is_policy_change(entry("OU=Legal,DC=ward,DC=test", {"top", "organizationalUnit"}), scope));
  EXPECT_TRUE(is_policy_change(entry("CN=10.0.0.0/8,CN=Subnets,CN=Sites,CN=Configuration,DC=ward,DC=test", {"top", "subnet"}), scope));
  EXPECT_TRUE(is_policy_change(entry("cn=pc1,ou=legal,dc=ward,dc=test", {"top", "computer"}), scope));
  EXPECT_TRUE(is_policy_change(entry("CN=PC1,CN=Computers,DC=ward,DC=test", {"computer"}, "pc1$"), scope));
  EXPECT_FALSE(is_policy_change(entry("CN=PC2,OU=Legal,DC=ward,DC=test", {"top", "computer"}, "PC2$"), scope));
  EXPECT_FALSE(is_policy_change(entry("CN=bob,CN=Users,DC=ward,DC=test", {"top", "person", "user"}), scope));
  // Unreadable classes: counted inside the policy containers only.
  EXPECT_TRUE(is_policy_change(entry("CN=ipsecFilter{2},CN=IP Security,CN=System,DC=ward,DC=test", {}), scope));
  EXPECT_FALSE(is_policy_change(entry("CN=x,CN=Users,DC=ward,DC=test", {}), scope));
}

// Under AD's default ACL a computer lists CN=IP Security's children but reads none of them: a
// base search shows such an entry without attributes, a missing one is noSuchObject.
TEST(AdDirectory, CannotReadIsToldApartFromDoesNotExist) {
  auto* dc = test::SambaAdEnvironment::dc();
  ASSERT_NE(dc, nullptr);
  const auto m = member("probe-pc");
  auto session = ldap::Session::connect(member_options(m));
  ASSERT_TRUE(session) << session.error().to_string();
  const std::string container = "CN=IP Security,CN=System," + dc->domain_dn();
  // Samba's default "Client (Respond Only)" policy.
  const std::string client_respond_only = "CN=ipsecPolicy{72385236-70FA-11D1-864C-14A300000000}," + container;
  auto unreadable = (*session)->probe(client_respond_only);
  ASSERT_TRUE(unreadable) << unreadable.error().to_string();
  EXPECT_EQ(*unreadable, ldap::Session::EntryAccess::kUnreadable);
  auto missing = (*session)->probe("CN=ipsecPolicy{00000000-0000-0000-0000-000000000000}," + container);
  ASSERT_TRUE(missing) << missing.error().to_string();
  EXPECT_EQ(*missing, ldap::Session::EntryAccess::kMissing);
  auto readable = (*session)->probe(m.dn);
  ASSERT_TRUE(readable) << readable.error().to_string();
  EXPECT_EQ(*readable, ldap::Session::EntryAccess::kReadable);
  // The filtered search the policy reader makes finds nothing, which is why the probe is needed.
  auto filtered = (*session)->search({container, ldap::Scope::kOneLevel, "(objectClass=ipsecPolicy)", {"cn"}, 0});
  ASSERT_TRUE(filtered) << filtered.error().to_string();
  EXPECT_TRUE(filtered->empty());
}

const std::string kWindowsPolicy = "CN=ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}";    // Secure Server
const std::string kRequestPolicy = "CN=ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}";    // Server (Request Security)

std::vector<std::string> admin_args(std::vector<std::string> args) {
  auto* dc = test::SambaAdEnvironment::dc();
  args.push_back("-H");
  args.push_back(dc->ldap_uri());
  args.push_back("-U");
  args.push_back("Administrator%" + dc->admin_password());
  return args;
}

// A GPO container written over LDAP as GPMC writes its directory half (the SYSVOL half, which
// samba-tool would add over SMB, is of no interest to wardd), assigning `policy_rdn` the way
// Windows does (CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,<GPO> with ipsecOwnersReference),
// linked at `som_dn`. Its security descriptor is the class default (Authenticated Users: Read and
// Apply Group Policy). Returns the GPO's DN.
std::string make_ipsec_gpo(ldap::Session& admin, const std::string& name, const std::string& policy_rdn,
                           const std::string& som_dn) {
  auto* dc = test::SambaAdEnvironment::dc();
  static int counter = 0;
  char guid[40];
  std::snprintf(guid, sizeof guid, "{6D2A0F4E-3B1C-4C8D-9E7F-%012X}", 0xAD0000 + ++counter);
  const std::string gpo = std::string("CN=") + guid + ",CN=Policies,CN=System," + dc->domain_dn();
  auto made = admin.add(gpo, {{"objectClass", {"groupPolicyContainer"}},
                              {"displayName", {name}},
                              {"flags", {"0"}},
                              {"versionNumber", {"0"}},
                              {"gPCFunctionalityVersion", {"2"}},
                              {"gPCFileSysPath", {"\\\\" + dc->dns_domain() + "\\SysVol\\" + dc->dns_domain() +
                                                  "\\Policies\\" + guid}}});
  EXPECT_TRUE(made) << made.error().to_string();
  for (const char* half : {"CN=Machine,", "CN=User,"}) {
    auto added = admin.add(half + gpo, {{"objectClass", {"container"}}});
    EXPECT_TRUE(added) << added.error().to_string();
  }
  std::string parent = "CN=Machine," + gpo;
  for (const char* cn : {"Microsoft", "Windows"}) {
    parent = std::string("CN=") + cn + "," + parent;
    auto added = admin.add(parent, {{"objectClass", {"container"}}});
    EXPECT_TRUE(added) << added.error().to_string();
  }
  auto assigned = admin.add("CN=IPSEC," + parent,
                            {{"objectClass", {"ipsecPolicy"}},
                             {"ipsecOwnersReference", {policy_rdn + ",CN=IP Security,CN=System," + dc->domain_dn()}}});
  EXPECT_TRUE(assigned) << assigned.error().to_string();
  auto linked = admin.modify(som_dn, {{ldap::Modification::Op::kReplace, "gPLink", {"[LDAP://" + gpo + ";0]"}}});
  EXPECT_TRUE(linked) << linked.error().to_string();
  return gpo;
}

std::string object_sid(const std::string& account) {
  auto shown = test::SambaAdEnvironment::dc()->samba_tool({"group", "show", account, "--attributes=objectSid"});
  EXPECT_TRUE(shown) << shown.error().to_string();
  std::smatch sid;
  const std::string text = shown ? *shown : "";
  EXPECT_TRUE(std::regex_search(text, sid, std::regex("S-1-5-21-[0-9-]+"))) << text;
  return sid.str();
}

// wardd's directory source as a computer of OU=Legal sees it on AD: first the default ACL hides
// the IPsec policies (the error names the fix), then the OU's GPO assigns Windows' Secure Server
// policy; security filtering that denies Apply Group Policy to a group of the computer leaves
// that GPO out (and says so), and the GPO linked to the site that the subnet objects give the
// host's address applies instead, with no site configured.
TEST(AdDirectory, DirectorySourceScopesGpoSecurityFilteringAndSites) {
  auto* dc = test::SambaAdEnvironment::dc();
  ASSERT_NE(dc, nullptr);
  auto admin = admin_session();
  ASSERT_NE(admin, nullptr);
  const std::string legal = "OU=Legal," + dc->domain_dn();
  ASSERT_TRUE(dc->create_ou(legal));
  auto computer = dc->create_computer("legal-ad-pc", "Legal-Ad-Pc-Pa55", legal);
  ASSERT_TRUE(computer) << computer.error().to_string();
  const auto keytab = dc->dir() / "legal-ad-pc.keytab";
  ASSERT_TRUE(dc->export_keytab("legal-ad-pc$", keytab));
  make_ipsec_gpo(*admin, "Legal AD IPsec", kWindowsPolicy, legal);

  std::ostringstream log_text;
  Logger log(log_text);
  DirectorySourceSettings settings;
  settings.session.uris = {dc->ldap_uri()};
  // samba-tool names the account in lower case (adcli: upper); the keytab holds that spelling.
  settings.session.bind = ldap::GssapiBind{keytab.string(), "legal-ad-pc$@" + dc->realm()};
  settings.domain_dn = dc->domain_dn();
  settings.computer_account = "LEGAL-AD-PC$";
  settings.host_addresses = [] { return std::vector<IpAddress>{*IpAddress::parse("10.77.0.5")}; };
  DirectorySource source(settings, log);

  // AD's default ACL: Authenticated Users list CN=IP Security's children but cannot read them.
  auto hidden = source.fetch();
  ASSERT_FALSE(hidden);
  ASSERT_EQ(hidden.error().kind, FetchError::Kind::Invalid) << hidden.error().message;
  ASSERT_FALSE(hidden.error().problems.empty());
  EXPECT_NE(hidden.error().problems[0].message.find("this computer may not read"), std::string::npos)
      << hidden.error().problems[0].message;
  EXPECT_NE(hidden.error().problems[0].message.find("read on CN=IP Security"), std::string::npos);

  ASSERT_TRUE(dc->samba_tool(admin_args({"dsacl", "set", "--objectdn=CN=IP Security,CN=System," + dc->domain_dn(),
                                         "--sddl=(A;CI;RPLCLORC;;;AU)"})));
  auto fetched = source.fetch();
  ASSERT_TRUE(fetched) << fetched.error().message << "\n" << log_text.str();
  EXPECT_EQ(fetched->policy.name, "Secure Server (Require Security)");
  EXPECT_EQ(fetched->source.gpo_name, "Legal AD IPsec");
  EXPECT_EQ(fetched->report.directory, "Active Directory");
  EXPECT_EQ(fetched->report.account, "WARD\\legal-ad-pc$");
  EXPECT_EQ(fetched->report.site_dn, "") << "no subnet holds 10.77.0.5 yet";
  RecordProperty("ad_fetch_round_trips", static_cast<int>(fetched->report.round_trips));
  std::cout << "AD policy fetch: " << fetched->report.round_trips << " LDAP round trips (connection kept: "
            << source.last_round_trips() << ")\n";

  // A site for the host's subnet, with its own GPO: the OU's GPO still wins (site links come first).
  ASSERT_TRUE(dc->samba_tool({"sites", "create", "Branch"}));
  ASSERT_TRUE(dc->samba_tool({"sites", "subnet", "create", "10.77.0.0/16", "Branch"}));
  const std::string site = "CN=Branch,CN=Sites,CN=Configuration," + dc->domain_dn();
  make_ipsec_gpo(*admin, "Branch IPsec", kRequestPolicy, site);
  fetched = source.fetch();
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(fetched->policy.name, "Secure Server (Require Security)");
  EXPECT_EQ(gpo::normalize_dn(fetched->report.site_dn), gpo::normalize_dn(site));
  EXPECT_EQ(fetched->report.site_from, "subnet 10.77.0.0/16");

  // Security filtering: Apply Group Policy denied to a group the computer is in.
  ASSERT_TRUE(dc->samba_tool({"group", "add", "IPsec Exempt"}));
  ASSERT_TRUE(dc->samba_tool({"group", "addmembers", "IPsec Exempt", "legal-ad-pc$"}));
  const std::string exempt = object_sid("IPsec Exempt");
  std::string legal_gpo;
  for (const auto& gpo : fetched->report.gpos) {
    if (gpo.name == "Legal AD IPsec") legal_gpo = gpo.dn;
  }
  ASSERT_FALSE(legal_gpo.empty());
  ASSERT_TRUE(dc->samba_tool(admin_args({"dsacl", "set", "--objectdn=" + legal_gpo,
                                         "--sddl=(OD;;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;" + exempt + ")"})));
  fetched = source.fetch();
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(fetched->policy.name, "Server (Request Security)") << "the site's GPO applies instead";
  EXPECT_EQ(fetched->source.gpo_name, "Branch IPsec");
  std::string note;
  for (const auto& gpo : fetched->report.gpos) {
    if (gpo.name == "Legal AD IPsec") {
      EXPECT_FALSE(gpo.applied);
      note = gpo.note;
    }
  }
  EXPECT_NE(note.find("security filtering denies Apply Group Policy to WARD\\legal-ad-pc$ via group "
                      "WARD\\IPsec Exempt (" + exempt + ")"),
            std::string::npos)
      << note;
}

}  // namespace
}  // namespace ward::agent::daemon
