#include "agent/ikebridge/sa_admission.h"

#include <algorithm>

namespace ward::agent::ikebridge {
namespace {

using driver::crypto::Cipher;
using driver::crypto::Mode;
using driver::crypto::SaParams;
using driver::crypto::SecurityProtocol;

bool same_address(const driver::crypto::IpAddress& a, const IpAddress& b) {
  const bool v4 = a.version == driver::crypto::IpVersion::V4;
  if (v4 != (b.family() == IpFamily::V4)) return false;
  const std::size_t n = v4 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::to_integer<std::uint8_t>(a.bytes[i]) != b.bytes()[i]) return false;
  }
  return true;
}

// The filter action's planned methods for rule `rule_index`, or why it has none.
Expected<const QuickModeProposals*, std::string> planned_methods(const BridgeSnapshot& s, std::size_t rule_index) {
  const auto& rule = s.policy.rules.at(rule_index);
  if (const auto* closed = s.offers.fail_closed_rule(rule_index)) {
    return unexpected("rule \"" + closed->rule_name + "\" fails closed (" + closed->reason + ")");
  }
  const auto* action = s.policy.find_filter_action(rule.filter_action);
  if (action == nullptr) return unexpected("rule \"" + model::display_name(rule) + "\" has no filter action");
  const auto planned = s.offers.actions.find(action->id);
  if (planned == s.offers.actions.end()) {
    return unexpected("filter action \"" + model::display_name(s.policy, *action) + "\" has no usable security method");
  }
  return &planned->second;
}

// ESP (cipher, integrity), AH alone (integrity), or ESP with AH bundled: one of the methods.
bool is_planned_method(const SaParams& params, const std::optional<SaParams>& bundled_ah, const QuickModeProposals& methods) {
  return std::any_of(methods.proposals.begin(), methods.proposals.end(), [&](const ike::sa::ProtectionSuite& suite) {
    if (params.protocol == SecurityProtocol::Ah) {
      return !bundled_ah && !suite.esp && suite.ah && suite.ah->integrity == params.integrity && params.cipher == Cipher::Null;
    }
    if (!suite.esp || suite.esp->cipher != params.cipher || suite.esp->integrity != params.integrity) return false;
    if (suite.ah.has_value() != bundled_ah.has_value()) return false;
    return !bundled_ah || (bundled_ah->protocol == SecurityProtocol::Ah && bundled_ah->integrity == suite.ah->integrity &&
                           bundled_ah->mode == Mode::Transport && bundled_ah->direction == params.direction);
  });
}

std::string method_text(const SaParams& params, const std::optional<SaParams>& bundled_ah) {
  std::string text = std::string(driver::crypto::name_of(params.protocol)) + " " + std::string(driver::crypto::name_of(params.cipher)) +
                     "/" + std::string(driver::crypto::name_of(params.integrity));
  if (bundled_ah) text += " with AH " + std::string(driver::crypto::name_of(bundled_ah->integrity));
  return text;
}

// The compiled filter that carries driver filter id `id`, negotiates, and names `peer`: its tunnel
// endpoint, or (transport) an address of its remote side; else why none does.
Expected<std::size_t, std::string> negotiate_filter_for(const BridgeSnapshot& s, std::uint32_t id, const IpAddress& peer,
                                                         std::optional<Mode> mode) {
  bool known = false;
  std::string why;
  for (std::size_t i = 0; i < s.translation.table.filters.size() && i < s.compiled.filters.size(); ++i) {
    if (s.translation.table.filters[i].id != id) continue;
    known = true;
    const auto& f = s.compiled.filters[i];
    if (f.action != model::ActionKind::Negotiate) {
      why = "filter " + std::to_string(id) + " is a " + (f.action == model::ActionKind::Permit ? "permit" : "block") + " filter of rule \"" +
            model::display_name(s.policy.rules.at(f.rule_index)) + "\"";
      continue;
    }
    if (f.tunnel_endpoint) {
      if (*f.tunnel_endpoint != peer) {
        why = "filter " + std::to_string(id) + " tunnels to " + f.tunnel_endpoint->to_string() + ", not " + peer.to_string();
        continue;
      }
      if (mode && *mode != Mode::Tunnel) {
        why = "filter " + std::to_string(id) + " is a tunnel filter, the SA is in transport mode";
        continue;
      }
    } else {
      const auto& remote_side = f.mirror ? f.source : f.destination;   // a mirror's reply direction starts at the peer
      if (!remote_side.contains(peer)) {
        why = "filter " + std::to_string(id) + " covers " + remote_side.to_string() + ", which does not include " + peer.to_string();
        continue;
      }
      if (mode && *mode != Mode::Transport) {
        why = "filter " + std::to_string(id) + " is a transport filter, the SA is in tunnel mode";
        continue;
      }
    }
    return i;
  }
  if (!known) return unexpected("filter " + std::to_string(id) + " is not in the policy");
  return unexpected(why);
}

}  // namespace

Expected<void, std::string> admit_sa(const BridgeSnapshot& s, const driver::SaInstall& sa) {
  const std::string what = driver::crypto::describe_sa(sa.params) + " for filter " + std::to_string(sa.filter_id) + " with " +
                           sa.peer.to_string() + ": ";
  std::size_t rule_index = 0;
  if (sa.dynamic) {
    if (!s.compiled.default_response_rule || s.translation.default_response_id != sa.filter_id) {
      return unexpected(what + "a dynamic selector, but filter " + std::to_string(sa.filter_id) + " is not the default response rule's");
    }
    if (sa.dynamic->remote != sa.peer || sa.params.mode != Mode::Transport) {
      return unexpected(what + "the default response protects traffic with its peer (" + sa.dynamic->remote.to_string() +
                        ") in transport mode");
    }
    rule_index = *s.compiled.default_response_rule;
  } else {
    auto filter = negotiate_filter_for(s, sa.filter_id, sa.peer, sa.params.mode);
    if (!filter) return unexpected(what + filter.error());
    rule_index = s.compiled.filters[*filter].rule_index;
    if (sa.params.mode == Mode::Tunnel && (!sa.params.tunnel || !same_address(sa.params.tunnel->remote, sa.peer))) {
      return unexpected(what + "its tunnel does not end at " + sa.peer.to_string());
    }
  }
  auto methods = planned_methods(s, rule_index);
  if (!methods) return unexpected(what + methods.error());
  if (!is_planned_method(sa.params, sa.bundled_ah, **methods)) {
    return unexpected(what + method_text(sa.params, sa.bundled_ah) + " is not one of the filter action's security methods");
  }
  return {};
}

Expected<void, std::string> admit_soft_association(const BridgeSnapshot& s, const driver::SoftAssociation& association) {
  const std::string what =
      "soft association for filter " + std::to_string(association.filter_id) + " with " + association.peer.to_string() + ": ";
  auto filter = negotiate_filter_for(s, association.filter_id, association.peer, std::nullopt);
  if (!filter) return unexpected(what + filter.error());
  const auto& rule = s.policy.rules.at(s.compiled.filters[*filter].rule_index);
  const auto* action = s.policy.find_filter_action(rule.filter_action);
  if (action == nullptr || !action->fallback_to_unsecured) {
    return unexpected(what + "rule \"" + model::display_name(rule) + "\" does not allow fallback to clear");
  }
  return {};
}

}  // namespace ward::agent::ikebridge
