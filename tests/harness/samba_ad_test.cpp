// The Samba AD DC harness: the DC answers as Active Directory (told apart from OpenLDAP by the
// root DSE), by its host name over GSSAPI (the administrator's keytab, a computer account's
// keytab as NAME$@REALM) and over LDAPS with its CA; the Windows default IPsec objects are there.
// One DC for the binary (ONE_PROCESS); the timings of provision and start are printed.
#include <gtest/gtest.h>

#include "directory/ldap/root_dse.h"
#include "directory/ldap/session.h"
#include "tests/harness/samba_ad_environment.h"

namespace ward::test {
namespace {

const auto* const kSambaAd = ::testing::AddGlobalTestEnvironment(new SambaAdEnvironment);

ldap::SessionOptions options_for(const std::string& uri, ldap::BindCredentials bind) {
  ldap::SessionOptions options;
  options.uris = {uri};
  options.bind = std::move(bind);
  return options;
}

std::unique_ptr<ldap::Session> connect(const ldap::SessionOptions& options) {
  auto session = ldap::Session::connect(options);
  EXPECT_TRUE(session) << session.error().to_string();
  return session ? std::move(*session) : nullptr;
}

TEST(SambaAdInstance, AnswersAsActiveDirectoryToTheAdministratorOverGssapi) {
  auto* dc = SambaAdEnvironment::dc();
  ASSERT_NE(dc, nullptr);
  auto keytab = dc->admin_keytab();
  ASSERT_TRUE(keytab) << keytab.error().to_string();
  auto admin = connect(options_for(dc->ldap_uri(), ldap::GssapiBind{keytab->string(), dc->admin_principal()}));
  ASSERT_NE(admin, nullptr);
  // Samba answers no "Who am I?" (RFC 4532); AD lets only bound users search the domain.
  auto self = admin->search({dc->domain_dn(), ldap::Scope::kSubtree, "(sAMAccountName=Administrator)", {"cn"}, 0});
  ASSERT_TRUE(self) << self.error().to_string();
  ASSERT_EQ(self->size(), 1u);
  EXPECT_EQ(self->front().dn, dc->admin_dn());

  auto root = ldap::read_root_dse(*admin);
  ASSERT_TRUE(root) << root.error().to_string();
  EXPECT_EQ(root->kind, ldap::DirectoryKind::kActiveDirectory);
  EXPECT_EQ(root->default_naming_context, dc->domain_dn());
  EXPECT_EQ(root->dns_host_name, dc->dc_fqdn());

  // Samba provisions Windows' default IP Security objects (22, with the Version Information NFA).
  auto defaults = admin->search({"CN=IP Security,CN=System," + dc->domain_dn(), ldap::Scope::kOneLevel,
                                 "(objectClass=*)", {"ipsecData"}, 0});
  ASSERT_TRUE(defaults) << defaults.error().to_string();
  EXPECT_EQ(defaults->size(), 22u);
}

TEST(SambaAdInstance, ComputerAccountBindsWithItsKeytabAsNameDollar) {
  auto* dc = SambaAdEnvironment::dc();
  ASSERT_NE(dc, nullptr);
  ASSERT_TRUE(dc->create_ou("OU=Harness," + dc->domain_dn())) << "OU";
  auto computer = dc->create_computer("harness-pc1", "Harness-Computer-Pa55", "OU=Harness," + dc->domain_dn());
  ASSERT_TRUE(computer) << computer.error().to_string();
  const auto keytab = dc->dir() / "harness-pc1.keytab";
  auto exported = dc->export_keytab("harness-pc1$", keytab);
  ASSERT_TRUE(exported) << exported.error().to_string();
  auto host = connect(options_for(dc->ldap_uri(), ldap::GssapiBind{keytab.string(), "harness-pc1$@" + dc->realm()}));
  ASSERT_NE(host, nullptr);
  auto found = host->search({dc->domain_dn(), ldap::Scope::kSubtree, "(sAMAccountName=harness-pc1$)", {"dNSHostName"}, 0});
  ASSERT_TRUE(found) << found.error().to_string();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().dn, *computer);

  // A disabled account without a password exports nothing: a clear error, not an empty keytab.
  ASSERT_TRUE(dc->samba_tool({"computer", "create", "harness-pc2"}));
  auto none = dc->export_keytab("harness-pc2$", dc->dir() / "harness-pc2.keytab");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().detail.find("wrote no keys"), std::string::npos) << none.error().to_string();
}

TEST(SambaAdInstance, LdapsWithTheDcCaAcceptsTheAdministratorsPassword) {
  auto* dc = SambaAdEnvironment::dc();
  ASSERT_NE(dc, nullptr);
  auto options = options_for(dc->ldaps_uri(), ldap::SimpleBind{dc->admin_dn(), model::Secret(dc->admin_password())});
  options.ca_file = dc->ca_certificate().string();
  auto admin = connect(options);
  ASSERT_NE(admin, nullptr);
  auto found = admin->search({dc->domain_dn(), ldap::Scope::kBase, "(objectClass=*)", {"dc"}, 0});
  ASSERT_TRUE(found) << found.error().to_string();

  // Plain LDAP with a password is refused by AD's default "strong auth" rule.
  const auto plain = options_for(dc->ldap_uri(), ldap::SimpleBind{dc->admin_dn(), model::Secret(dc->admin_password())});
  auto refused = ldap::Session::connect(plain);
  EXPECT_FALSE(refused);
}

TEST(SambaAdInstance, ToolsRunInTheDcsNetworkAndDatabase) {
  auto* dc = SambaAdEnvironment::dc();
  ASSERT_NE(dc, nullptr);
  auto ldif = dc->ldbsearch({"-b", "CN=IP Security,CN=System," + dc->domain_dn(), "-s", "one", "(objectClass=ipsecPolicy)", "ipsecName"});
  ASSERT_TRUE(ldif) << ldif.error().to_string();
  EXPECT_NE(ldif->find("Secure Server (Require Security)"), std::string::npos) << *ldif;
  auto bad = dc->samba_tool({"user", "show", "nobody-here"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what.find("samba-tool user show"), std::string::npos);
  // The DC's name resolves to its address here (the hosts file), and only in this process.
  const auto resolved = dc->run({"/usr/bin/getent", "hosts", dc->dc_fqdn()});
  EXPECT_EQ(resolved.exit_code, 0) << resolved.describe();
  EXPECT_NE(resolved.out.find("127.0.0.1"), std::string::npos) << resolved.out;
}

}  // namespace
}  // namespace ward::test
