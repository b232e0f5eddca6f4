#include "agent/daemon/boot_policy.h"

#include <charconv>
#include <cstdio>
#include <set>
#include <string>
#include <utility>

namespace ward::agent::daemon {
namespace {

using model::ip_protocol::kIcmpV6;
using model::ip_protocol::kTcp;
using model::ip_protocol::kUdp;

constexpr std::uint16_t kLdapPort = 389;
constexpr std::uint16_t kLdapsPort = 636;
constexpr std::uint16_t kDnsPort = 53;
constexpr std::uint16_t kKerberosPort = 88;
constexpr std::uint16_t kDhcpClientPort = 68;
constexpr std::uint16_t kDhcpServerPort = 67;
constexpr std::uint16_t kDhcpv6ClientPort = 546;
constexpr std::uint16_t kDhcpv6ServerPort = 547;

// Fixed identities: the same boot policy compiles to the same filter ids on every start.
model::Guid guid(const char* text) { return *model::Guid::parse(text); }

model::Filter filter(std::string description, std::uint8_t protocol, PortRange source_ports, PortRange destination_ports) {
  model::Filter f;
  f.description = std::move(description);
  f.source = model::AddressSpec::any();
  f.destination = model::AddressSpec::any();
  f.protocol = protocol;
  f.source_ports = source_ports;
  f.destination_ports = destination_ports;
  f.mirrored = true;
  return f;
}

// This host to a peer's `port`, mirrored (the replies); `inbound`: peers to this host's `port`.
// "This host" (my address) rather than any: a filter between any and any cannot tell the
// directions apart.
model::Filter to_port(std::string description, std::uint8_t protocol, std::uint16_t port, bool inbound = false) {
  auto f = filter(std::move(description), protocol, PortRange::any(), PortRange::single(port));
  (inbound ? f.destination : f.source) = model::AddressSpec::my_address();
  return f;
}

}  // namespace

std::optional<std::uint16_t> ldap_port_of(std::string_view uri) {
  std::uint16_t default_port = 0;
  std::string_view rest;
  if (uri.rfind("ldap://", 0) == 0) {
    default_port = kLdapPort;
    rest = uri.substr(7);
  } else if (uri.rfind("ldaps://", 0) == 0) {
    default_port = kLdapsPort;
    rest = uri.substr(8);
  } else {
    return std::nullopt;  // ldapi:// (a local socket) or not an LDAP URI
  }
  rest = rest.substr(0, rest.find('/'));
  // host, host:port, [v6], [v6]:port
  std::size_t colon = std::string_view::npos;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    if (close + 1 < rest.size() && rest[close + 1] == ':') colon = close + 1;
  } else {
    colon = rest.rfind(':');
  }
  if (colon == std::string_view::npos) return default_port;
  const auto digits = rest.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

std::optional<model::Policy> boot_policy(const config::Config& config) {
  if (config.boot_mode == config::BootMode::Permit) return std::nullopt;

  model::FilterList exemptions;
  exemptions.id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-0b0000000001}");
  exemptions.name = "What the host needs to get its policy";
  auto& f = exemptions.filters;
  f.push_back(filter("DHCP", kUdp, PortRange::single(kDhcpClientPort), PortRange::single(kDhcpServerPort)));
  f.push_back(filter("DHCPv6", kUdp, PortRange::single(kDhcpv6ClientPort), PortRange::single(kDhcpv6ServerPort)));
  f.push_back(filter("ICMPv6 (neighbour discovery)", kIcmpV6, PortRange::any(), PortRange::any()));
  if (config.uses_directory()) {
    f.push_back(to_port("DNS", kUdp, kDnsPort));
    f.push_back(to_port("DNS", kTcp, kDnsPort));
    f.push_back(to_port("Kerberos", kUdp, kKerberosPort));
    f.push_back(to_port("Kerberos", kTcp, kKerberosPort));
    std::set<std::uint16_t> ldap_ports;
    for (const auto& uri : config.directory.uris) {
      if (const auto port = ldap_port_of(uri)) ldap_ports.insert(*port);
    }
    for (const auto port : ldap_ports) f.push_back(to_port("LDAP (directory)", kTcp, port));
  }
  for (const auto& exemption : config.boot_exemptions) {
      const auto description = "boot_exemption = " + config::to_string(exemption);
    f.push_back(to_port(description, exemption.protocol, exemption.port,
                        exemption.direction == config::BootExemption::Direction::Inbound));
  }
  for (std::size_t i = 0; i < f.size(); ++i) {
    char text[64];
    std::snprintf(text, sizeof text, "{3f0c5a7e-6b1d-4e8a-9c2f-1b%010x}", static_cast<unsigned>(i));
    f[i].id = guid(text);
  }

  model::FilterList everything;
  everything.id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-0b0000000002}");
  everything.name = "All traffic";
  everything.filters.push_back(filter("all traffic", model::ip_protocol::kAny, PortRange::any(), PortRange::any()));
  everything.filters.back().id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-2b0000000000}");

  model::FilterAction permit;
  permit.id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-0b0000000003}");
  permit.name = "Permit";
  permit.kind = model::ActionKind::Permit;
  model::FilterAction block;
  block.id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-0b0000000004}");
  block.name = "Block";
  block.kind = model::ActionKind::Block;

  model::Rule exempt;
  exempt.id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-0b0000000005}");
  exempt.name = "Boot exemptions";
  exempt.filter_list = exemptions.id;
  exempt.filter_action = permit.id;
  model::Rule block_all;
  block_all.id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-0b0000000006}");
  block_all.name = "Block everything else until a policy is applied";
  block_all.filter_list = everything.id;
  block_all.filter_action = block.id;

  model::Policy policy;
  policy.id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-0b0000000000}");
  // Unused (nothing is negotiated) but a policy must have them: the model's defaults.
  policy.key_exchange.id = guid("{3f0c5a7e-6b1d-4e8a-9c2f-0b0000000007}");
  policy.key_exchange.methods = {model::KeyExchangeMethod{}};
  policy.name = kBootPolicyName;
  policy.description = "wardd has no policy yet (none cached, none fetched): [policy] boot_mode = block";
  policy.filter_lists = {std::move(exemptions), std::move(everything)};
  policy.filter_actions = {std::move(permit), std::move(block)};
  policy.rules = {std::move(exempt), std::move(block_all)};
  return policy;
}

}  // namespace ward::agent::daemon
