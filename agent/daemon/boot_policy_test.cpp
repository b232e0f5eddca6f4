// The boot policy: valid, blocks what it should, lets through exactly what a host needs to get
// its policy, and the admin's exemptions.
#include "agent/daemon/boot_policy.h"

#include <gtest/gtest.h>

#include "directory/model/compile.h"
#include "directory/model/validation.h"

namespace ward::agent::daemon {
namespace {

using model::ActionKind;

config::Config member(std::vector<std::string> uris) {
  config::Config c;
  c.directory.uris = std::move(uris);
  c.directory.realm = "EXAMPLE.COM";
  c.directory.computer_name = "WS01$";
  return c;
}

// What the boot policy does to a packet (Permit when no filter matches).
ActionKind action(const model::Policy& policy, const char* source, const char* destination, std::uint8_t protocol,
                  std::uint16_t source_port, std::uint16_t destination_port) {
  model::HostContext host;
  host.addresses = {*IpAddress::parse("10.20.1.5")};
  const auto table = model::compile(policy, host);
  const model::PacketTuple packet{*IpAddress::parse(source), *IpAddress::parse(destination), protocol, source_port,
                                  destination_port};
  const auto winner = model::first_match(table, packet);
  return winner ? table.filters[*winner].action : ActionKind::Permit;
}

TEST(BootPolicyTest, PermitModeHasNone) {
  auto c = member({"ldap://dc1.example.com"});
  c.boot_mode = config::BootMode::Permit;
  EXPECT_FALSE(boot_policy(c));
}

TEST(BootPolicyTest, ValidAndDeterministic) {
  const auto policy = boot_policy(member({"ldap://dc1.example.com"}));
  ASSERT_TRUE(policy);
  const auto problems = model::validate(*policy);
  EXPECT_FALSE(model::has_errors(problems)) << (problems.empty() ? "" : problems.front().to_string());
  EXPECT_EQ(policy->name, kBootPolicyName);
  EXPECT_EQ(*policy, *boot_policy(member({"ldap://dc1.example.com"})));  // same ids on every start
}

TEST(BootPolicyTest, BlocksEverythingButWhatADomainMemberNeeds) {
  const auto policy = *boot_policy(member({"ldap://dc1.example.com", "ldaps://dc2.example.com:1636"}));
  // Blocked: ping, ssh, web, both ways, both families.
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.10", 1, 0, 0), ActionKind::Block);
  EXPECT_EQ(action(policy, "10.20.2.10", "10.20.1.5", 6, 40000, 22), ActionKind::Block);
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.10", 6, 40000, 443), ActionKind::Block);
  EXPECT_EQ(action(policy, "2001:db8::5", "2001:db8::10", 6, 40000, 443), ActionKind::Block);
  // Through: DNS, Kerberos, the URIs' LDAP ports (and their replies), DHCP, ICMPv6.
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.1", 17, 40000, 53), ActionKind::Permit);
  EXPECT_EQ(action(policy, "10.20.2.1", "10.20.1.5", 17, 53, 40000), ActionKind::Permit);
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.1", 6, 40000, 88), ActionKind::Permit);
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.1", 6, 40000, 389), ActionKind::Permit);
  EXPECT_EQ(action(policy, "10.20.2.1", "10.20.1.5", 6, 389, 40000), ActionKind::Permit);
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.1", 6, 40000, 1636), ActionKind::Permit);
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.1", 6, 40000, 636), ActionKind::Block);  // not a URI's port
  EXPECT_EQ(action(policy, "0.0.0.0", "255.255.255.255", 17, 68, 67), ActionKind::Permit);
  EXPECT_EQ(action(policy, "fe80::1", "ff02::1", 58, 0, 0), ActionKind::Permit);
}

TEST(BootPolicyTest, AStandaloneHostGetsNoDirectoryExemptionsButTheAdminsOnes) {
  config::Config c;
  c.local_policy = "/etc/ward/local.json";
  c.boot_exemptions = {{config::BootExemption::Direction::Inbound, 6, 22},
                       {config::BootExemption::Direction::Outbound, 17, 123}};
  const auto policy = *boot_policy(c);
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.1", 17, 40000, 53), ActionKind::Block);
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.1", 6, 40000, 389), ActionKind::Block);
  EXPECT_EQ(action(policy, "10.20.2.10", "10.20.1.5", 6, 40000, 22), ActionKind::Permit);  // ssh in
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.10", 6, 22, 40000), ActionKind::Permit);  // its replies
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.10", 6, 40000, 22), ActionKind::Block);   // ssh out: not asked for
  EXPECT_EQ(action(policy, "10.20.1.5", "10.20.2.1", 17, 40000, 123), ActionKind::Permit);
}

TEST(BootPolicyTest, LdapPortOfUris) {
  EXPECT_EQ(ldap_port_of("ldap://dc1.example.com"), 389);
  EXPECT_EQ(ldap_port_of("ldap://dc1.example.com/"), 389);
  EXPECT_EQ(ldap_port_of("ldaps://dc1.example.com"), 636);
  EXPECT_EQ(ldap_port_of("ldap://127.0.0.1:3890"), 3890);
  EXPECT_EQ(ldap_port_of("ldap://[2001:db8::1]:3890"), 3890);
  EXPECT_EQ(ldap_port_of("ldap://[2001:db8::1]"), 389);
  EXPECT_FALSE(ldap_port_of("ldapi://%2Frun%2Fslapd%2Fldapi"));
  EXPECT_FALSE(ldap_port_of("ldap://host:99999"));
}

}  // namespace
}  // namespace ward::agent::daemon
