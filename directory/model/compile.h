// Compiling a policy for one host: the rules' filters become one table of concrete filters, with
// "my address", DNS names and the special server types replaced by addresses, mirrored filters
// expanded into both directions, and each filter weighted. The table is in precedence order: the
// first filter that matches a packet is the one that applies.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "directory/model/policy.h"
#include "directory/model/validation.h"

namespace ward::model {

struct HostContext {
  std::vector<IpAddress> addresses;  // what "my address" means on this host
  std::vector<IpAddress> dns_servers;
  std::vector<IpAddress> wins_servers;
  std::vector<IpAddress> dhcp_servers;
  std::vector<IpAddress> default_gateways;
  // Resolves a filter's DNS name; empty function: DNS names are left unresolved (and reported).
  std::function<std::vector<IpAddress>(const std::string&)> resolve;
};

struct CompiledFilter {
  IpPrefix source;
  IpPrefix destination;
  std::uint8_t protocol = ip_protocol::kAny;
  PortRange source_ports;
  PortRange destination_ports;
  ActionKind action = ActionKind::Block;
  std::uint32_t weight = 0;
  std::size_t rule_index = 0;    // into Policy::rules
  std::size_t filter_index = 0;  // into the rule's filter list
  bool mirror = false;           // the generated reply direction of a mirrored filter
  std::optional<IpAddress> tunnel_endpoint;

  friend bool operator==(const CompiledFilter&, const CompiledFilter&) = default;
};

struct CompiledTable {
  std::vector<CompiledFilter> filters;  // precedence order
  std::vector<Problem> notes;           // what could not be expanded, filters that can never win
  // The policy's default response rule (Windows': it has no filters; a peer's quick mode that no
  // filter covers is answered with its methods and protected by a dynamic filter), when it is
  // active and its action negotiates. Index into Policy::rules.
  std::optional<std::size_t> default_response_rule;
};

CompiledTable compile(const Policy& policy, const HostContext& host);

// The precedence order of two compiled filters: true when `a` wins over `b`.
bool takes_precedence(const CompiledFilter& a, const CompiledFilter& b) noexcept;

struct PacketTuple {
  IpAddress source;
  IpAddress destination;
  std::uint8_t protocol = ip_protocol::kAny;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
};

bool matches(const CompiledFilter& filter, const PacketTuple& packet) noexcept;

// The reference lookup: a linear scan of the table in precedence order. Returns the index of the
// winning filter, or nothing when no filter matches.
std::optional<std::size_t> first_match(const CompiledTable& table, const PacketTuple& packet) noexcept;

}  // namespace ward::model
