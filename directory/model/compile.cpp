#include "directory/model/compile.h"

#include <algorithm>
#include <tuple>

#include "directory/model/filter_weight.h"
#include "directory/model/names.h"

namespace ward::model {

namespace {

std::vector<IpPrefix> hosts(const std::vector<IpAddress>& addresses) {
  std::vector<IpPrefix> out;
  for (const auto& a : addresses) out.push_back(IpPrefix::host(a));
  return out;
}

class Compiler {
 public:
  Compiler(const Policy& policy, const HostContext& host) : policy_(policy), host_(host) {}

  CompiledTable run() {
    for (std::size_t r = 0; r < policy_.rules.size(); ++r) compile_rule(r);
    std::stable_sort(table_.filters.begin(), table_.filters.end(), takes_precedence);
    note_shadowed();
    return std::move(table_);
  }

 private:
  void note(const std::string& object, std::string message) {
    table_.notes.push_back({Severity::Warning, object, "", std::move(message)});
  }

  std::vector<IpPrefix> expand(const AddressSpec& spec, const std::string& object) {
    switch (spec.kind) {
      case AddressKind::Any: return {IpPrefix::any(IpFamily::V4), IpPrefix::any(IpFamily::V6)};
      case AddressKind::Host:
      case AddressKind::Subnet: return spec.prefix ? std::vector<IpPrefix>{*spec.prefix} : std::vector<IpPrefix>{};
      case AddressKind::MyAddress:
        if (host_.addresses.empty()) note(object, "the host has no addresses for \"my address\"");
        return hosts(host_.addresses);
      case AddressKind::DnsName: {
        if (!host_.resolve) {
          note(object, "DNS name " + spec.dns_name + " was not resolved (no resolver)");
          return {};
        }
        auto resolved = hosts(host_.resolve(spec.dns_name));
        if (resolved.empty()) note(object, "DNS name " + spec.dns_name + " resolved to no address");
        return resolved;
      }
      case AddressKind::DnsServers: return hosts(host_.dns_servers);
      case AddressKind::WinsServers: return hosts(host_.wins_servers);
      case AddressKind::DhcpServer: return hosts(host_.dhcp_servers);
      case AddressKind::DefaultGateway: return hosts(host_.default_gateways);
    }
    return {};
  }

  void compile_rule(std::size_t rule_index) {
    const Rule& rule = policy_.rules[rule_index];
    if (!rule.active) return;
    if (rule.default_response) {
      // No filters of its own: it answers what no filter covers (the agent's IKE bridge and the
      // driver's dynamic filters), so the table only says which rule that is.
      const FilterAction* action = policy_.find_filter_action(rule.filter_action);
      if (action && action->kind == ActionKind::Negotiate && !table_.default_response_rule) table_.default_response_rule = rule_index;
      return;
    }
    if (!rule.filter_list) return;
    const FilterList* list = policy_.find_filter_list(*rule.filter_list);
    const FilterAction* action = policy_.find_filter_action(rule.filter_action);
    if (!list || !action) return;  // validation reports dangling references

    for (std::size_t f = 0; f < list->filters.size(); ++f) {
      const Filter& filter = list->filters[f];
      const std::string object = "filter list \"" + list->name + "\" filters[" + std::to_string(f) + "]";
      const auto sources = expand(filter.source, object);
      const auto destinations = expand(filter.destination, object);
      for (const auto& source : sources) {
        for (const auto& destination : destinations) {
          if (source.family() != destination.family()) continue;
          if (source.is_host() && source == destination) continue;  // a host talking to itself
          CompiledFilter out;
          out.source = source;
          out.destination = destination;
          out.protocol = filter.protocol;
          out.source_ports = filter.source_ports;
          out.destination_ports = filter.destination_ports;
          out.action = action->kind;
          out.weight = filter_weight(source, destination, filter.protocol, filter.source_ports, filter.destination_ports);
          out.rule_index = rule_index;
          out.filter_index = f;
          out.tunnel_endpoint = rule.tunnel_endpoint;
          table_.filters.push_back(out);
          if (filter.mirrored && !(source == destination && filter.source_ports == filter.destination_ports)) {
            CompiledFilter reply = out;
            std::swap(reply.source, reply.destination);
            std::swap(reply.source_ports, reply.destination_ports);
            reply.mirror = true;
            table_.filters.push_back(reply);
          }
        }
      }
    }
  }

  // A filter with the same selectors as one before it in precedence order can never match.
  void note_shadowed() {
    for (std::size_t i = 1; i < table_.filters.size(); ++i) {
      const auto& later = table_.filters[i];
      for (std::size_t j = 0; j < i; ++j) {
        const auto& earlier = table_.filters[j];
        if (earlier.weight != later.weight) continue;
        const bool same = earlier.source == later.source && earlier.destination == later.destination &&
                          earlier.protocol == later.protocol && earlier.source_ports == later.source_ports &&
                          earlier.destination_ports == later.destination_ports;
        if (!same || earlier.rule_index == later.rule_index) continue;
        note("rule \"" + policy_.rules[later.rule_index].name + "\"",
             "its filter " + later.source.to_string() + " -> " + later.destination.to_string() + " never applies: rule \"" +
                 policy_.rules[earlier.rule_index].name + "\" has the same filter and " +
                 (earlier.action == later.action ? "comes first" : "a stronger action (" + std::string(name_of(earlier.action)) + ")"));
        break;
      }
    }
  }

  const Policy& policy_;
  const HostContext& host_;
  CompiledTable table_;
};

}  // namespace

CompiledTable compile(const Policy& policy, const HostContext& host) { return Compiler(policy, host).run(); }

bool takes_precedence(const CompiledFilter& a, const CompiledFilter& b) noexcept {
  const auto key = [](const CompiledFilter& f) {
    return std::make_tuple(~f.weight, action_tie_rank(f.action), f.rule_index, f.filter_index, f.mirror);
  };
  return key(a) < key(b);
}

bool matches(const CompiledFilter& filter, const PacketTuple& packet) noexcept {
  if (!filter.source.contains(packet.source) || !filter.destination.contains(packet.destination)) return false;
  if (filter.protocol != ip_protocol::kAny && filter.protocol != packet.protocol) return false;
  const bool has_ports = packet.protocol == ip_protocol::kTcp || packet.protocol == ip_protocol::kUdp;
  if (!has_ports) return filter.source_ports.is_any() && filter.destination_ports.is_any();
  return filter.source_ports.contains(packet.source_port) && filter.destination_ports.contains(packet.destination_port);
}

std::optional<std::size_t> first_match(const CompiledTable& table, const PacketTuple& packet) noexcept {
  for (std::size_t i = 0; i < table.filters.size(); ++i) {
    if (matches(table.filters[i], packet)) return i;
  }
  return std::nullopt;
}

}  // namespace ward::model
