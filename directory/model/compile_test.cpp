#include "directory/model/compile.h"

#include <gtest/gtest.h>

#include "directory/model/test_support.h"

namespace ward::model {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

PacketTuple packet(const char* source, const char* destination, std::uint8_t protocol = ip_protocol::kTcp,
                   std::uint16_t sport = 40000, std::uint16_t dport = 445) {
  return {ip(source), ip(destination), protocol, sport, dport};
}

class CompileTest : public ::testing::Test {
 protected:
  Policy policy = testing::load_example_policy("legal-policy.json");
  HostContext legal_host{{ip("10.20.1.10")}, {}, {}, {}, {}, {}};

  const Rule& winner(const CompiledTable& table, const PacketTuple& p) {
    const auto index = first_match(table, p);
    EXPECT_TRUE(index.has_value());
    return policy.rules.at(table.filters.at(index.value_or(0)).rule_index);
  }
};

// The white paper's example: inside Legal the intra-department rule wins although "All IP
// traffic" matches too; to anyone else "All IP traffic" applies.
TEST_F(CompileTest, TheLegalSubnetRuleBeatsAllIpTraffic) {
  const auto table = compile(policy, legal_host);
  EXPECT_TRUE(table.notes.empty());
  EXPECT_EQ(winner(table, packet("10.20.1.10", "10.20.1.20")).name, "Legal intra-department communications");
  EXPECT_EQ(winner(table, packet("10.20.1.20", "10.20.1.10")).name, "Legal intra-department communications");
  EXPECT_EQ(winner(table, packet("10.20.1.10", "10.20.2.30")).name, "Inter-department communications");
  EXPECT_EQ(winner(table, packet("10.20.2.30", "10.20.1.10")).name, "Inter-department communications");
  // Both rules' filters are present; the subnet one comes first.
  EXPECT_EQ(table.filters.front().rule_index, 0u);
  EXPECT_GT(table.filters.front().weight, table.filters.back().weight);
}

TEST_F(CompileTest, MirroredFiltersExpandBothDirectionsAndMyAddressBecomesEachHostAddress) {
  legal_host.addresses.push_back(ip("2001:db8:20::10"));
  const auto table = compile(policy, legal_host);
  // Legal subnet <-> Legal subnet is its own mirror image: 1 filter. Me -> any: 2 addresses x the
  // any of the same family x 2 directions.
  ASSERT_EQ(table.filters.size(), 5u);
  std::size_t mirrors = 0;
  for (const auto& f : table.filters) mirrors += f.mirror ? 1 : 0;
  EXPECT_EQ(mirrors, 2u);
  EXPECT_EQ(winner(table, packet("2001:db8:99::1", "2001:db8:20::10")).name, "Inter-department communications");
  // Addresses of another host are not "my address".
  EXPECT_FALSE(first_match(table, packet("10.20.2.30", "10.20.2.31")).has_value());
}

TEST_F(CompileTest, UnmirroredFiltersMatchOneDirectionOnly) {
  policy.filter_lists[1].filters[0].mirrored = false;
  const auto table = compile(policy, legal_host);
  EXPECT_TRUE(first_match(table, packet("10.20.1.10", "10.20.2.30")).has_value());
  EXPECT_FALSE(first_match(table, packet("10.20.2.30", "10.20.1.10")).has_value());
}

TEST_F(CompileTest, ProtocolAndPortFiltersBeatAddressOnlyOnesWithTheSameAddresses) {
  Filter smb{Guid::random(), "SMB from Legal", AddressSpec::subnet(*IpPrefix::parse("10.20.1.0/24")),
             AddressSpec::subnet(*IpPrefix::parse("10.20.1.0/24")), ip_protocol::kTcp, PortRange::any(), PortRange::single(445), true};
  policy.filter_lists.push_back({Guid::random(), "SMB", "", {smb}});
  policy.filter_actions.push_back({Guid::random(), "Permit", "", ActionKind::Permit, {}, false, false, false});
  policy.rules.push_back({Guid::random(), "Permit SMB", "", policy.filter_lists.back().id, policy.filter_actions.back().id, {}, {},
                          ConnectionType::All, true, false});
  const auto table = compile(policy, legal_host);
  EXPECT_EQ(winner(table, packet("10.20.1.20", "10.20.1.10", ip_protocol::kTcp, 50000, 445)).name, "Permit SMB");
  // The mirror swaps the ports: the reply comes from port 445.
  EXPECT_EQ(winner(table, packet("10.20.1.10", "10.20.1.20", ip_protocol::kTcp, 445, 50000)).name, "Permit SMB");
  EXPECT_EQ(winner(table, packet("10.20.1.20", "10.20.1.10", ip_protocol::kTcp, 50000, 139)).name,
            "Legal intra-department communications");
  EXPECT_EQ(winner(table, packet("10.20.1.20", "10.20.1.10", ip_protocol::kUdp, 50000, 445)).name,
            "Legal intra-department communications");
  // ICMP has no ports, so a port filter never matches it.
  EXPECT_EQ(winner(table, packet("10.20.1.20", "10.20.1.10", ip_protocol::kIcmp, 0, 0)).name, "Legal intra-department communications");
}

// Tie rule: equal weights go to the most restrictive action (block, negotiate, permit), then to the
// rule listed first in the policy.
TEST_F(CompileTest, TiesGoToTheMostRestrictiveActionThenToPolicyOrder) {
  const auto subnet_pair = policy.filter_lists[0];
  policy.filter_actions.push_back({Guid::random(), "Permit", "", ActionKind::Permit, {}, false, false, false});
  policy.filter_actions.push_back({Guid::random(), "Block", "", ActionKind::Block, {}, false, false, false});
  const auto permit = policy.filter_actions[2].id;
  const auto block = policy.filter_actions[3].id;
  // A permit rule listed before the negotiate rule, on the very same filter list: negotiate wins.
  policy.rules.insert(policy.rules.begin(), Rule{Guid::random(), "Permit Legal", "", subnet_pair.id, permit, {}, {}, ConnectionType::All, true, false});
  auto table = compile(policy, legal_host);
  EXPECT_EQ(winner(table, packet("10.20.1.10", "10.20.1.20")).name, "Legal intra-department communications");
  ASSERT_FALSE(table.notes.empty());
  EXPECT_EQ(table.notes[0].object, "rule \"Permit Legal\"");

  // A block rule on the same filters beats both.
  policy.rules.push_back(Rule{Guid::random(), "Block Legal", "", subnet_pair.id, block, {}, {}, ConnectionType::All, true, false});
  table = compile(policy, legal_host);
  EXPECT_EQ(winner(table, packet("10.20.1.10", "10.20.1.20")).name, "Block Legal");

  // Two negotiate rules on the same filters: the one listed first wins, and the order is stable.
  policy.rules.pop_back();
  policy.rules.erase(policy.rules.begin());
  policy.rules.push_back(Rule{Guid::random(), "Second negotiate", "", subnet_pair.id, policy.filter_actions[1].id,
                              {AuthMethod::kerberos()}, {}, ConnectionType::All, true, false});
  table = compile(policy, legal_host);
  EXPECT_EQ(winner(table, packet("10.20.1.10", "10.20.1.20")).name, "Legal intra-department communications");
  EXPECT_EQ(compile(policy, legal_host).filters, table.filters);
}

TEST_F(CompileTest, InactiveRulesAndTheDefaultResponseRuleAddNoFilters) {
  policy.rules[0].active = false;
  policy.rules.push_back({Guid::random(), "<Dynamic>", "", std::nullopt, policy.filter_actions[0].id, {AuthMethod::kerberos()}, {},
                          ConnectionType::All, true, true});
  auto table = compile(policy, legal_host);
  EXPECT_EQ(table.filters.size(), 2u);
  EXPECT_EQ(winner(table, packet("10.20.1.10", "10.20.1.20")).name, "Inter-department communications");
  // It adds no filter, but the table says which rule answers what no filter covers.
  ASSERT_TRUE(table.default_response_rule.has_value());
  EXPECT_EQ(*table.default_response_rule, policy.rules.size() - 1);

  policy.rules.back().active = false;  // deactivated: nothing answers for it
  EXPECT_FALSE(compile(policy, legal_host).default_response_rule.has_value());
}

TEST_F(CompileTest, DnsNamesAndSpecialServersExpandThroughTheHostContext) {
  policy.filter_lists[0].filters.push_back({Guid::random(), "", AddressSpec::my_address(), AddressSpec::dns("files.example.test"),
                                            0, PortRange::any(), PortRange::any(), true});
  policy.filter_lists[0].filters.push_back({Guid::random(), "", AddressSpec::my_address(),
                                            AddressSpec{AddressKind::DnsServers, {}, {}}, ip_protocol::kUdp, PortRange::any(),
                                            PortRange::single(53), true});
  legal_host.dns_servers = {ip("10.20.0.53")};
  auto table = compile(policy, legal_host);
  ASSERT_EQ(table.notes.size(), 1u);  // no resolver: the DNS name is reported, not guessed
  EXPECT_EQ(winner(table, packet("10.20.1.10", "10.20.0.53", ip_protocol::kUdp, 5353, 53)).name,
            "Legal intra-department communications");

  legal_host.resolve = [](const std::string& name) {
    return name == "files.example.test" ? std::vector<IpAddress>{ip("10.20.9.9")} : std::vector<IpAddress>{};
  };
  table = compile(policy, legal_host);
  EXPECT_TRUE(table.notes.empty());
  EXPECT_EQ(winner(table, packet("10.20.9.9", "10.20.1.10")).name, "Legal intra-department communications");
}

}  // namespace
}  // namespace ward::model
