#include "agent/daemon/kerberos_auth.h"

#include <gtest/gtest.h>

#include <cctype>

namespace ward::agent::daemon {
namespace {

TEST(KerberosAuth, OwnPrincipalIsTheConfiguredOneOrTheHostName) {
  config::DirectorySettings directory;
  directory.realm = "EXAMPLE.TEST";
  directory.principal = "host/ws01.example.test@EXAMPLE.TEST";
  EXPECT_EQ(host_principal(directory), "host/ws01.example.test@EXAMPLE.TEST");
  directory.principal.clear();
  const auto made = host_principal(directory);
  EXPECT_EQ(made.rfind("host/", 0), 0u) << made;
  EXPECT_EQ(made.substr(made.size() - 13), "@EXAMPLE.TEST") << made;
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
  auto made = factory.make(model::AuthMethod::kerberos(), *IpAddress::parse("10.20.2.10"));
  EXPECT_FALSE(made);
}

TEST(KerberosAuth, WithARealmKerberosRulesGetOneSharedProvider) {
  config::Config config;
  config.directory.realm = "EXAMPLE.TEST";
  config.directory.principal = "host/ws01.example.test@EXAMPLE.TEST";
  ikebridge::AuthFactory factory;
  enable_kerberos(factory, config);
  auto first = factory.make(model::AuthMethod::kerberos(), *IpAddress::parse("10.20.2.10"));
  auto second = factory.make(model::AuthMethod::kerberos(), *IpAddress::parse("10.20.2.11"));
  ASSERT_TRUE(first && second) << (first ? second.error() : first.error());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ((*first)->method(), ike::IkeAuthenticationMethod::Kerberos);
}

}  // namespace
}  // namespace ward::agent::daemon
