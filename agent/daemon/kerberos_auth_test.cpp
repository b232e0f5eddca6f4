#include "agent/daemon/kerberos_auth.h"

#include <gtest/gtest.h>

#include <cctype>

namespace ward::agent::daemon {
namespace {

TEST(KerberosAuth, ComputerAccountOfAHostNameIsItsNetbiosName) {
  EXPECT_EQ(computer_account_of_host("legal-pc1.example.test"), "LEGAL-PC1$");
  EXPECT_EQ(computer_account_of_host("ws01"), "WS01$");
  EXPECT_EQ(computer_account_of_host("accounting-workstation-17.example.test"), "ACCOUNTING-WORK$");
}

TEST(KerberosAuth, OwnPrincipalIsTheConfiguredOneOrTheComputerAccount) {
  config::DirectorySettings directory;
  directory.realm = "EXAMPLE.TEST";
  directory.principal = "host/ws01.example.test@EXAMPLE.TEST";
  EXPECT_EQ(host_principal(directory), "host/ws01.example.test@EXAMPLE.TEST");
  EXPECT_EQ(acceptor_principal(directory), "host/ws01.example.test@EXAMPLE.TEST");
  directory.principal.clear();
  directory.computer_name = "WS01";
  EXPECT_EQ(computer_account_name(directory), "WS01$");
  EXPECT_EQ(host_principal(directory), "WS01$@EXAMPLE.TEST");
  directory.computer_name.clear();
  // Derived from this host's name: NAME$@REALM, never host/... (AD's KDC refuses that as a client).
  const auto made = host_principal(directory);
  EXPECT_EQ(made.substr(made.size() - 14), "$@EXAMPLE.TEST") << made;
  EXPECT_EQ(made.find('/'), std::string::npos) << made;
  const auto acceptor = acceptor_principal(directory);
  EXPECT_EQ(acceptor.rfind("host/", 0), 0u) << acceptor;
  EXPECT_NE(acceptor.find('.'), std::string::npos) << acceptor;
}

// Only the loopback address: its name comes from /etc/hosts, so the test sends nothing to DNS.
TEST(KerberosAuth, PeerPrincipalIsTheAddressHostNameInLowerCase) {
  auto principal = peer_host_principal(*IpAddress::parse("127.0.0.1"), "EXAMPLE.TEST");
  ASSERT_TRUE(principal) << principal.error();
  EXPECT_EQ(principal->rfind("host/", 0), 0u) << *principal;
  EXPECT_NE(principal->find("@EXAMPLE.TEST"), std::string::npos) << *principal;
  for (char c : principal->substr(5, principal->find('@') - 5)) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c)));
}

TEST(KerberosAuth, WithoutARealmKerberosRulesAreNotEnabled) {
  config::Config config;
  ikebridge::AuthFactory factory;
  enable_kerberos(factory, config);
  auto made = factory.make(model::AuthMethod::kerberos());
  EXPECT_FALSE(made);
}

TEST(KerberosAuth, WithARealmKerberosRulesGetOneSharedProvider) {
  config::Config config;
  config.directory.realm = "EXAMPLE.TEST";
  config.directory.principal = "host/ws01.example.test@EXAMPLE.TEST";
  ikebridge::AuthFactory factory;
  enable_kerberos(factory, config);
  auto first = factory.make(model::AuthMethod::kerberos());
  auto second = factory.make(model::AuthMethod::kerberos());
  ASSERT_TRUE(first && second) << (first ? second.error() : first.error());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ((*first)->method(), ike::IkeAuthenticationMethod::Kerberos);
}

}  // namespace
}  // namespace ward::agent::daemon
