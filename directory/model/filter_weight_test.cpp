#include "directory/model/filter_weight.h"

#include <gtest/gtest.h>

namespace ward::model {
namespace {

IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }
const IpPrefix kAny4 = IpPrefix::any(IpFamily::V4);

std::uint32_t weight(const char* source, const char* destination, std::uint8_t protocol = 0,
                     PortRange sport = PortRange::any(), PortRange dport = PortRange::any()) {
  return filter_weight(prefix(source), prefix(destination), protocol, sport, dport);
}

TEST(FilterWeight, HostBeatsSubnetBeatsAny) {
  const auto host = weight("10.20.1.10/32", "0.0.0.0/0");
  const auto subnet = weight("10.20.1.0/24", "0.0.0.0/0");
  const auto any = weight("0.0.0.0/0", "0.0.0.0/0");
  EXPECT_GT(host, subnet);
  EXPECT_GT(subnet, any);
  EXPECT_EQ(any, 0u);
  EXPECT_GT(weight("10.20.0.0/16", "0.0.0.0/0"), weight("10.0.0.0/8", "0.0.0.0/0"));
}

TEST(FilterWeight, AddressesOutweighProtocolAndPorts) {
  // A subnet with any protocol beats any address with a named protocol and ports.
  EXPECT_GT(weight("10.20.1.0/24", "0.0.0.0/0"), weight("0.0.0.0/0", "0.0.0.0/0", 6, PortRange::single(1), PortRange::single(2)));
  // One more prefix bit beats the protocol and both ports.
  EXPECT_GT(weight("10.20.1.0/25", "0.0.0.0/0"), weight("10.20.1.0/24", "0.0.0.0/0", 6, PortRange::single(1), PortRange::single(2)));
}

TEST(FilterWeight, NamedProtocolBeatsAnyAndPortsBeatNoPorts) {
  EXPECT_GT(weight("10.20.1.10/32", "10.20.1.0/24", 6), weight("10.20.1.10/32", "10.20.1.0/24"));
  EXPECT_GT(weight("10.20.1.10/32", "10.20.1.0/24", 6, PortRange::any(), PortRange::single(443)),
            weight("10.20.1.10/32", "10.20.1.0/24", 6));
  // One port beats a range, a range beats any.
  EXPECT_GT(port_specificity(PortRange::single(80)), port_specificity(PortRange{80, 90}));
  EXPECT_GT(port_specificity(PortRange{1024, 65535}), port_specificity(PortRange::any()));
  EXPECT_EQ(port_specificity(PortRange::single(80)), 16u);
  EXPECT_EQ(port_specificity(PortRange{0, 255}), 8u);
}

TEST(FilterWeight, Ipv4AndIpv6ShareOneScale) {
  EXPECT_EQ(address_specificity(prefix("192.0.2.1/32")), address_specificity(prefix("2001:db8::1/128")));
  EXPECT_EQ(address_specificity(prefix("10.0.0.0/8")), 32u);
  EXPECT_EQ(address_specificity(kAny4), 0u);
}

TEST(FilterWeight, TieBreakIsMostRestrictiveActionFirst) {
  EXPECT_LT(action_tie_rank(ActionKind::Block), action_tie_rank(ActionKind::Negotiate));
  EXPECT_LT(action_tie_rank(ActionKind::Negotiate), action_tie_rank(ActionKind::Permit));
}

}  // namespace
}  // namespace ward::model
