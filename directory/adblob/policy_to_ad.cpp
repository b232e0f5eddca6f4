#include "directory/adblob/policy_to_ad.h"

#include <algorithm>

#include "directory/adblob/algorithm_map.h"
#include "directory/adblob/filter_map.h"
#include "directory/adblob/negotiation_guids.h"
#include "directory/adblob/nfa_blob.h"
#include "directory/adblob/policy_blob.h"
#include "directory/adblob/utf16.h"
#include "directory/adblob/ward_extension.h"

namespace ward::adblob {

namespace {

AdObject object(AdClass object_class, const model::Guid& id, std::string_view domain_dn) {
  AdObject out;
  out.object_class = object_class;
  out.dn = ipsec_dn(object_class, id, domain_dn);
  out.ipsec_id = id.to_string();
  return out;
}

AdObject policy_object(const model::Policy& policy, std::string_view domain_dn) {
  AdObject out = object(AdClass::Policy, policy.id, domain_dn);
  out.ipsec_name = policy.name;
  out.description = policy.description;
  PolicyBlob blob;
  blob.polling_interval_seconds = policy.polling_interval_minutes * kSecondsPerMinute;
  if (policy.allow_legacy_algorithms != uses_legacy_algorithms(policy)) {
    blob.trailer = encode_ward_trailer(WardExtension{{}, {}, {}, policy.allow_legacy_algorithms});
  }
  out.ipsec_data = encode_policy_blob(blob);
  out.isakmp_reference = ipsec_dn(AdClass::IsakmpPolicy, policy.key_exchange.id, domain_dn);
  for (const auto& rule : policy.rules) out.nfa_references.push_back(ipsec_dn(AdClass::Nfa, rule.id, domain_dn));
  return out;
}

AdObject isakmp_object(const model::Policy& policy, std::string_view domain_dn) {
  const auto& kx = policy.key_exchange;
  AdObject out = object(AdClass::IsakmpPolicy, kx.id, domain_dn);
  out.ipsec_name = kx.id.to_string();  // MUST NOT be empty (spec note <1>); the model has no name
  out.owners_references = {ipsec_dn(AdClass::Policy, policy.id, domain_dn)};
  IsakmpBlob blob;
  blob.instance = kx.id;
  blob.master_pfs_required = kx.master_key_pfs ? 1 : 0;
  blob.quick_mode_limit = kx.quick_mode_limit;
  blob.main_mode_lifetime_seconds = kx.lifetime_minutes * kSecondsPerMinute;
  bool complete = true;
  for (const auto& method : kx.methods) {
    if (auto windows = windows_main_mode_method(method, {blob.main_mode_lifetime_seconds, kx.quick_mode_limit})) {
      blob.methods.push_back(*windows);
    } else {
      complete = false;
    }
  }
  if (!complete) blob.trailer = encode_ward_trailer(WardExtension{kx.methods, {}, {}, {}});
  out.ipsec_data = encode_isakmp_blob(blob);
  return out;
}

Expected<NfaAuthMethod, MappingError> auth_method(const model::AuthMethod& method, const std::string& dn) {
  NfaAuthMethod out;
  std::string text;
  switch (method.kind) {
    case model::AuthKind::Kerberos: out.type = nfa_code::kAuthKerberos; break;
    case model::AuthKind::Certificate:
      out.type = nfa_code::kAuthCertificate;
      text = method.ca_name;
      break;
    case model::AuthKind::PresharedKey:
      out.type = nfa_code::kAuthPresharedKey;
      text = std::string(method.preshared_key.reveal());
      break;
  }
  auto wide = to_windows_text(text);
  std::fill(text.begin(), text.end(), '\0');  // a preshared key: leave no copy behind
  if (!wide) return unexpected(MappingError{dn, std::string(attr::kData), {}, "an authentication method's text is not valid UTF-8"});
  for (const char16_t unit : *wide) {
    out.data.push_back(static_cast<std::byte>(unit & 0xFF));
    out.data.push_back(static_cast<std::byte>(unit >> 8));
  }
  std::fill(wide->begin(), wide->end(), u'\0');
  return out;
}

Expected<AdObject, MappingError> nfa_object(const model::Policy& policy, const model::Rule& rule, std::string_view domain_dn) {
  AdObject out = object(AdClass::Nfa, rule.id, domain_dn);
  out.ipsec_name = rule.name;
  out.description = rule.description;
  out.owners_references = {ipsec_dn(AdClass::Policy, policy.id, domain_dn)};
  if (rule.filter_list) out.filter_references = {ipsec_dn(AdClass::Filter, *rule.filter_list, domain_dn)};
  out.negotiation_policy_reference = ipsec_dn(AdClass::NegotiationPolicy, rule.filter_action, domain_dn);
  NfaBlob blob;
  for (const auto& method : rule.auth_methods) {
    auto windows = auth_method(method, out.dn);
    if (!windows) return unexpected(windows.error());
    blob.auth_methods.push_back(std::move(*windows));
  }
  switch (rule.connection_type) {
    case model::ConnectionType::All: blob.interface_type = nfa_code::kInterfaceAll; break;
    case model::ConnectionType::Lan: blob.interface_type = nfa_code::kInterfaceLan; break;
    case model::ConnectionType::RemoteAccess: blob.interface_type = nfa_code::kInterfaceRemoteAccess; break;
  }
  if (rule.tunnel_endpoint) {
    blob.is_tunnel = 1;
    const auto& bytes = rule.tunnel_endpoint->bytes();
    if (rule.tunnel_endpoint->family() == model::IpFamily::V4) {
      blob.tunnel_address = {bytes[0], bytes[1], bytes[2], bytes[3]};
    } else {
      blob.ipv6_tunnel_address = bytes;
    }
  }
  blob.is_active = rule.active ? 1 : 0;
  out.ipsec_data = encode_nfa_blob(blob);
  return out;
}

AdObject negotiation_object(const model::Policy& policy, const model::FilterAction& action, std::string_view domain_dn) {
  AdObject out = object(AdClass::NegotiationPolicy, action.id, domain_dn);
  out.ipsec_name = action.name;
  out.description = action.description;
  std::size_t default_response_users = 0;
  for (const auto& rule : policy.rules) {
    if (rule.filter_action != action.id) continue;
    out.owners_references.push_back(ipsec_dn(AdClass::Nfa, rule.id, domain_dn));
    if (rule.default_response) ++default_response_users;
  }
  // The default response type only for an action that nothing but default response rules use.
  const bool default_response = !out.owners_references.empty() && default_response_users == out.owners_references.size();
  out.negotiation_policy_type =
      (default_response ? negotiation_type::kDefaultResponse : negotiation_type::kStandard).to_string();
  switch (action.kind) {
    case model::ActionKind::Permit: out.negotiation_policy_action = negotiation_action::kPermit.to_string(); break;
    case model::ActionKind::Block: out.negotiation_policy_action = negotiation_action::kBlock.to_string(); break;
    case model::ActionKind::Negotiate:
      out.negotiation_policy_action =
          (action.accept_unsecured ? negotiation_action::kInboundPassThrough : negotiation_action::kSecure).to_string();
      break;
  }
  NegotiationBlob blob;
  bool complete = true;
  if (action.kind == model::ActionKind::Negotiate) {
    for (const auto& method : action.security_methods) {
      if (auto offer = windows_offer(method, action.quick_mode_pfs)) {
        blob.offers.push_back(*offer);
      } else {
        complete = false;
      }
    }
    if (action.fallback_to_unsecured) blob.offers.push_back(NegotiationOffer{});
  }
  if (!complete) blob.trailer = encode_ward_trailer(WardExtension{{}, action.security_methods, action.quick_mode_pfs, {}});
  out.ipsec_data = encode_negotiation_blob(blob);
  return out;
}

Expected<AdObject, MappingError> filter_object(const model::Policy& policy, const model::FilterList& list,
                                               std::string_view domain_dn) {
  AdObject out = object(AdClass::Filter, list.id, domain_dn);
  out.ipsec_name = list.name;
  out.description = list.description;
  for (const auto& rule : policy.rules) {
    if (rule.filter_list == list.id) out.owners_references.push_back(ipsec_dn(AdClass::Nfa, rule.id, domain_dn));
  }
  auto blob = filter_blob_of(list);
  if (!blob) return unexpected(MappingError{out.dn, std::string(attr::kData), {}, blob.error()});
  out.ipsec_data = encode_filter_blob(*blob);
  return out;
}

template <class T>
bool used_by_a_rule(const model::Policy& policy, const T& item) {
  return std::any_of(policy.rules.begin(), policy.rules.end(), [&](const model::Rule& rule) {
    if constexpr (std::is_same_v<T, model::FilterList>) {
      return rule.filter_list == item.id;
    } else {
      return rule.filter_action == item.id;
    }
  });
}

}  // namespace

Expected<std::vector<AdObject>, MappingError> policy_to_ad(const model::Policy& policy, std::string_view domain_dn) {
  std::vector<AdObject> out;
  out.push_back(policy_object(policy, domain_dn));
  out.push_back(isakmp_object(policy, domain_dn));
  for (const auto& rule : policy.rules) {
    auto nfa = nfa_object(policy, rule, domain_dn);
    if (!nfa) return unexpected(nfa.error());
    out.push_back(std::move(*nfa));
  }
  for (const auto& action : policy.filter_actions) {
    if (used_by_a_rule(policy, action)) out.push_back(negotiation_object(policy, action, domain_dn));
  }
  for (const auto& list : policy.filter_lists) {
    if (!used_by_a_rule(policy, list)) continue;
    auto filter = filter_object(policy, list, domain_dn);
    if (!filter) return unexpected(filter.error());
    out.push_back(std::move(*filter));
  }
  return out;
}

}  // namespace ward::adblob
