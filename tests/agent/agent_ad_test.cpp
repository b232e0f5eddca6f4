// The agent's directory side against a real Active Directory (Samba AD DC, one per binary): the
// root DSE's traits, AD change notification through the ChangeWatcher (a change reaches the
// watcher in about a second; unrelated changes are filtered out on the client), and "cannot
// read" told apart from "does not exist" under AD's default ACL of CN=IP Security.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "agent/daemon/change_watcher.h"
#include "agent/daemon/log.h"
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
  ChangeWatcher watcher(settings, log, [&](std::string_view) { ++triggered; });
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
  // Samba's default "Secure Server" policy.
  const std::string secure_server = "CN=ipsecPolicy{72385236-70FA-11D1-864C-14A300000000}," + container;
  auto unreadable = (*session)->probe(secure_server);
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

}  // namespace
}  // namespace ward::agent::daemon
