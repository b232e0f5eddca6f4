#include "agent/daemon/ike_phase1_table.h"

namespace ward::agent::daemon {

ikeproc::Phase1Table phase1_table(const ikebridge::BridgeSnapshot& s, const MakeRemoteAuth& make) {
  ikeproc::Phase1Table table;
  for (const auto& f : s.compiled.filters) {
    if (f.action != model::ActionKind::Negotiate) continue;
    table.filters.push_back({f.source, f.destination, f.tunnel_endpoint, static_cast<std::uint32_t>(f.rule_index)});
  }
  for (const auto& [id, origin] : s.translation.origins) table.origins.push_back({id, static_cast<std::uint32_t>(origin.rule_index)});
  if (s.compiled.default_response_rule) table.default_response_rule = static_cast<std::uint32_t>(*s.compiled.default_response_rule);
  for (const auto& rule : s.policy.rules) {
    auto& methods = table.rules.emplace_back().auth;
    for (const auto& method : rule.auth_methods) {
      auto made = make(method);
      if (made) methods.emplace_back(std::move(*made));
      else methods.emplace_back(ikebridge::unusable_method(rule, made.error()));
    }
  }
  if (auto terms = ikebridge::phase1_terms(s)) {
    table.proposals = std::move(terms->proposals);
    table.allow_legacy = terms->allow_legacy;
    table.quick_mode_limit = terms->quick_mode_limit;
  } else {
    table.no_proposals = std::move(terms.error());
  }
  return table;
}

ikeproc::Phase1TableNote phase1_table_note(const ikebridge::BridgeSnapshot& snapshot, const MakeRemoteAuth& make, std::size_t max_body) {
  ikeproc::Phase1TableNote note{phase1_table(snapshot, make)};
  if (ikeproc::encode(note).size() > max_body) note.table.reset();
  return note;
}

}  // namespace ward::agent::daemon
