#include "agent/ikebridge/ike_bridge.h"

#include <algorithm>

#include "ike/auth/certificate_provider.h"
#include "ike/auth/preshared_key.h"

namespace ward::agent::ikebridge {
namespace {

using ike::sa::TrafficSelector;

// `outer` covers every address of `inner`.
bool covers(const IpPrefix& outer, const IpPrefix& inner) {
  return outer.family() == inner.family() && outer.length() <= inner.length() && outer.contains(inner.address());
}

bool covers(const PortRange& range, std::uint16_t port) { return range.is_any() || (port != 0 && range.contains(port)); }

std::uint16_t single_port(const PortRange& range) { return range.is_single() ? range.first : 0; }

}  // namespace

Expected<AuthProviderPtr, std::string> AuthFactory::make(const model::AuthMethod& method) const {
  switch (method.kind) {
    case model::AuthKind::PresharedKey:
      if (method.preshared_key.empty()) return unexpected(std::string("the preshared key is empty"));
      return AuthProviderPtr(
          std::make_shared<ike::auth::PresharedKeyProvider>(ike::auth::preshared_key_from_text(method.preshared_key.reveal())));
    case model::AuthKind::Kerberos:
      if (!kerberos_maker_ || !kerberos_) return unexpected(std::string("Kerberos authentication is not supported by this build"));
      return kerberos_maker_(*kerberos_);
    case model::AuthKind::Certificate: {
      auto credentials = certificates();
      if (!credentials) {
        return unexpected("certificate authentication (CA \"" + method.ca_name +
                          "\") needs this host's certificate: none is configured ([certificates] in ward.conf)");
      }
      auto provider = ike::auth::CertificateProvider::create(std::move(credentials), method.ca_name);
      if (!provider) return unexpected("certificate authentication: " + provider.error());
      return AuthProviderPtr(std::move(*provider));
    }
  }
  return unexpected(std::string("unknown authentication method"));
}

// ---- PolicyBridge ------------------------------------------------------------------------------

void PolicyBridge::replace(std::shared_ptr<const BridgeSnapshot> snapshot) {
  const std::lock_guard lock(mutex_);
  snapshot_ = std::move(snapshot);
}

std::shared_ptr<const BridgeSnapshot> PolicyBridge::current() const {
  const std::lock_guard lock(mutex_);
  return snapshot_;
}

namespace {

bool same_terms(const model::Policy& a, const model::Rule& rule_a, const model::Policy& b, const model::Rule& rule_b) {
  if (a.key_exchange != b.key_exchange || a.allow_legacy_algorithms != b.allow_legacy_algorithms ||
      rule_a.auth_methods != rule_b.auth_methods ||
      rule_a.tunnel_endpoint != rule_b.tunnel_endpoint) {
    return false;
  }
  const auto* action_a = a.find_filter_action(rule_a.filter_action);
  const auto* action_b = b.find_filter_action(rule_b.filter_action);
  if (action_a == nullptr || action_b == nullptr) return false;
  return action_a->kind == action_b->kind && action_a->security_methods == action_b->security_methods &&
         action_a->quick_mode_pfs == action_b->quick_mode_pfs;
}

}  // namespace

std::vector<std::uint32_t> filters_negotiated_on_same_terms(const BridgeSnapshot& previous, const BridgeSnapshot& current) {
  std::vector<std::uint32_t> ids;
  for (const auto& [id, origin] : current.translation.origins) {
    if (origin.action != model::ActionKind::Negotiate) continue;
    const auto before = previous.translation.origins.find(id);
    if (before == previous.translation.origins.end() || before->second.action != model::ActionKind::Negotiate) continue;
    if (origin.rule_index >= current.policy.rules.size() || before->second.rule_index >= previous.policy.rules.size()) continue;
    if (same_terms(previous.policy, previous.policy.rules[before->second.rule_index], current.policy,
                   current.policy.rules[origin.rule_index])) {
      ids.push_back(id);
    }
  }
  return ids;
}

std::vector<std::uint32_t> PolicyBridge::negotiate_filter_ids() const {
  std::vector<std::uint32_t> ids;
  const auto s = current();
  if (!s) return ids;
  for (const auto& [id, origin] : s->translation.origins) {
    if (origin.action == model::ActionKind::Negotiate) ids.push_back(id);
  }
  return ids;
}

Expected<ike::service::Phase1Policy, std::string> phase1_terms(const BridgeSnapshot& s) {
  if (s.offers.main_mode.empty()) {
    return unexpected("no usable key exchange method: every negotiate rule fails closed (" +
                      (s.offers.fail_closed.empty() ? std::string("no rule negotiates") : s.offers.fail_closed.front().reason) + ")");
  }
  ike::service::Phase1Policy out;
  out.allow_legacy = s.offers.allow_legacy;
  // Windows: master key PFS means one quick mode per main mode.
  out.quick_mode_limit = s.policy.key_exchange.master_key_pfs ? 1 : s.policy.key_exchange.quick_mode_limit;
  out.proposals = s.offers.main_mode;
  return out;
}

std::string unusable_method(const model::Rule& rule, const std::string& why) { return "rule \"" + model::display_name(rule) + "\": " + why; }

Expected<ike::service::Phase1Policy, std::string> PolicyBridge::phase1_for(const IpAddress& local, const IpAddress& peer,
                                                                          std::optional<std::uint32_t> filter_id) const {
  const auto s = current();
  if (!s) return unexpected(std::string("no policy is applied"));
  // The rules whose negotiate filters cover local -> peer, in precedence order (or the acquire's).
  std::vector<std::size_t> rules;
  if (filter_id) {
    const auto origin = s->translation.origins.find(*filter_id);
    if (origin == s->translation.origins.end()) return unexpected("filter " + std::to_string(*filter_id) + " is not in the policy");
    rules.push_back(origin->second.rule_index);
  } else {
    for (const auto& f : s->compiled.filters) {
      if (f.action != model::ActionKind::Negotiate) continue;
      // Tunnel mode: main mode runs with the rule's tunnel endpoint, whatever the inner subnets.
      const bool tunnel_to_peer = f.tunnel_endpoint && *f.tunnel_endpoint == peer;
      if (!tunnel_to_peer && (!f.source.contains(local) || !f.destination.contains(peer))) continue;
      if (std::find(rules.begin(), rules.end(), f.rule_index) == rules.end()) rules.push_back(f.rule_index);
    }
    // Last, the default response rule: a peer may ask to secure traffic no filter covers.
    if (const auto dr = s->compiled.default_response_rule; dr && std::find(rules.begin(), rules.end(), *dr) == rules.end()) {
      rules.push_back(*dr);
    }
    if (rules.empty()) return unexpected("no negotiate rule covers " + local.to_string() + " <-> " + peer.to_string());
  }
  auto terms = phase1_terms(*s);
  if (!terms) return terms;
  auto& out = *terms;
  std::string refused;
  std::vector<model::AuthKind> seen;
  for (const auto index : rules) {
    const auto& rule = s->policy.rules.at(index);
    for (const auto& method : rule.auth_methods) {
      if (std::find(seen.begin(), seen.end(), method.kind) != seen.end()) continue;   // the first rule's wins
      auto provider = factory_.make(method);
      if (!provider) {
        refused += "; " + unusable_method(rule, provider.error());
        continue;
      }
      seen.push_back(method.kind);
      out.auth.push_back(std::move(*provider));
    }
  }
  if (out.auth.empty()) return unexpected("no usable authentication method for " + peer.to_string() + refused);
  return out;
}

Expected<ike::service::QuickModePolicy, std::string> PolicyBridge::quick_mode_for_filter(const BridgeSnapshot& s,
                                                                                        std::size_t index) const {
  const auto& f = s.compiled.filters.at(index);
  const auto& rule = s.policy.rules.at(f.rule_index);
  const auto* action = s.policy.find_filter_action(rule.filter_action);
  if (action == nullptr) return unexpected("rule \"" + model::display_name(rule) + "\": its filter action is missing");
  if (const auto* closed = s.offers.fail_closed_rule(f.rule_index)) {
    return unexpected("rule \"" + closed->rule_name + "\" fails closed: " + closed->reason);
  }
  const auto planned = s.offers.actions.find(action->id);
  if (planned == s.offers.actions.end()) {
    return unexpected("filter action \"" + model::display_name(s.policy, *action) + "\" has no usable security method");
  }
  const auto& proposals = planned->second;
  ike::service::QuickModePolicy q;
  q.proposals = proposals.proposals;
  q.allow_legacy = proposals.allow_legacy;
  q.pfs_group = proposals.pfs_group;
  q.lifetime = proposals.lifetime;
  q.lifetime_kilobytes = proposals.lifetime_kilobytes;
  q.local = TrafficSelector{f.source, f.protocol, single_port(f.source_ports)};
  q.remote = TrafficSelector{f.destination, f.protocol, single_port(f.destination_ports)};
  q.filter_id = s.translation.table.filters.at(index).id;
  q.tunnel_endpoint = rule.tunnel_endpoint;   // tunnel mode: the IDs stay the filter's subnets
  q.fallback_to_clear = action->fallback_to_unsecured;
  return q;
}

Expected<ike::service::QuickModePolicy, std::string> PolicyBridge::default_response(const BridgeSnapshot& s, const TrafficSelector& our_side,
                                                                                   const TrafficSelector& peer_side) const {
  const auto& rule = s.policy.rules.at(*s.compiled.default_response_rule);
  const auto* action = s.policy.find_filter_action(rule.filter_action);
  if (action == nullptr || !s.translation.default_response_id) {
    return unexpected(std::string("the default response rule's filter action is missing"));
  }
  if (const auto* closed = s.offers.fail_closed_rule(*s.compiled.default_response_rule)) {
    return unexpected("the default response rule fails closed: " + closed->reason);
  }
  const auto planned = s.offers.actions.find(action->id);
  if (planned == s.offers.actions.end()) {
    return unexpected("the default response rule's filter action \"" + model::display_name(s.policy, *action) +
                      "\" has no usable security method");
  }
  const auto& proposals = planned->second;
  ike::service::QuickModePolicy q;
  q.proposals = proposals.proposals;
  q.allow_legacy = proposals.allow_legacy;
  q.pfs_group = proposals.pfs_group;
  q.lifetime = proposals.lifetime;
  q.lifetime_kilobytes = proposals.lifetime_kilobytes;
  q.local = our_side;
  q.remote = peer_side;
  q.filter_id = *s.translation.default_response_id;
  q.default_response = true;
  return q;
}

Expected<ike::service::QuickModePolicy, std::string> PolicyBridge::quick_mode_for_acquire(const driver::Acquire& acquire) const {
  const auto s = current();
  if (!s) return unexpected(std::string("no policy is applied"));
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < s->translation.table.filters.size(); ++i) {
    const auto& f = s->compiled.filters[i];
    if (s->translation.table.filters[i].id != acquire.filter_id) continue;
    if (!found) found = i;
    if (f.source.contains(acquire.source) && f.destination.contains(acquire.destination)) {
      found = i;
      break;
    }
  }
  if (!found) return unexpected("filter " + std::to_string(acquire.filter_id) + " is not in the policy");
  auto q = quick_mode_for_filter(*s, *found);
  if (!q) return q;
  // Transport mode protects this host pair: the IDs name the two hosts (as Windows negotiates a
  // specific filter for a generic one), with the filter's protocol and single ports.
  // Tunnel mode negotiates the filter's own subnets.
  if (q->tunnel_endpoint) return q;
  q->local.prefix = IpPrefix::host(acquire.source);
  q->remote.prefix = IpPrefix::host(acquire.destination);
  return q;
}

Expected<ike::service::QuickModePolicy, ike::service::PolicyRefusal> PolicyBridge::quick_mode_for_peer(
    const IpAddress& local, const IpAddress& peer, const TrafficSelector& peer_side, const TrafficSelector& our_side) const {
  using ike::NotifyMessageType;
  // No filter negotiates the IDs: INVALID-ID-INFORMATION. One covers them but has nothing usable
  // to propose (its rule fails closed, or its action's methods are all left out): NO-PROPOSAL-CHOSEN.
  const auto no_filter = [](std::string reason) {
    return unexpected(ike::service::PolicyRefusal{NotifyMessageType::InvalidIdInformation, std::move(reason)});
  };
  const auto nothing_to_propose = [](std::string reason) {
    return unexpected(ike::service::PolicyRefusal{NotifyMessageType::NoProposalChosen, std::move(reason)});
  };
  const auto s = current();
  if (!s) return no_filter("no policy is applied");
  // Transport mode: our side must include this host. Tunnel mode: the peer must be the rule's
  // tunnel endpoint, and the sides are the inner subnets.
  const bool our_side_local = our_side.prefix.contains(local) || our_side.prefix.is_any();
  // The first filter in precedence order that covers our side -> the peer's side.
  for (std::size_t i = 0; i < s->compiled.filters.size(); ++i) {
    const auto& f = s->compiled.filters[i];
    if (!covers(f.source, our_side.prefix) || !covers(f.destination, peer_side.prefix)) continue;
    if (f.protocol != model::ip_protocol::kAny && f.protocol != our_side.protocol) continue;
    if (!covers(f.source_ports, our_side.port) || !covers(f.destination_ports, peer_side.port)) continue;
    if (f.tunnel_endpoint ? *f.tunnel_endpoint != peer : !our_side_local) continue;
    if (f.action != model::ActionKind::Negotiate) {
      // A rule that fails closed was meant to negotiate: it has nothing usable to propose.
      const auto* closed = s->offers.fail_closed_rule(f.rule_index);
      auto reason = our_side.prefix.to_string() + " -> " + peer_side.prefix.to_string() + " falls under a " +
                    (f.action == model::ActionKind::Permit ? "permit" : "block") + " filter of rule \"" +
                    model::display_name(s->policy.rules.at(f.rule_index)) + "\"";
      if (closed) return nothing_to_propose(reason + " (it fails closed: " + closed->reason + ")");
      return no_filter(reason);
    }
    auto q = quick_mode_for_filter(*s, i);
    if (!q) return nothing_to_propose(q.error());
    return std::move(*q);
  }
  if (!our_side_local) {
    return no_filter("our side " + our_side.prefix.to_string() + " does not include " + local.to_string() +
                     " and no tunnel rule to " + peer.to_string() + " covers it");
  }
  // Windows' default response: what no filter covers, the default response rule answers (in
  // transport mode, between this host and the peer).
  if (s->compiled.default_response_rule && peer_side.prefix.contains(peer)) {
    auto q = default_response(*s, our_side, peer_side);
    if (!q) return nothing_to_propose(q.error());
    return std::move(*q);
  }
  return no_filter("no filter covers " + our_side.prefix.to_string() + " -> " + peer_side.prefix.to_string() +
                   (s->compiled.default_response_rule ? std::string() : " and the policy has no active default response rule"));
}

}  // namespace ward::agent::ikebridge
