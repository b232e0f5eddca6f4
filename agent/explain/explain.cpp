#include "agent/explain/explain.h"

#include <array>

#include "directory/model/filter_weight.h"
#include "directory/model/names.h"
#include "directory/model/table_text.h"

namespace ward::agent::explain {

namespace {

using nlohmann::ordered_json;

constexpr std::array<std::pair<LossReason, std::string_view>, 5> kLossReasonNames{{
    {LossReason::LowerWeight, "lower-weight"},
    {LossReason::WeakerAction, "weaker-action"},
    {LossReason::LaterRule, "later-rule"},
    {LossReason::LaterFilter, "later-filter"},
    {LossReason::ReplyDirection, "reply-direction"},
}};
static_assert(kLossReasonNames.size() == static_cast<std::size_t>(LossReason::ReplyDirection) + 1);

constexpr std::array<std::pair<BehaviourKind, std::string_view>, 5> kBehaviourNames{{
    {BehaviourKind::AcceptUnsecured, "accept-unsecured"},
    {BehaviourKind::FallbackToClear, "fallback-to-clear"},
    {BehaviourKind::SoftAssociation, "soft-association"},
    {BehaviourKind::DefaultResponse, "default-response"},
    {BehaviourKind::DynamicFilter, "dynamic-filter"},
}};
static_assert(kBehaviourNames.size() == static_cast<std::size_t>(BehaviourKind::DynamicFilter) + 1);

std::string port_text(std::uint16_t port) { return port == 0 ? "any" : std::to_string(port); }

// A live dynamic filter covers the packet, in either direction.
bool covers(const LiveState::DynamicFilter& d, const model::PacketTuple& p) {
  if (d.protocol != 0 && d.protocol != p.protocol) return false;
  const bool ports = p.protocol == model::ip_protocol::kTcp || p.protocol == model::ip_protocol::kUdp;
  const auto port_ok = [&](std::uint16_t want, std::uint16_t got) { return want == 0 || (ports && want == got); };
  if (p.source == d.local && p.destination == d.remote) return port_ok(d.local_port, p.source_port) && port_ok(d.remote_port, p.destination_port);
  if (p.source == d.remote && p.destination == d.local) return port_ok(d.remote_port, p.source_port) && port_ok(d.local_port, p.destination_port);
  return false;
}

// The Windows behaviours that apply to the packet (explain()'s last step).
std::vector<Behaviour> behaviours_of(const model::Policy& policy, const model::CompiledTable& table, const model::PacketTuple& packet,
                                     const std::optional<std::size_t>& winner, const LiveState* live) {
  std::vector<Behaviour> out;
  if (!winner) {
    if (live) {
      for (const auto& d : live->dynamic_filters) {
        if (!covers(d, packet)) continue;
        out.push_back({BehaviourKind::DynamicFilter,
                       "a dynamic filter protects it: the default response (rule \"" + d.rule + "\") negotiated " + d.local.to_string() +
                           " <-> " + d.remote.to_string() + " protocol " + (d.protocol == 0 ? std::string("any") : std::to_string(d.protocol)) +
                           " ports " + port_text(d.local_port) + " <-> " + port_text(d.remote_port) +
                           " with the peer; outbound it is protected, clear inbound copies are dropped"});
        break;
      }
    }
    if (table.default_response_rule && *table.default_response_rule < policy.rules.size()) {
      const auto& rule = policy.rules[*table.default_response_rule];
      out.push_back({BehaviourKind::DefaultResponse,
                     "default response: when a peer negotiates security for it, the default response rule \"" +
                         (rule.name.empty() ? std::string("<Dynamic>") : rule.name) +
                         "\" answers and a dynamic filter protects exactly what was negotiated; until then it passes in clear"});
    }
    return out;
  }
  const auto& filter = table.filters[*winner];
  if (filter.action != model::ActionKind::Negotiate || filter.rule_index >= policy.rules.size()) return out;
  const auto* action = policy.find_filter_action(policy.rules[filter.rule_index].filter_action);
  if (live && *winner < live->filter_ids.size()) {
    const auto id = live->filter_ids[*winner];
    for (const auto& soft : live->soft_associations) {
      if (soft.filter_id != id || (soft.peer != packet.source && soft.peer != packet.destination)) continue;
      out.push_back({BehaviourKind::SoftAssociation, "soft association with " + soft.peer.to_string() +
                                                         ": no IPsec (the peer did not answer IKE), the traffic passes in clear; it ends after " +
                                                         std::to_string(soft.expires_in_seconds) + " s without traffic"});
    }
  }
  if (action && action->accept_unsecured) {
    out.push_back({BehaviourKind::AcceptUnsecured, "inbound pass-through (\"accept unsecured communication, but always respond using "
                                                   "IPsec\"): clear traffic from the peer is accepted; what this host sends back negotiates"});
  }
  if (action && action->fallback_to_unsecured) {
    out.push_back({BehaviourKind::FallbackToClear, "fallback to clear (\"allow fallback to unsecured communication\"): if the peer does "
                                                   "not answer IKE, the traffic passes in clear after a short delay (a soft association)"});
  }
  return out;
}

bool has_ports(std::uint8_t protocol) {
  return protocol == model::ip_protocol::kTcp || protocol == model::ip_protocol::kUdp;
}

MatchedFilter describe(const model::Policy& policy, const model::CompiledTable& table, std::size_t index, const RuleNotes& notes) {
  MatchedFilter out;
  out.position = index + 1;
  out.specific = table.filters[index];
  out.action = out.specific.action;
  if (const auto note = notes.find(out.specific.rule_index); note != notes.end()) out.note = note->second;
  if (out.specific.rule_index >= policy.rules.size()) return out;  // a table from another policy
  const model::Rule& rule = policy.rules[out.specific.rule_index];
  out.rule_name = model::display_name(rule);
  if (const auto* action = policy.find_filter_action(rule.filter_action)) out.filter_action_name = model::display_name(policy, *action);
  if (rule.filter_list) {
    if (const auto* list = policy.find_filter_list(*rule.filter_list)) {
      out.filter_list_name = list->name;
      if (out.specific.filter_index < list->filters.size()) out.generic = list->filters[out.specific.filter_index];
    }
  }
  return out;
}

std::pair<LossReason, std::string> why_lost(const model::CompiledFilter& loser, const model::CompiledFilter& winner,
                                            const model::Policy& policy) {
  if (loser.weight != winner.weight) {
    return {LossReason::LowerWeight,
            "lower weight (" + std::to_string(loser.weight) + " < " + std::to_string(winner.weight) + ")"};
  }
  if (loser.action != winner.action) {
    return {LossReason::WeakerAction, "same weight, weaker action (" + std::string(model::name_of(loser.action)) +
                                          " loses to " + std::string(model::name_of(winner.action)) + ")"};
  }
  if (loser.rule_index != winner.rule_index) {
    const auto name = [&](std::size_t r) { return r < policy.rules.size() ? policy.rules[r].name : "?"; };
    return {LossReason::LaterRule, "same weight and action, later rule (\"" + name(loser.rule_index) +
                                       "\" comes after \"" + name(winner.rule_index) + "\")"};
  }
  if (loser.filter_index != winner.filter_index) {
    return {LossReason::LaterFilter, "same rule, later filter in the list (" + std::to_string(loser.filter_index) +
                                         " after " + std::to_string(winner.filter_index) + ")"};
  }
  return {LossReason::ReplyDirection, "same filter, generated reply direction"};
}

ordered_json matched_json(const MatchedFilter& m) {
  ordered_json j;
  j["position"] = m.position;
  j["weight"] = m.specific.weight;
  j["rule"] = m.rule_name;
  j["filter_list"] = m.filter_list_name;
  j["filter_index"] = m.specific.filter_index;
  j["filter_action"] = m.filter_action_name;
  j["action"] = std::string(model::name_of(m.action));
  j["generic"] = m.generic ? generic_filter_text(*m.generic) : std::string();
  j["description"] = m.generic ? m.generic->description : std::string();
  j["specific"] = specific_filter_text(m.specific);
  j["mirror"] = m.specific.mirror;
  if (m.specific.tunnel_endpoint) j["tunnel_endpoint"] = m.specific.tunnel_endpoint->to_string();
  if (!m.note.empty()) j["note"] = m.note;
  return j;
}

std::string matched_text(const ordered_json& j, const std::string& indent) {
  std::string out;
  out += '#';  // not "#" + std::to_string(...): GCC 12 at -O3 warns falsely (-Wrestrict) on it
  out += std::to_string(j.at("position").get<std::size_t>()) + " weight " +
         std::to_string(j.at("weight").get<std::uint32_t>()) + ", rule \"" + j.at("rule").get<std::string>() + "\"\n";
  out += indent + "filter list:   \"" + j.at("filter_list").get<std::string>() + "\" filter " +
         std::to_string(j.at("filter_index").get<std::size_t>());
  const auto description = j.at("description").get<std::string>();
  out += description.empty() ? "\n" : " (" + description + ")\n";
  out += indent + "filter action: \"" + j.at("filter_action").get<std::string>() + "\" (" +
         j.at("action").get<std::string>() + ")\n";
  out += indent + "generic:       " + j.at("generic").get<std::string>() + "\n";
  out += indent + "specific:      " + j.at("specific").get<std::string>() +
         (j.at("mirror").get<bool>() ? " (reply direction)" : "") + "\n";
  if (j.contains("tunnel_endpoint")) out += indent + "tunnel to:     " + j.at("tunnel_endpoint").get<std::string>() + "\n";
  if (j.contains("note")) out += indent + "note:          " + j.at("note").get<std::string>() + "\n";
  return out;
}

std::string ports_text(const PortRange& ports) { return ports.is_any() ? "any" : ports.to_string(); }

}  // namespace

std::string_view name_of(LossReason reason) noexcept {
  for (const auto& [value, name] : kLossReasonNames) {
    if (value == reason) return name;
  }
  return "?";
}

std::string_view name_of(BehaviourKind kind) noexcept {
  for (const auto& [value, name] : kBehaviourNames) {
    if (value == kind) return name;
  }
  return "?";
}

Explanation explain(const model::Policy& policy, const model::CompiledTable& table, const model::PacketTuple& packet,
                    const RuleNotes& notes, const LiveState* live) {
  Explanation out;
  out.packet = packet;
  const auto winner = model::first_match(table, packet);
  out.behaviours = behaviours_of(policy, table, packet, winner, live);
  if (!winner) return out;
  out.winner = describe(policy, table, *winner, notes);
  // The table is in precedence order, so the later matches are the runners-up in order.
  for (std::size_t i = *winner + 1; i < table.filters.size(); ++i) {
    if (!model::matches(table.filters[i], packet)) continue;
    auto [reason, why] = why_lost(table.filters[i], table.filters[*winner], policy);
    out.runners_up.push_back(RunnerUp{describe(policy, table, i, notes), reason, std::move(why)});
  }
  return out;
}

std::string packet_text(const model::PacketTuple& p) {
  std::string text = p.source.to_string() + " -> " + p.destination.to_string() + " " + model::protocol_text(p.protocol);
  if (has_ports(p.protocol)) {
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on " " + std::to_string(...).
    text += ' ';
    text += std::to_string(p.source_port);
    text += " -> ";
    text += std::to_string(p.destination_port);
  }
  return text;
}

std::string address_text(const model::AddressSpec& address) {
  switch (address.kind) {
    case model::AddressKind::Host:
    case model::AddressKind::Subnet: return address.prefix ? address.prefix->to_string() : "?";
    case model::AddressKind::DnsName: return "dns:" + address.dns_name;
    case model::AddressKind::MyAddress:
    case model::AddressKind::Any:
    case model::AddressKind::DnsServers:
    case model::AddressKind::WinsServers:
    case model::AddressKind::DhcpServer:
    case model::AddressKind::DefaultGateway: return std::string(model::name_of(address.kind));
  }
  return "?";
}

std::string generic_filter_text(const model::Filter& f) {
  return address_text(f.source) + " -> " + address_text(f.destination) + " " + model::protocol_text(f.protocol) +
         " ports " + ports_text(f.source_ports) + " -> " + ports_text(f.destination_ports) +
         (f.mirrored ? ", mirrored" : "");
}

std::string specific_filter_text(const model::CompiledFilter& f) {
  return f.source.to_string() + " -> " + f.destination.to_string() + " " + model::protocol_text(f.protocol) +
         " ports " + ports_text(f.source_ports) + " -> " + ports_text(f.destination_ports);
}

nlohmann::ordered_json to_json(const Explanation& e) {
  ordered_json j;
  ordered_json packet;
  packet["source"] = e.packet.source.to_string();
  packet["destination"] = e.packet.destination.to_string();
  packet["protocol"] = model::protocol_text(e.packet.protocol);
  if (has_ports(e.packet.protocol)) {
    packet["source_port"] = e.packet.source_port;
    packet["destination_port"] = e.packet.destination_port;
  }
  packet["text"] = packet_text(e.packet);
  j["packet"] = packet;
  j["winner"] = e.winner ? matched_json(*e.winner) : ordered_json(nullptr);
  j["runners_up"] = ordered_json::array();
  for (const auto& r : e.runners_up) {
    auto entry = matched_json(r.filter);
    entry["lost_because"] = std::string(name_of(r.reason));
    entry["why"] = r.why;
    j["runners_up"].push_back(entry);
  }
  j["behaviours"] = ordered_json::array();
  for (const auto& b : e.behaviours) j["behaviours"].push_back({{"kind", std::string(name_of(b.kind))}, {"text", b.text}});
  return j;
}

std::string render_explanation_text(const nlohmann::ordered_json& j) {
  std::string out = "packet: " + j.at("packet").at("text").get<std::string>() + "\n";
  std::string behaviours;
  if (const auto found = j.find("behaviours"); found != j.end()) {
    for (const auto& b : *found) behaviours += "  " + b.at("kind").get<std::string>() + ": " + b.at("text").get<std::string>() + "\n";
  }
  if (!behaviours.empty()) behaviours = "behaviour:\n" + behaviours;
  const auto& winner = j.at("winner");
  if (winner.is_null()) {
    const bool dynamic = behaviours.find("dynamic-filter:") != std::string::npos;
    return out + (dynamic ? "no filter of the policy matches\n" : "no filter matches: the packet passes in clear, unfiltered\n") + behaviours;
  }
  out += "winner: " + matched_text(winner, "  ");
  const auto& runners = j.at("runners_up");
  if (runners.empty()) return out + "no other filter matches\n" + behaviours;
  out += "runners-up (in precedence order):\n";
  for (const auto& r : runners) {
    out += "  " + matched_text(r, "    ");
    out += "    lost:          " + r.at("why").get<std::string>() + "\n";
  }
  return out + behaviours;
}

nlohmann::ordered_json specific_filters_json(const model::Policy& policy, const model::CompiledTable& table, const RuleNotes& notes) {
  ordered_json rows = ordered_json::array();
  for (std::size_t i = 0; i < table.filters.size(); ++i) {
    const auto& f = table.filters[i];
    ordered_json row;
    row["position"] = i + 1;
    row["weight"] = f.weight;
    row["source"] = f.source.to_string();
    row["destination"] = f.destination.to_string();
    row["protocol"] = model::protocol_text(f.protocol);
    row["source_ports"] = ports_text(f.source_ports);
    row["destination_ports"] = ports_text(f.destination_ports);
    row["action"] = std::string(model::name_of(f.action));
    row["mirror"] = f.mirror;
    row["rule"] = f.rule_index < policy.rules.size() ? model::display_name(policy.rules[f.rule_index]) : "?";
    if (f.tunnel_endpoint) row["tunnel_endpoint"] = f.tunnel_endpoint->to_string();
    if (const auto note = notes.find(f.rule_index); note != notes.end()) row["note"] = note->second;
    rows.push_back(row);
  }
  return rows;
}

nlohmann::ordered_json generic_filters_json(const model::Policy& policy) {
  ordered_json rows = ordered_json::array();
  for (const auto& rule : policy.rules) {
    if (!rule.filter_list) continue;
    const auto* list = policy.find_filter_list(*rule.filter_list);
    const auto* action = policy.find_filter_action(rule.filter_action);
    if (!list) continue;
    for (std::size_t i = 0; i < list->filters.size(); ++i) {
      const auto& f = list->filters[i];
      ordered_json row;
      row["rule"] = rule.name;
      row["active"] = rule.active;
      row["filter_list"] = list->name;
      row["filter_index"] = i;
      row["source"] = address_text(f.source);
      row["destination"] = address_text(f.destination);
      row["protocol"] = model::protocol_text(f.protocol);
      row["source_ports"] = ports_text(f.source_ports);
      row["destination_ports"] = ports_text(f.destination_ports);
      row["mirrored"] = f.mirrored;
      row["action"] = action ? std::string(model::name_of(action->kind)) : "?";
      row["filter_action"] = action ? action->name : "?";
      rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace ward::agent::explain
