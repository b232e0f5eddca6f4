#include "directory/store/ad_entry.h"

#include <charconv>
#include <string>

#include "directory/gpo/dn.h"
#include "directory/gpo/reader.h"

namespace ward::store {

namespace attr = adblob::attr;

std::vector<std::string> ipsec_attribute_names() {
  std::vector<std::string> names;
  for (const auto name : {attr::kObjectClass, attr::kName, attr::kDescription, attr::kId, attr::kDataType, attr::kData,
                          attr::kIsakmpReference, attr::kNfaReference, attr::kFilterReference,
                          attr::kNegotiationPolicyReference, attr::kOwnersReference, attr::kNegotiationPolicyType,
                          attr::kNegotiationPolicyAction}) {
    names.emplace_back(name);
  }
  return names;
}

namespace {

std::string bytes_to_string(const std::vector<std::byte>& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const auto b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

std::vector<std::byte> string_to_bytes(const std::string& text) {
  std::vector<std::byte> out;
  out.reserve(text.size());
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

// Attribute name -> values, in the order they are written.
std::vector<ldap::Attribute> value_attributes(const adblob::AdObject& object) {
  std::vector<ldap::Attribute> out;
  const auto single = [&](std::string_view name, const std::string& value) {
    out.push_back({std::string(name), value.empty() ? std::vector<std::string>{} : std::vector<std::string>{value}});
  };
  single(attr::kName, object.ipsec_name);
  single(attr::kDescription, object.description);
  single(attr::kId, object.ipsec_id);
  single(attr::kDataType, std::to_string(object.ipsec_data_type));
  single(attr::kData, bytes_to_string(object.ipsec_data));
  single(attr::kIsakmpReference, object.isakmp_reference.value_or(""));
  out.push_back({std::string(attr::kNfaReference), object.nfa_references});
  out.push_back({std::string(attr::kFilterReference), object.filter_references});
  single(attr::kNegotiationPolicyReference, object.negotiation_policy_reference.value_or(""));
  out.push_back({std::string(attr::kOwnersReference), object.owners_references});
  single(attr::kNegotiationPolicyType, object.negotiation_policy_type);
  single(attr::kNegotiationPolicyAction, object.negotiation_policy_action);
  return out;
}

}  // namespace

std::vector<ldap::Attribute> to_attributes(const adblob::AdObject& object) {
  std::vector<ldap::Attribute> out;
  out.push_back({std::string(attr::kObjectClass), {std::string(adblob::class_name(object.object_class))}});
  const auto rdns = gpo::split_dn(object.dn);
  if (rdns && !rdns->empty()) out.push_back({"cn", {gpo::rdn_value(rdns->front())}});
  for (auto& attribute : value_attributes(object)) {
    if (!attribute.values.empty()) out.push_back(std::move(attribute));
  }
  return out;
}

Expected<adblob::AdObject, StoreError> from_entry(const ldap::Entry& entry) {
  adblob::AdObject object;
  object.dn = entry.dn;
  bool found_class = false;
  if (const auto* classes = entry.values(attr::kObjectClass)) {
    for (const auto& name : *classes) {
      if (const auto known = adblob::class_from_name(name)) {
        object.object_class = *known;
        found_class = true;
      }
    }
  }
  if (!found_class) {
    return unexpected(StoreError{entry.dn, std::string(attr::kObjectClass), "not one of the five IPsec object classes"});
  }
  object.ipsec_name = entry.first(attr::kName).value_or("");
  object.description = entry.first(attr::kDescription).value_or("");
  object.ipsec_id = entry.first(attr::kId).value_or("");
  if (const auto type = entry.first(attr::kDataType)) {
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(type->data(), type->data() + type->size(), value);
    if (ec != std::errc() || end != type->data() + type->size()) {
      return unexpected(StoreError{entry.dn, std::string(attr::kDataType), "not a 32-bit decimal: '" + *type + "'"});
    }
    object.ipsec_data_type = value;
  }
  if (const auto data = entry.first(attr::kData)) object.ipsec_data = string_to_bytes(*data);
  object.isakmp_reference = entry.first(attr::kIsakmpReference);
  object.negotiation_policy_reference = entry.first(attr::kNegotiationPolicyReference);
  if (const auto* values = entry.values(attr::kNfaReference)) object.nfa_references = *values;
  if (const auto* values = entry.values(attr::kFilterReference)) object.filter_references = *values;
  if (const auto* values = entry.values(attr::kOwnersReference)) object.owners_references = *values;
  object.negotiation_policy_type = entry.first(attr::kNegotiationPolicyType).value_or("");
  object.negotiation_policy_action = entry.first(attr::kNegotiationPolicyAction).value_or("");
  return object;
}

std::vector<ldap::Modification> modifications(const adblob::AdObject& before, const adblob::AdObject& after) {
  std::vector<ldap::Modification> out;
  const auto old_values = value_attributes(before);
  const auto new_values = value_attributes(after);
  for (std::size_t i = 0; i < new_values.size(); ++i) {
    if (old_values[i].values == new_values[i].values) continue;
    if (new_values[i].values.empty()) {
      out.push_back({ldap::Modification::Op::kDelete, new_values[i].name, {}});
    } else {
      out.push_back({ldap::Modification::Op::kReplace, new_values[i].name, new_values[i].values});
    }
  }
  return out;
}

}  // namespace ward::store
