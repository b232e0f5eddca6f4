#include "directory/adblob/object_merge.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "directory/adblob/filter_blob.h"
#include "directory/adblob/isakmp_blob.h"
#include "directory/adblob/negotiation_blob.h"
#include "directory/adblob/nfa_blob.h"
#include "directory/adblob/policy_blob.h"
#include "directory/adblob/policy_from_ad.h"
#include "directory/adblob/policy_to_ad.h"

namespace ward::adblob {

namespace {

// The fields of each codec struct, in declaration order. A field left out here would keep its
// stored value through every edit; policy_store checks that the merged objects read back as the
// edited model, so such a slip shows as a fallback, not as a silently wrong policy.
template <class T>
struct Fields;

#define WARD_FIELDS(Type, ...)                                   \
  template <>                                                    \
  struct Fields<Type> {                                          \
    template <class B>                                           \
    static auto of(B& b) {                                       \
      return std::tie(__VA_ARGS__);                              \
    }                                                            \
  }

WARD_FIELDS(PolicyBlob, b.polling_interval_seconds, b.data_length_as_found, b.trailer);
WARD_FIELDS(IsakmpSecurityMethod, b.major_version, b.minor_version, b.zero3, b.encryption_algorithm,
            b.encryption_algorithm_high, b.zero4, b.hash_algorithm, b.hash_algorithm_high, b.zero5, b.zero6,
            b.random_function, b.zero7, b.oakley_group, b.quick_mode_limit, b.lifetime_kilobytes, b.lifetime_seconds,
            b.pfs_identity_required);
WARD_FIELDS(IsakmpBlob, b.instance, b.zero1, b.master_pfs_required, b.isakmp_options, b.new_dh, b.quick_mode_limit,
            b.main_mode_lifetime_seconds, b.zero2, b.methods, b.data_length_as_found, b.trailer);
WARD_FIELDS(NfaAuthMethod, b.type, b.data);
WARD_FIELDS(NfaAltAuthFlags, b.zero1, b.flags);
WARD_FIELDS(NfaBlob, b.auth_methods, b.interface_type, b.interface_name, b.tunnel_address, b.is_tunnel, b.is_active,
            b.tunnel_end_point_name, b.pad_before_tail, b.alt_auth_methods, b.alt_auth_flags, b.ipv6_tunnel_address,
            b.data_length_as_found, b.trailer);
WARD_FIELDS(NegotiationAlgorithm, b.algorithm, b.integrity, b.offer_type, b.zero1_low, b.zero1_high);
WARD_FIELDS(NegotiationOffer, b.lifetime_seconds, b.lifetime_kilobytes, b.negotiation_options, b.pfs_qm_required,
            b.algorithm_count, b.algorithms);
WARD_FIELDS(NegotiationBlob, b.offers, b.data_length_as_found, b.trailer);
WARD_FIELDS(LegacyFilterSpec, b.source_dns_name, b.destination_dns_name, b.description, b.id, b.mirrored,
            b.source_address, b.source_mask, b.destination_address, b.destination_mask, b.tunnel_address, b.protocol,
            b.source_port, b.destination_port, b.is_tunnel, b.special_filter, b.filter_options);
WARD_FIELDS(FilterAddressBlock, b.type, b.version, b.address, b.secondary);
WARD_FIELDS(FilterPortBlock, b.type, b.port, b.range_end);
WARD_FIELDS(FilterSpecV2, b.source_dns_name, b.destination_dns_name, b.description, b.id, b.mirror_flags, b.source,
            b.destination, b.source_port, b.destination_port, b.protocol, b.flags);
WARD_FIELDS(FilterPartV2, b.legacy_count_override, b.filters, b.data_length_as_found);
WARD_FIELDS(FilterBlob, b.legacy_filters, b.pad_before_v2, b.v2, b.data_length_as_found, b.trailer);

#undef WARD_FIELDS

template <class T>
concept HasFields = requires(T& t) { Fields<T>::of(t); };

// Containers whose elements merge one by one (records, fixed arrays of records or of arrays).
template <class T>
struct IsRecordVector : std::false_type {};
template <class T, class A>
struct IsRecordVector<std::vector<T, A>> : std::bool_constant<HasFields<T>> {};

template <class T>
struct IsNestedArray : std::false_type {};
template <class T, std::size_t N>
struct IsNestedArray<std::array<T, N>> : std::bool_constant<HasFields<T>> {};
template <class T, std::size_t N, std::size_t M>
struct IsNestedArray<std::array<std::array<T, M>, N>> : std::true_type {};

template <class T>
struct IsOptionalRecord : std::false_type {};
template <class T>
struct IsOptionalRecord<std::optional<T>> : std::bool_constant<HasFields<T>> {};

template <class T>
void merge_value(T& stored, const T& base, const T& edited);

template <class T>
void merge_fields(T& stored, const T& base, const T& edited) {
  auto s = Fields<T>::of(stored);
  auto b = Fields<T>::of(base);
  auto e = Fields<T>::of(edited);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (merge_value(std::get<I>(s), std::get<I>(b), std::get<I>(e)), ...);
  }(std::make_index_sequence<std::tuple_size_v<decltype(s)>>{});
}

template <class T>
void merge_value(T& stored, const T& base, const T& edited) {
  if (base == edited) return;  // the edit did not touch it: keep what the directory holds
  if constexpr (HasFields<T>) {
    merge_fields(stored, base, edited);
  } else if constexpr (IsRecordVector<T>::value) {
    // Records of the same count: merge each; a count the edit changed takes the edited list.
    if (stored.size() == base.size() && base.size() == edited.size()) {
      for (std::size_t i = 0; i < stored.size(); ++i) merge_value(stored[i], base[i], edited[i]);
    } else {
      stored = edited;
    }
  } else if constexpr (IsNestedArray<T>::value) {
    for (std::size_t i = 0; i < stored.size(); ++i) merge_value(stored[i], base[i], edited[i]);
  } else if constexpr (IsOptionalRecord<T>::value) {
    if (stored && base && edited) {
      merge_value(*stored, *base, *edited);
    } else {
      stored = edited;
    }
  } else {
    stored = edited;  // a leaf (number, GUID, string, raw bytes, fixed byte array)
  }
}

// A Data-Length kept from an unusual stored blob is only right while the layout keeps its size.
template <class Blob>
void drop_stale_length(Blob& merged, const Blob& stored, const Blob& edited) {
  if (merged.data_length_as_found && merged.data_length_as_found == stored.data_length_as_found &&
      !(merged == stored)) {
    merged.data_length_as_found = edited.data_length_as_found;
  }
}

std::string normalized(const std::string& dn) { return normalized_dn(dn); }

// Multi-valued DNs as sets: stored, less what the edit removed, plus what it added.
std::vector<std::string> merge_dn_set(const std::vector<std::string>& stored, const std::vector<std::string>& base,
                                      const std::vector<std::string>& edited) {
  std::vector<std::string> base_sequence;
  std::vector<std::string> edited_sequence;
  for (const auto& dn : base) base_sequence.push_back(normalized(dn));
  for (const auto& dn : edited) edited_sequence.push_back(normalized(dn));
  if (base_sequence == edited_sequence) return stored;
  const std::set<std::string> in_base(base_sequence.begin(), base_sequence.end());
  const std::set<std::string> in_edited(edited_sequence.begin(), edited_sequence.end());
  std::vector<std::string> out;
  std::set<std::string> present;
  for (const auto& dn : stored) {
    const auto key = normalized(dn);
    if (in_base.contains(key) && !in_edited.contains(key)) continue;  // the edit removed it
    if (present.insert(key).second) out.push_back(dn);
  }
  for (const auto& dn : edited) {
    const auto key = normalized(dn);
    if (!in_base.contains(key) && present.insert(key).second) out.push_back(dn);
  }
  // Only this edit's values left (no one else's): keep its order too (rules are ordered).
  if (present == in_edited) return edited;
  return out;
}

template <class Blob, class Decode, class Encode>
std::vector<std::byte> merge_with_length(std::span<const std::byte> stored, std::span<const std::byte> base,
                                         std::span<const std::byte> edited, Decode decode, Encode encode) {
  auto s = decode(stored);
  auto b = decode(base);
  auto e = decode(edited);
  if (!s || !b || !e) return std::vector<std::byte>(edited.begin(), edited.end());
  Blob merged = *s;
  merge_value(merged, *b, *e);
  drop_stale_length(merged, *s, *e);
  if constexpr (std::is_same_v<Blob, FilterBlob>) {
    if (merged.v2 && s->v2 && e->v2) drop_stale_length(*merged.v2, *s->v2, *e->v2);
  }
  return encode(merged);
}

}  // namespace

std::vector<std::byte> merge_blob(AdClass object_class, std::span<const std::byte> stored, std::span<const std::byte> base,
                                  std::span<const std::byte> edited) {
  if (std::equal(base.begin(), base.end(), edited.begin(), edited.end())) {
    return std::vector<std::byte>(stored.begin(), stored.end());
  }
  switch (object_class) {
    case AdClass::Policy:
      return merge_with_length<PolicyBlob>(stored, base, edited, decode_policy_blob, encode_policy_blob);
    case AdClass::IsakmpPolicy:
      return merge_with_length<IsakmpBlob>(stored, base, edited, decode_isakmp_blob, encode_isakmp_blob);
    case AdClass::Nfa:
      return merge_with_length<NfaBlob>(
          stored, base, edited, [](std::span<const std::byte> d) { return decode_nfa_blob(d); }, encode_nfa_blob);
    case AdClass::NegotiationPolicy:
      return merge_with_length<NegotiationBlob>(stored, base, edited, decode_negotiation_blob, encode_negotiation_blob);
    case AdClass::Filter:
      return merge_with_length<FilterBlob>(stored, base, edited, decode_filter_blob, encode_filter_blob);
  }
  return std::vector<std::byte>(edited.begin(), edited.end());
}

AdObject merge_object(const AdObject& stored, const AdObject& base, const AdObject& edited) {
  AdObject out = stored;
  merge_value(out.ipsec_name, base.ipsec_name, edited.ipsec_name);
  merge_value(out.description, base.description, edited.description);
  merge_value(out.ipsec_id, base.ipsec_id, edited.ipsec_id);
  merge_value(out.ipsec_data_type, base.ipsec_data_type, edited.ipsec_data_type);
  merge_value(out.isakmp_reference, base.isakmp_reference, edited.isakmp_reference);
  merge_value(out.negotiation_policy_reference, base.negotiation_policy_reference, edited.negotiation_policy_reference);
  merge_value(out.negotiation_policy_type, base.negotiation_policy_type, edited.negotiation_policy_type);
  merge_value(out.negotiation_policy_action, base.negotiation_policy_action, edited.negotiation_policy_action);
  out.nfa_references = merge_dn_set(stored.nfa_references, base.nfa_references, edited.nfa_references);
  out.filter_references = merge_dn_set(stored.filter_references, base.filter_references, edited.filter_references);
  out.owners_references = merge_dn_set(stored.owners_references, base.owners_references, edited.owners_references);
  out.ipsec_data = merge_blob(stored.object_class, stored.ipsec_data, base.ipsec_data, edited.ipsec_data);
  return out;
}

Expected<MergedPolicy, MappingError> merge_policy(std::span<const AdObject> stored, const model::Policy& read,
                                                  const model::Policy& edited, std::string_view domain_dn) {
  auto base = policy_to_ad(read, domain_dn);
  if (!base) return unexpected(base.error());
  auto ours = policy_to_ad(edited, domain_dn);
  if (!ours) return unexpected(ours.error());
  std::map<std::string, const AdObject*> stored_by_dn;
  std::map<std::string, const AdObject*> base_by_dn;
  for (const auto& object : stored) stored_by_dn.emplace(normalized_dn(object.dn), &object);
  for (const auto& object : *base) base_by_dn.emplace(normalized_dn(object.dn), &object);

  MergedPolicy out;
  for (const auto& object : *ours) {
    const auto key = normalized_dn(object.dn);
    const auto old = stored_by_dn.find(key);
    const auto was = base_by_dn.find(key);
    if (old == stored_by_dn.end() || old->second->object_class != object.object_class) {
      out.objects.push_back(object);  // new: as Ward writes it
    } else if (was == base_by_dn.end()) {
      // Stored but not Ward's form of the policy as read (cannot happen for objects the policy
      // references): no base to merge against, so the edited form, keeping foreign owners.
      out.objects.push_back(merge_object(*old->second, *old->second, object));
      out.objects.back().ipsec_data = object.ipsec_data;
    } else {
      out.objects.push_back(merge_object(*old->second, *was->second, object));
    }
  }

  const std::string dn = ipsec_dn(AdClass::Policy, edited.id, domain_dn);
  auto expected = policy_from_ad(*ours, dn);
  auto merged = policy_from_ad(out.objects, dn);
  if (!expected || !merged || !(*expected == *merged)) {
    // Ward's own form, still keeping the owners other policies' rules add to shared objects.
    for (auto& object : *ours) {
      const auto key = normalized_dn(object.dn);
      const auto old = stored_by_dn.find(key);
      const auto was = base_by_dn.find(key);
      if (old != stored_by_dn.end() && was != base_by_dn.end()) {
        object.owners_references = merge_dn_set(old->second->owners_references, was->second->owners_references,
                                                object.owners_references);
      }
    }
    out.objects = std::move(*ours);
    out.whole = true;
  }
  return out;
}

}  // namespace ward::adblob
