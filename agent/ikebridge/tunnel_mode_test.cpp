// ikebridge in tunnel mode: a PSK rule for 192.168.1.0/24 <-> 192.168.2.0/24 through the tunnel
// endpoint 10.9.0.2, compiled for gateway 10.9.0.1. Main mode runs with the endpoint, quick mode
// keeps the filter's subnets as IDs and names the endpoint; another peer is refused.
#include <gtest/gtest.h>

#include "agent/ikebridge/ike_bridge.h"

namespace ward::agent::ikebridge {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }
const IpAddress kGatewayA = ip("10.9.0.1");
const IpAddress kGatewayB = ip("10.9.0.2");
const IpPrefix kNetA = prefix("192.168.1.0/24");
const IpPrefix kNetB = prefix("192.168.2.0/24");

model::Policy tunnel_policy() {
  model::Policy p;
  p.id = model::Guid::random();
  p.name = "tunnel test";
  p.key_exchange.methods = {{model::Cipher::Aes128Cbc, model::Integrity::Sha256, model::DhGroup::Modp2048}};
  p.key_exchange.lifetime_minutes = 60;
  model::FilterList nets{model::Guid::random(), "A nets to B nets", {}, {}};
  nets.filters.push_back(model::Filter{model::Guid::random(), "A to B", model::AddressSpec::subnet(kNetA),
                                       model::AddressSpec::subnet(kNetB), model::ip_protocol::kAny, PortRange::any(),
                                       PortRange::any(), true});
  p.filter_lists = {nets};
  model::FilterAction secure;
  secure.id = model::Guid::random();
  secure.name = "require ESP";
  secure.kind = model::ActionKind::Negotiate;
  secure.security_methods = {
      model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Aes128Cbc, model::Integrity::Sha256}, 100000, 3600}};
  p.filter_actions = {secure};
  model::Rule rule;
  rule.id = model::Guid::random();
  rule.name = "tunnel to B";
  rule.filter_list = nets.id;
  rule.filter_action = secure.id;
  rule.auth_methods = {model::AuthMethod::preshared("tunnel secret")};
  rule.tunnel_endpoint = kGatewayB;
  p.rules = {rule};
  return p;
}

class IkeBridgeTunnelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = std::make_shared<BridgeSnapshot>();
    s->policy = tunnel_policy();
    model::HostContext host;
    host.addresses = {kGatewayA};
    s->compiled = model::compile(s->policy, host);
    s->offers = plan_offers(s->policy, true);
    s->translation = translate::translate(s->policy, s->compiled, ids);
    snapshot = s;
    bridge.replace(s);
  }
  std::uint32_t filter_id() const {
    return snapshot->translation.origins.empty() ? 0 : snapshot->translation.origins.begin()->first;
  }

  translate::FilterIds ids;
  std::shared_ptr<const BridgeSnapshot> snapshot;
  PolicyBridge bridge{AuthFactory{}};
};

TEST_F(IkeBridgeTunnelTest, InitiatorNegotiatesTheSubnetsWithTheTunnelEndpoint) {
  ASSERT_NE(filter_id(), 0U);
  auto p1 = bridge.phase1_for(kGatewayA, kGatewayB, filter_id());
  ASSERT_TRUE(p1.has_value()) << p1.error();
  ASSERT_EQ(p1->auth.size(), 1U);
  EXPECT_EQ(p1->auth[0]->method(), IkeAuthenticationMethod::PreSharedKey);

  driver::Acquire acquire;
  acquire.filter_id = filter_id();
  acquire.peer = kGatewayB;
  acquire.source = ip("192.168.1.5");
  acquire.destination = ip("192.168.2.7");
  auto qm = bridge.quick_mode_for_acquire(acquire);
  ASSERT_TRUE(qm.has_value()) << qm.error();
  EXPECT_EQ(qm->tunnel_endpoint, kGatewayB);
  EXPECT_EQ(qm->local.prefix, kNetA) << "tunnel mode keeps the filter's subnets";
  EXPECT_EQ(qm->remote.prefix, kNetB);
}

TEST_F(IkeBridgeTunnelTest, ResponderAcceptsTheSubnetsFromTheEndpointOnly) {
  auto p1 = bridge.phase1_for(kGatewayA, kGatewayB, std::nullopt);
  ASSERT_TRUE(p1.has_value()) << p1.error();
  auto qm = bridge.quick_mode_for_peer(kGatewayA, kGatewayB, ike::sa::TrafficSelector{kNetB},
                                       ike::sa::TrafficSelector{kNetA});
  ASSERT_TRUE(qm.has_value()) << qm.error();
  EXPECT_EQ(qm->tunnel_endpoint, kGatewayB);
  EXPECT_EQ(qm->filter_id, filter_id());

  const auto stranger = ip("10.9.0.77");
  EXPECT_FALSE(bridge.phase1_for(kGatewayA, stranger, std::nullopt).has_value());
  auto refused = bridge.quick_mode_for_peer(kGatewayA, stranger, ike::sa::TrafficSelector{kNetB},
                                            ike::sa::TrafficSelector{kNetA});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type, ike::NotifyMessageType::InvalidIdInformation) << refused.error();
  EXPECT_NE(refused.error().reason.find("no tunnel rule to 10.9.0.77 covers it"), std::string::npos) << refused.error();
}

}  // namespace
}  // namespace ward::agent::ikebridge
