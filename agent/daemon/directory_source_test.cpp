// The directory source's pure parts: settings from ward.conf (password file rules), the domain DN
// from the realm, which LDAP failures count as "unavailable", and the watcher's search. The
// source itself runs against real slapd and krb5kdc in tests/agent/wardd_directory_test.cpp.
#include "agent/daemon/directory_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "agent/daemon/change_watcher.h"

namespace ward::agent::daemon {
namespace {

TEST(DirectorySource, DomainDnFromRealm) {
  EXPECT_EQ(domain_dn_of_realm("EXAMPLE.TEST"), "DC=example,DC=test");
  EXPECT_EQ(domain_dn_of_realm("corp.Example.COM"), "DC=corp,DC=example,DC=com");
  EXPECT_EQ(domain_dn_of_realm("LOCAL"), "DC=local");
  EXPECT_EQ(domain_dn_of_realm(""), "");
}

TEST(DirectorySource, TransportFailuresAreTheServersNotTheContents) {
  EXPECT_TRUE(is_transport_failure("search of 'DC=x' on ldap://h failed (result -1): Can't contact LDAP server"));
  EXPECT_TRUE(is_transport_failure("search of 'DC=x' on ldap://h failed (result -5): Timed out"));
  EXPECT_TRUE(is_transport_failure("search failed (result 51): Server is busy"));
  EXPECT_TRUE(is_transport_failure("search failed (result 52): Server is unavailable"));
  EXPECT_FALSE(is_transport_failure("search of 'CN=x' failed (result 32): No such object"));
  EXPECT_FALSE(is_transport_failure("search failed (result 50): Insufficient access"));
  EXPECT_FALSE(is_transport_failure("ipsecData: truncated at byte 12"));
}

class PasswordFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ward-dirsrc-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    file_ = dir_ / "password";
    std::ofstream(file_) << "lab-test-password\n";  // a test-only credential
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  config::DirectorySettings simple() const {
    config::DirectorySettings d;
    d.uris = {"ldapi://%2Frun%2Fslapd"};
    d.realm = "EXAMPLE.TEST";
    d.computer_name = "WS01$";
    d.bind = config::BindMode::Simple;
    d.bind_dn = "CN=agent,DC=example,DC=test";
    d.password_file = file_;
    return d;
  }

  std::filesystem::path dir_, file_;
};

TEST_F(PasswordFile, RootOnlyFileIsRead) {
  ::chmod(file_.c_str(), 0600);
  auto settings = directory_source_settings(simple());
  ASSERT_TRUE(settings) << settings.error();
  const auto* bind = std::get_if<ldap::SimpleBind>(&settings->session.bind);
  ASSERT_NE(bind, nullptr);
  EXPECT_EQ(bind->dn, "CN=agent,DC=example,DC=test");
  EXPECT_EQ(bind->password.reveal(), "lab-test-password");  // the newline is not part of it
  EXPECT_EQ(settings->domain_dn, "DC=example,DC=test");
  EXPECT_EQ(settings->session.tls, ldap::TlsMode::kNone);
}

TEST_F(PasswordFile, ReadableByOthersIsRefusedWithoutShowingIt) {
  ::chmod(file_.c_str(), 0644);
  auto settings = directory_source_settings(simple());
  ASSERT_FALSE(settings);
  EXPECT_NE(settings.error().find("mode 0644"), std::string::npos) << settings.error();
  EXPECT_NE(settings.error().find(file_.string()), std::string::npos) << settings.error();
  EXPECT_EQ(settings.error().find("lab-test-password"), std::string::npos);
}

TEST(DirectorySource, GssapiSettingsAndSite) {
  config::DirectorySettings d;
  d.uris = {"ldap://dc1", "ldap://dc2"};
  d.realm = "EXAMPLE.TEST";
  d.computer_dn = "CN=ws01,OU=Legal,DC=example,DC=test";
  d.principal = "host/ws01.example.test@EXAMPLE.TEST";
  d.site = "HQ";
  d.tls_ca = "/etc/ward/ca.crt";
  d.request_timeout = std::chrono::seconds(40);
  auto settings = directory_source_settings(d);
  ASSERT_TRUE(settings) << settings.error();
  EXPECT_EQ(settings->session.operation_timeout, std::chrono::milliseconds(40000));
  const auto* bind = std::get_if<ldap::GssapiBind>(&settings->session.bind);
  ASSERT_NE(bind, nullptr);
  EXPECT_EQ(bind->client_principal, "host/ws01.example.test@EXAMPLE.TEST");
  EXPECT_EQ(settings->session.tls, ldap::TlsMode::kStartTls);
  EXPECT_EQ(settings->session.ca_file, "/etc/ward/ca.crt");
  EXPECT_EQ(settings->site_dn, "CN=HQ,CN=Sites,CN=Configuration,DC=example,DC=test");
  EXPECT_EQ(settings->session.uris, d.uris);
}

TEST(ChangeWatcher, WatchCoversPolicyObjectsScopeAndTheComputer) {
  const auto request = policy_watch_request("DC=example,DC=test", "CN=ws01,OU=Legal,DC=example,DC=test", "WS01");
  EXPECT_EQ(request.base, "DC=example,DC=test");
  EXPECT_EQ(request.scope, ldap::Scope::kSubtree);
  for (const char* part : {"(objectClass=ipsecPolicy)", "(objectClass=ipsecNFA)", "(objectClass=ipsecFilter)",
                           "(objectClass=groupPolicyContainer)", "(objectClass=organizationalUnit)",
                           "(&(objectClass=computer)(cn=ws01))", "(&(objectClass=computer)(sAMAccountName=WS01$))"}) {
    EXPECT_NE(request.filter.find(part), std::string::npos) << part << " in " << request.filter;
  }
}

}  // namespace
}  // namespace ward::agent::daemon
