#include "agent/translate/translate.h"

namespace ward::agent::translate {

driver::FilterAction to_driver_action(model::ActionKind kind) noexcept {
  switch (kind) {
    case model::ActionKind::Permit: return driver::FilterAction::Permit;
    case model::ActionKind::Negotiate: return driver::FilterAction::Negotiate;
    case model::ActionKind::Block: break;
  }
  return driver::FilterAction::Block;
}

std::uint32_t FilterIds::id_for(const model::Guid& rule, const model::Guid& filter) {
  const auto [it, added] = ids_.try_emplace({rule, filter}, next_);
  // 2^31 filters in one agent's life: never in practice, and then ids would run into the driver's.
  if (added && next_ + 1 < driver::kFirstDynamicFilterId) ++next_;
  return it->second;
}

namespace {

std::optional<FilterOrigin> origin_of(const model::Policy& policy, const model::CompiledFilter& compiled) {
  if (compiled.rule_index >= policy.rules.size()) return std::nullopt;
  const auto& rule = policy.rules[compiled.rule_index];
  if (!rule.filter_list) return std::nullopt;
  const auto* list = policy.find_filter_list(*rule.filter_list);
  if (!list || compiled.filter_index >= list->filters.size()) return std::nullopt;
  const auto* action = policy.find_filter_action(rule.filter_action);
  FilterOrigin origin;
  origin.rule_index = compiled.rule_index;
  origin.filter_index = compiled.filter_index;
  origin.rule_id = rule.id;
  origin.filter_id = list->filters[compiled.filter_index].id;
  origin.rule_name = model::display_name(rule);
  origin.filter_list_name = list->name;
  origin.filter_action_name = action ? model::display_name(policy, *action) : std::string();
  origin.action = compiled.action;
  return origin;
}

}  // namespace

Translation translate(const model::Policy& policy, const model::CompiledTable& table, FilterIds& ids) {
  Translation out;
  out.table.filters.reserve(table.filters.size());
  for (const auto& compiled : table.filters) {
    auto origin = origin_of(policy, compiled);
    if (!origin) continue;
    const std::uint32_t id = ids.id_for(origin->rule_id, origin->filter_id);
    const auto* action = policy.find_filter_action(policy.rules[compiled.rule_index].filter_action);
    const bool accept_unsecured = compiled.action == model::ActionKind::Negotiate && action && action->accept_unsecured;
    out.table.filters.push_back(driver::DriverFilter{
        id, compiled.source, compiled.destination, compiled.protocol, compiled.source_ports,
        compiled.destination_ports, to_driver_action(compiled.action), compiled.weight, compiled.tunnel_endpoint, accept_unsecured});
    out.origins.try_emplace(id, std::move(*origin));
  }
  if (table.default_response_rule && *table.default_response_rule < policy.rules.size()) {
    const auto& rule = policy.rules[*table.default_response_rule];
    const auto* action = policy.find_filter_action(rule.filter_action);
    FilterOrigin origin;
    origin.rule_index = *table.default_response_rule;
    origin.rule_id = rule.id;
    origin.rule_name = rule.name.empty() ? std::string("<Dynamic> default response") : rule.name;
    origin.filter_list_name = "<Dynamic>";
    origin.filter_action_name = action ? action->name : std::string();
    origin.action = model::ActionKind::Negotiate;
    const std::uint32_t id = ids.id_for(rule.id, model::Guid{});
    out.default_response_id = id;
    out.origins.try_emplace(id, std::move(origin));
  }
  return out;
}

}  // namespace ward::agent::translate
