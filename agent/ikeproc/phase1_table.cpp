#include "agent/ikeproc/phase1_table.h"

#include <algorithm>
#include <vector>

namespace ward::agent::ikeproc {

Expected<RemotePhase1Policy, std::string> answer_phase1(const Phase1Table& table, const IpAddress& local, const IpAddress& peer,
                                                        std::optional<std::uint32_t> filter_id) {
  std::vector<std::uint32_t> rules;
  const auto add = [&](std::uint32_t rule) {
    if (std::find(rules.begin(), rules.end(), rule) == rules.end()) rules.push_back(rule);
  };
  if (filter_id) {
    const auto origin = std::find_if(table.origins.begin(), table.origins.end(),
                                     [&](const Phase1TableOrigin& o) { return o.filter_id == *filter_id; });
    if (origin == table.origins.end()) return unexpected("filter " + std::to_string(*filter_id) + " is not in the policy");
    rules.push_back(origin->rule);
  } else {
    for (const auto& f : table.filters) {
      const bool tunnel_to_peer = f.tunnel_endpoint && *f.tunnel_endpoint == peer;
      if (tunnel_to_peer || (f.local.contains(local) && f.peer.contains(peer))) add(f.rule);
    }
    if (table.default_response_rule) add(*table.default_response_rule);
    if (rules.empty()) return unexpected("no negotiate rule covers " + local.to_string() + " <-> " + peer.to_string());
  }
  if (table.proposals.empty()) return unexpected(table.no_proposals);
  RemotePhase1Policy out;
  out.proposals = table.proposals;
  out.allow_legacy = table.allow_legacy;
  out.quick_mode_limit = table.quick_mode_limit;
  // The refusals are reported only when no method is usable: then none was kept (and skipped as
  // seen) before them, and the list is PolicyBridge's.
  std::string refused;
  for (const auto rule : rules) {
    for (const auto& auth : table.rules.at(rule).auth) {
      if (const auto* why = std::get_if<std::string>(&auth)) {
        refused += "; " + *why;
        continue;
      }
      const auto& made = std::get<RemoteAuth>(auth);
      const bool seen = std::any_of(out.auth.begin(), out.auth.end(), [&](const RemoteAuth& a) { return a.method == made.method; });
      if (!seen) out.auth.push_back(made);   // the first rule's wins
    }
  }
  if (out.auth.empty()) return unexpected("no usable authentication method for " + peer.to_string() + refused);
  return out;
}

void Phase1TableSlot::replace(std::optional<Phase1Table> table) {
  auto next = table ? std::make_shared<const Phase1Table>(std::move(*table)) : nullptr;
  const std::lock_guard lock(mutex_);
  table_ = std::move(next);
}

std::optional<Expected<RemotePhase1Policy, std::string>> Phase1TableSlot::answer(const IpAddress& local, const IpAddress& peer,
                                                                                 std::optional<std::uint32_t> filter_id) const {
  std::shared_ptr<const Phase1Table> table;
  {
    const std::lock_guard lock(mutex_);
    table = table_;
  }
  if (!table) return std::nullopt;
  return answer_phase1(*table, local, peer, filter_id);
}

}  // namespace ward::agent::ikeproc
