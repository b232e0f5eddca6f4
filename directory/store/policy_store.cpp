#include "directory/store/policy_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "directory/adblob/policy_from_ad.h"
#include "directory/adblob/policy_to_ad.h"
#include "directory/gpo/dn.h"
#include "directory/gpo/reader.h"
#include "directory/adblob/object_merge.h"
#include "directory/store/ad_entry.h"

namespace ward::store {

namespace attr = adblob::attr;
using adblob::AdClass;
using adblob::AdObject;
using adblob::normalized_dn;

namespace {

// Search pages stay far below any server's size limit.
constexpr std::uint32_t kPageSize = 500;
// CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,<GPO DN>: the assignment is 4 RDNs below the GPO.
constexpr std::size_t kAssignmentDepth = 4;

std::string cn_filter_of(std::string_view dn) {
  const auto rdns = gpo::split_dn(dn);
  if (!rdns || rdns->empty()) return {};
  return "(cn=" + gpo::escape_filter_value(gpo::rdn_value(rdns->front())) + ")";
}

Expected<std::vector<AdObject>, StoreError> search_objects(ldap::Session& session, const std::string& base,
                                                           const std::string& filter) {
  ldap::SearchRequest request{base, ldap::Scope::kOneLevel, filter, ipsec_attribute_names(), kPageSize};
  auto entries = session.search(request);
  if (!entries) return unexpected(from_ldap(entries.error(), base));
  std::vector<AdObject> out;
  for (const auto& entry : *entries) {
    auto object = from_entry(entry);
    if (!object) return unexpected(object.error());
    out.push_back(std::move(*object));
  }
  return out;
}

}  // namespace

std::vector<AdObject> creation_order(std::vector<AdObject> objects) {
  const auto rank = [](AdClass c) {
    switch (c) {
      case AdClass::Filter: return 0;
      case AdClass::NegotiationPolicy: return 1;
      case AdClass::IsakmpPolicy: return 2;
      case AdClass::Nfa: return 3;
      case AdClass::Policy: return 4;
    }
    return 5;
  };
  std::stable_sort(objects.begin(), objects.end(),
                   [&](const AdObject& a, const AdObject& b) { return rank(a.object_class) < rank(b.object_class); });
  return objects;
}

namespace {

Expected<std::vector<AdObject>, StoreError> to_objects(const model::Policy& policy, std::string_view domain_dn) {
  auto objects = adblob::policy_to_ad(policy, domain_dn);
  if (!objects) {
    return unexpected(StoreError{objects.error().dn, objects.error().attribute, objects.error().to_string()});
  }
  return std::move(*objects);
}

}  // namespace

StoreError from_ldap(const ldap::LdapError& error, std::string_view dn, std::string_view attribute) {
  return StoreError{std::string(dn), std::string(attribute), error.to_string()};
}

std::string policies_container(std::string_view domain_dn) {
  return "CN=Policies,CN=System," + std::string(domain_dn);
}

std::string policy_dn(const model::Policy& policy, std::string_view domain_dn) {
  return adblob::ipsec_dn(AdClass::Policy, policy.id, domain_dn);
}

Expected<StoredPolicy, StoreError> read_policy(ldap::Session& session, std::string_view dn) {
  const std::string container = gpo::parent_dn(dn);
  const std::string self = cn_filter_of(dn);
  if (container.empty() || self.empty()) return unexpected(StoreError{std::string(dn), {}, "not a valid DN"});

  // 1: the policy and what it owns (ISAKMP, NFAs).
  auto first = search_objects(session, container,
                              "(|" + self + "(ipsecOwnersReference=" + gpo::escape_filter_value(dn) + "))");
  if (!first) return unexpected(first.error());
  std::map<std::string, AdObject> by_dn;
  for (auto& object : *first) by_dn.emplace(normalized_dn(object.dn), std::move(object));
  const auto policy_it = by_dn.find(normalized_dn(dn));
  if (policy_it == by_dn.end() || policy_it->second.object_class != AdClass::Policy) {
    return unexpected(StoreError{std::string(dn), {}, "no ipsecPolicy object with this DN"});
  }

  // 2: everything referenced that the first search did not return.
  std::set<std::string> wanted;
  const auto want = [&](const std::string& ref) {
    if (!by_dn.contains(normalized_dn(ref))) wanted.insert(ref);
  };
  const AdObject& policy_object = policy_it->second;
  if (policy_object.isakmp_reference) want(*policy_object.isakmp_reference);
  for (const auto& ref : policy_object.nfa_references) want(ref);
  for (const auto& [key, object] : by_dn) {
    if (object.object_class != AdClass::Nfa) continue;
    for (const auto& ref : object.filter_references) want(ref);
    if (object.negotiation_policy_reference) want(*object.negotiation_policy_reference);
  }
  if (!wanted.empty()) {
    std::string filter = "(|";
    for (const auto& ref : wanted) filter += cn_filter_of(ref);
    filter += ")";
    auto second = search_objects(session, container, filter);
    if (!second) return unexpected(second.error());
    for (auto& object : *second) by_dn.emplace(normalized_dn(object.dn), std::move(object));
  }

  StoredPolicy out;
  out.objects.push_back(policy_it->second);
  for (const auto& [key, object] : by_dn) {
    if (key != policy_it->first) out.objects.push_back(object);
  }
  auto policy = adblob::policy_from_ad(out.objects, dn);
  if (!policy) {
    return unexpected(StoreError{policy.error().dn, policy.error().attribute, policy.error().to_string()});
  }
  out.policy = std::move(*policy);
  return out;
}

Expected<std::string, StoreError> write_policy(ldap::Session& session, std::string_view domain_dn,
                                               const model::Policy& policy, const WriteOptions& options) {
  auto objects = to_objects(policy, domain_dn);
  if (!objects) return unexpected(objects.error());
  if (auto written = execute(session, plan_new_policy(*objects), options); !written) return unexpected(written.error());
  return policy_dn(policy, domain_dn);
}

Expected<UpdateResult, StoreError> update_policy(ldap::Session& session, std::string_view domain_dn,
                                                 const model::Policy& policy, const WriteOptions& options) {
  const std::string dn = policy_dn(policy, domain_dn);
  auto stored = read_policy(session, dn);
  if (!stored) return unexpected(stored.error());
  auto merged = adblob::merge_policy(stored->objects, stored->policy, policy, domain_dn);
  if (!merged) return unexpected(StoreError{merged.error().dn, merged.error().attribute, merged.error().to_string()});
  const auto plan = plan_update(stored->objects, merged->objects);
  if (auto written = execute(session, plan, options); !written) return unexpected(written.error());
  return UpdateResult{plan.steps.size(), merged->whole};
}

Expected<std::vector<PolicyAssignment>, StoreError> find_assignments(ldap::Session& session,
                                                                     std::string_view domain_dn,
                                                                     std::string_view dn) {
  const std::string base = policies_container(domain_dn);
  ldap::SearchRequest request{base, ldap::Scope::kSubtree,
                              "(|(objectClass=groupPolicyContainer)(&(objectClass=ipsecPolicy)(cn=IPSEC)"
                              "(ipsecOwnersReference=" + gpo::escape_filter_value(dn) + ")))",
                              {"objectClass", "displayName", std::string(attr::kOwnersReference)}, kPageSize};
  auto entries = session.search(request);
  if (!entries && entries.error().result_code == ldap::result_code::kNoSuchObject) return std::vector<PolicyAssignment>{};
  if (!entries) return unexpected(from_ldap(entries.error(), base));
  std::map<std::string, std::string> names;
  for (const auto& entry : *entries) {
    if (!entry.values(attr::kOwnersReference)) names[normalized_dn(entry.dn)] = entry.first("displayName").value_or("");
  }
  std::vector<PolicyAssignment> out;
  for (const auto& entry : *entries) {
    if (!entry.values(attr::kOwnersReference)) continue;
    std::string gpo = entry.dn;
    for (std::size_t i = 0; i < kAssignmentDepth; ++i) gpo = gpo::parent_dn(gpo);
    const auto name = names.find(normalized_dn(gpo));
    out.push_back({entry.dn, gpo, name == names.end() ? std::string() : name->second});
  }
  return out;
}

Expected<void, StoreError> delete_policy(ldap::Session& session, std::string_view domain_dn, std::string_view dn,
                                         bool force) {
  auto stored = read_policy(session, dn);
  if (!stored) return unexpected(stored.error());
  auto assignments = find_assignments(session, domain_dn, dn);
  if (!assignments) return unexpected(assignments.error());
  if (!assignments->empty() && !force) {
    const auto& first = assignments->front();
    return unexpected(StoreError{first.assignment_dn, std::string(attr::kOwnersReference),
                                 "GPO '" + first.gpo_display_name + "' (" + first.gpo_dn + ") still assigns policy '" +
                                     std::string(dn) + "' (" + std::to_string(assignments->size()) +
                                     " assignment(s)); unassign it or force the deletion"});
  }
  // The assignments first, then the policy's objects (plan_delete: the policy object, NFAs,
  // ISAKMP, actions, filters; shared ones only lose this policy's owners).
  WritePlan plan;
  for (const auto& assignment : *assignments) {
    plan.steps.push_back({WriteStep::Kind::kDelete, assignment.assignment_dn, {}, {}, {}});
  }
  for (auto& step : plan_delete(stored->objects).steps) plan.steps.push_back(std::move(step));
  return execute(session, plan);
}

Expected<std::vector<PolicySummary>, StoreError> list_policies(ldap::Session& session, std::string_view domain_dn) {
  const std::string container = adblob::ip_security_container(domain_dn);
  ldap::SearchRequest request{container, ldap::Scope::kOneLevel, "(objectClass=ipsecPolicy)",
                              {std::string(attr::kName), std::string(attr::kDescription), std::string(attr::kId)},
                              kPageSize};
  auto entries = session.search(request);
  if (!entries) return unexpected(from_ldap(entries.error(), container));

  const std::string gpos = policies_container(domain_dn);
  ldap::SearchRequest gpo_request{gpos, ldap::Scope::kSubtree,
                                  "(|(objectClass=groupPolicyContainer)(&(objectClass=ipsecPolicy)(cn=IPSEC)))",
                                  {"objectClass", "displayName", std::string(attr::kOwnersReference)}, kPageSize};
  auto gpo_entries = session.search(gpo_request);
  // No CN=Policies container: a directory without GPOs, so nothing assigns the policies.
  if (!gpo_entries && gpo_entries.error().result_code == ldap::result_code::kNoSuchObject) gpo_entries = std::vector<ldap::Entry>{};
  if (!gpo_entries) return unexpected(from_ldap(gpo_entries.error(), gpos));
  std::map<std::string, std::string> names;
  for (const auto& entry : *gpo_entries) {
    if (!entry.values(attr::kOwnersReference)) names[normalized_dn(entry.dn)] = entry.first("displayName").value_or("");
  }
  std::multimap<std::string, PolicyAssignment> by_policy;
  for (const auto& entry : *gpo_entries) {
    const auto owner = entry.first(attr::kOwnersReference);
    if (!owner) continue;
    std::string gpo = entry.dn;
    for (std::size_t i = 0; i < kAssignmentDepth; ++i) gpo = gpo::parent_dn(gpo);
    const auto name = names.find(normalized_dn(gpo));
    by_policy.emplace(normalized_dn(*owner),
                      PolicyAssignment{entry.dn, gpo, name == names.end() ? std::string() : name->second});
  }

  std::vector<PolicySummary> out;
  for (const auto& entry : *entries) {
    PolicySummary summary{entry.dn, entry.first(attr::kName).value_or(""), entry.first(attr::kDescription).value_or(""),
                          entry.first(attr::kId).value_or(""), {}};
    auto [first, last] = by_policy.equal_range(normalized_dn(entry.dn));
    for (auto it = first; it != last; ++it) summary.assigned_by.push_back(it->second);
    out.push_back(std::move(summary));
  }
  std::sort(out.begin(), out.end(), [](const PolicySummary& a, const PolicySummary& b) { return a.name < b.name; });
  return out;
}

}  // namespace ward::store
