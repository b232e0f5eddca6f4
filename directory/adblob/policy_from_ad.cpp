#include "directory/adblob/policy_from_ad.h"

#include <algorithm>
#include <map>
#include <set>

#include "directory/adblob/algorithm_map.h"
#include "directory/adblob/blob_framing.h"
#include "directory/adblob/filter_map.h"
#include "directory/adblob/negotiation_guids.h"
#include "directory/adblob/nfa_blob.h"
#include "directory/adblob/policy_blob.h"
#include "directory/adblob/utf16.h"
#include "directory/adblob/ward_extension.h"

namespace ward::adblob {

namespace {

MappingError error(const AdObject& object, std::string_view attribute, std::string message) {
  return MappingError{object.dn, std::string(attribute), {}, std::move(message)};
}

MappingError blob_error(const AdObject& object, const ParseError& parse) {
  return MappingError{object.dn, std::string(attr::kData), parse.offset,
                      parse.structure + ": " + parse.field + ": " + parse.message};
}

template <class Blob>
Expected<std::optional<WardExtension>, MappingError> extension_of(const AdObject& object, const Blob& blob) {
  auto extension = decode_ward_trailer(blob.trailer, object.ipsec_data.size() - blob.trailer.size());
  if (!extension) return unexpected(blob_error(object, extension.error()));
  return *extension;
}

class Reader {
 public:
  explicit Reader(std::span<const AdObject> objects) : objects_(objects) {}

  Expected<model::Policy, MappingError> read(std::string_view policy_dn) {
    for (const auto& object : objects_) {
      if (!by_dn_.emplace(normalized_dn(object.dn), &object).second) {
        return unexpected(error(object, "distinguishedName", "appears twice among the objects read"));
      }
    }
    const auto found = by_dn_.find(normalized_dn(policy_dn));
    if (found == by_dn_.end()) {
      return unexpected(MappingError{std::string(policy_dn), "distinguishedName", {}, "no such object among the objects read"});
    }
    const AdObject& object = *found->second;
    if (object.object_class != AdClass::Policy) {
      return unexpected(error(object, attr::kObjectClass, "is " + std::string(class_name(object.object_class)) + ", expected ipsecPolicy"));
    }
    return read_policy(object);
  }

 private:
  Expected<const AdObject*, MappingError> follow(const AdObject& from, std::string_view attribute,
                                                 const std::string& target, AdClass wanted) {
    const auto found = by_dn_.find(normalized_dn(target));
    if (found == by_dn_.end()) {
      return unexpected(error(from, attribute, "refers to " + target + ", which is not among the objects read"));
    }
    const AdObject* object = found->second;
    if (object->object_class != wanted) {
      return unexpected(error(from, attribute, "refers to " + target + ", an " + std::string(class_name(object->object_class)) +
                                                   " object, expected " + std::string(class_name(wanted))));
    }
    return object;
  }

  Expected<model::Guid, MappingError> common(const AdObject& object) {
    if (object.ipsec_data_type != kIpsecDataTypeWindows && object.ipsec_data_type != kIpsecDataTypeSpec) {
      return unexpected(error(object, attr::kDataType, "is " + std::to_string(object.ipsec_data_type) + ", expected 598 or 256"));
    }
    const auto id = model::Guid::parse(object.ipsec_id);
    if (!id) return unexpected(error(object, attr::kId, "\"" + object.ipsec_id + "\" is not a GUID"));
    return *id;
  }

  Expected<model::Policy, MappingError> read_policy(const AdObject& object) {
    model::Policy policy;
    ADBLOB_TRY(policy.id, common(object));
    policy.name = object.ipsec_name;
    policy.description = object.description;
    auto blob = decode_policy_blob(object.ipsec_data);
    if (!blob) return unexpected(blob_error(object, blob.error()));
    const std::uint32_t seconds = blob->polling_interval_seconds == 0 ? PolicyBlob::kDefaultPollingSeconds
                                                                      : blob->polling_interval_seconds;
    policy.polling_interval_minutes = std::max<std::uint32_t>(1, seconds / kSecondsPerMinute);
    std::optional<WardExtension> extension;
    ADBLOB_TRY(extension, extension_of(object, *blob));
    if (!object.isakmp_reference) return unexpected(error(object, attr::kIsakmpReference, "is missing"));
    const AdObject* isakmp = nullptr;
    ADBLOB_TRY(isakmp, follow(object, attr::kIsakmpReference, *object.isakmp_reference, AdClass::IsakmpPolicy));
    ADBLOB_TRY(policy.key_exchange, read_key_exchange(*isakmp));
    std::set<std::string> seen;
    for (const auto& reference : object.nfa_references) {
      if (!seen.insert(normalized_dn(reference)).second) {
        return unexpected(error(object, attr::kNfaReference, "lists " + reference + " twice"));
      }
      const AdObject* nfa = nullptr;
      ADBLOB_TRY(nfa, follow(object, attr::kNfaReference, reference, AdClass::Nfa));
      model::Rule rule;
      ADBLOB_TRY(rule, read_rule(*nfa, policy));
      policy.rules.push_back(std::move(rule));
    }
    policy.allow_legacy_algorithms = extension && extension->allow_legacy_algorithms
                                         ? *extension->allow_legacy_algorithms
                                         : uses_legacy_algorithms(policy);
    return policy;
  }

  Expected<model::KeyExchangeSettings, MappingError> read_key_exchange(const AdObject& object) {
    model::KeyExchangeSettings kx;
    ADBLOB_TRY(kx.id, common(object));
    auto blob = decode_isakmp_blob(object.ipsec_data);
    if (!blob) return unexpected(blob_error(object, blob.error()));
    kx.master_key_pfs = blob->master_pfs_required != 0;
    kx.quick_mode_limit = blob->quick_mode_limit;
    std::uint32_t seconds = blob->main_mode_lifetime_seconds;
    if (seconds == 0 && !blob->methods.empty()) seconds = blob->methods.front().lifetime_seconds;
    if (seconds == 0) seconds = IsakmpBlob::kDefaultLifetimeSeconds;
    kx.lifetime_minutes = seconds / kSecondsPerMinute;
    std::optional<WardExtension> extension;
    ADBLOB_TRY(extension, extension_of(object, *blob));
    if (extension && !extension->key_exchange_methods.empty()) {
      kx.methods = extension->key_exchange_methods;
      return kx;
    }
    auto first = new_dh_methods(blob->new_dh);
    if (!first) return unexpected(error(object, attr::kData, first.error()));
    kx.methods = *first;
    for (const auto& method : blob->methods) {
      auto m = model_main_mode_method(method);
      if (!m) return unexpected(error(object, attr::kData, "security method " + std::to_string(kx.methods.size()) + ": " + m.error()));
      kx.methods.push_back(*m);
    }
    return kx;
  }

  Expected<model::AuthMethod, MappingError> read_auth(const AdObject& object, const NfaAuthMethod& method) {
    if (method.data.size() % 2 != 0) return unexpected(error(object, attr::kData, "Auth-Method-Data has an odd length"));
    std::u16string wide;
    for (std::size_t i = 0; i < method.data.size(); i += 2) {
      wide.push_back(static_cast<char16_t>(std::to_integer<unsigned>(method.data[i]) |
                                           (std::to_integer<unsigned>(method.data[i + 1]) << 8)));
    }
    auto text = from_windows_text(wide);
    std::fill(wide.begin(), wide.end(), u'\0');
    if (!text) return unexpected(error(object, attr::kData, "Auth-Method-Data is not valid UTF-16 text"));
    model::AuthMethod out;
    switch (method.type) {
      case nfa_code::kAuthKerberos: out = model::AuthMethod::kerberos(); break;
      case nfa_code::kAuthCertificate: out = model::AuthMethod::certificate(*text); break;
      case nfa_code::kAuthPresharedKey: out = model::AuthMethod::preshared(*text); break;
      default: return unexpected(error(object, attr::kData, "Auth-Type " + std::to_string(method.type) + " is not 1, 3 or 5"));
    }
    std::fill(text->begin(), text->end(), '\0');
    return out;
  }

  Expected<model::Rule, MappingError> read_rule(const AdObject& object, model::Policy& policy) {
    model::Rule rule;
    ADBLOB_TRY(rule.id, common(object));
    rule.name = object.ipsec_name;
    rule.description = object.description;
    auto blob = decode_nfa_blob(object.ipsec_data);
    if (!blob) return unexpected(blob_error(object, blob.error()));
    for (const auto& method : blob->auth_methods) {
      model::AuthMethod auth;
      ADBLOB_TRY(auth, read_auth(object, method));
      rule.auth_methods.push_back(std::move(auth));
    }
    switch (blob->interface_type) {
      case nfa_code::kInterfaceAll: rule.connection_type = model::ConnectionType::All; break;
      case nfa_code::kInterfaceLan: rule.connection_type = model::ConnectionType::Lan; break;
      case nfa_code::kInterfaceRemoteAccess: rule.connection_type = model::ConnectionType::RemoteAccess; break;
      default: return unexpected(error(object, attr::kData, "Interface-Type " + std::to_string(blob->interface_type) + " is not known"));
    }
    if (blob->ipv6_tunnel_address) {
      rule.tunnel_endpoint = model::IpAddress::v6(*blob->ipv6_tunnel_address);
    } else if (blob->is_tunnel != 0) {
      const auto& a = blob->tunnel_address;
      rule.tunnel_endpoint = model::IpAddress::v4((std::uint32_t{a[0]} << 24) | (std::uint32_t{a[1]} << 16) |
                                                  (std::uint32_t{a[2]} << 8) | a[3]);
    }
    rule.active = blob->is_active != 0;
    if (object.filter_references.size() > 1) {
      return unexpected(error(object, attr::kFilterReference, "lists " + std::to_string(object.filter_references.size()) +
                                                                  " filter lists; Ward's rules have one"));
    }
    rule.default_response = object.filter_references.empty();
    if (!rule.default_response) {
      const AdObject* filter = nullptr;
      ADBLOB_TRY(filter, follow(object, attr::kFilterReference, object.filter_references.front(), AdClass::Filter));
      ADBLOB_TRY(rule.filter_list, read_filter_list(*filter, policy));
    }
    if (!object.negotiation_policy_reference) return unexpected(error(object, attr::kNegotiationPolicyReference, "is missing"));
    const AdObject* action = nullptr;
    ADBLOB_TRY(action, follow(object, attr::kNegotiationPolicyReference, *object.negotiation_policy_reference,
                              AdClass::NegotiationPolicy));
    ADBLOB_TRY(rule.filter_action, read_filter_action(*action, policy));
    return rule;
  }

  Expected<model::Guid, MappingError> read_filter_list(const AdObject& object, model::Policy& policy) {
    model::FilterList list;
    ADBLOB_TRY(list.id, common(object));
    if (!read_.insert(normalized_dn(object.dn)).second) return list.id;
    list.name = object.ipsec_name;
    list.description = object.description;
    auto blob = decode_filter_blob(object.ipsec_data);
    if (!blob) return unexpected(blob_error(object, blob.error()));
    auto filters = filters_of(*blob);
    if (!filters) return unexpected(error(object, attr::kData, filters.error()));
    list.filters = std::move(*filters);
    policy.filter_lists.push_back(std::move(list));
    return policy.filter_lists.back().id;
  }

  Expected<model::Guid, MappingError> read_filter_action(const AdObject& object, model::Policy& policy) {
    model::FilterAction action;
    ADBLOB_TRY(action.id, common(object));
    if (!read_.insert(normalized_dn(object.dn)).second) return action.id;
    action.name = object.ipsec_name;
    action.description = object.description;
    const auto kind = model::Guid::parse(object.negotiation_policy_action);
    if (kind == negotiation_action::kPermit) {
      action.kind = model::ActionKind::Permit;
    } else if (kind == negotiation_action::kBlock) {
      action.kind = model::ActionKind::Block;
    } else if (kind == negotiation_action::kSecure || kind == negotiation_action::kInboundPassThrough) {
      action.kind = model::ActionKind::Negotiate;
      action.accept_unsecured = kind == negotiation_action::kInboundPassThrough;
    } else {
      return unexpected(error(object, attr::kNegotiationPolicyAction,
                              "\"" + object.negotiation_policy_action + "\" is not a known action GUID"));
    }
    auto blob = decode_negotiation_blob(object.ipsec_data);
    if (!blob) return unexpected(blob_error(object, blob.error()));
    std::optional<WardExtension> extension;
    ADBLOB_TRY(extension, extension_of(object, *blob));
    bool pfs_known = false;
    for (std::size_t i = 0; i < blob->offers.size(); ++i) {
      const auto& offer = blob->offers[i];
      if (offer.algorithm_count == 0) {
        action.fallback_to_unsecured = action.kind == model::ActionKind::Negotiate;
        continue;
      }
      if (!pfs_known) {
        action.quick_mode_pfs = offer.pfs_qm_required != 0;
        pfs_known = true;
      }
      auto method = model_security_method(offer);
      if (!method) return unexpected(error(object, attr::kData, "security offer " + std::to_string(i) + ": " + method.error()));
      if (action.kind == model::ActionKind::Negotiate) action.security_methods.push_back(*method);
    }
    if (extension && !extension->security_methods.empty()) action.security_methods = extension->security_methods;
    if (extension && extension->quick_mode_pfs) action.quick_mode_pfs = *extension->quick_mode_pfs;
    policy.filter_actions.push_back(std::move(action));
    return policy.filter_actions.back().id;
  }

  std::span<const AdObject> objects_;
  std::map<std::string, const AdObject*> by_dn_;
  std::set<std::string> read_;  // filter lists and actions already in the policy
};

}  // namespace

Expected<model::Policy, MappingError> policy_from_ad(std::span<const AdObject> objects, std::string_view policy_dn) {
  return Reader(objects).read(policy_dn);
}

}  // namespace ward::adblob
