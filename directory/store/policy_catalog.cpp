#include "directory/store/policy_catalog.h"

#include <algorithm>

#include "directory/adblob/policy_from_ad.h"
#include "directory/gpo/reader.h"
#include "directory/store/ad_entry.h"
#include "directory/store/directory_dialect.h"

namespace ward::store {

namespace {
constexpr std::uint32_t kCatalogPageSize = 500;
using adblob::AdClass;
using adblob::normalized_dn;

// Whether sequence number `a` is newer than `b`: uSNChanged compares as a number, entryCSN
// (a fixed-width timestamp first) as text.
bool newer(const std::string& a, const std::string& b) {
  const auto digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (digits(a) && digits(b) && a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

bool same(const Expected<adblob::AdObject, StoreError>& a, const Expected<adblob::AdObject, StoreError>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (a) return *a == *b;
  return a.error().to_string() == b.error().to_string();
}
}  // namespace

void PolicyCatalog::invalidate() {
  objects_.clear();
  policies_.clear();
  owned_by_.clear();
  newest_.reset();
}

Expected<std::set<std::string>, StoreError> PolicyCatalog::read_objects(ldap::Session& session,
                                                                        const std::string& sequence_attribute) {
  const std::string container = adblob::ip_security_container(domain_dn_);
  // >= rather than >: the objects of the newest sequence number seen are read again (AD's are
  // unique, OpenLDAP's CSNs nearly so), and compared, so nothing is missed either way.
  std::string filter = "(objectClass=*)";
  if (newest_) filter = "(" + sequence_attribute + ">=" + gpo::escape_filter_value(*newest_) + ")";
  auto attributes = ipsec_attribute_names();
  attributes.push_back(sequence_attribute);
  auto entries = session.search({container, ldap::Scope::kOneLevel, filter, attributes, kCatalogPageSize});
  if (!entries && entries.error().result_code == ldap::result_code::kNoSuchObject) entries = std::vector<ldap::Entry>{};
  if (!entries) return unexpected(from_ldap(entries.error(), container));
  std::set<std::string> changed;
  for (const auto& entry : *entries) {
    const std::string key = normalized_dn(entry.dn);
    Object object{from_entry(entry), entry.first(sequence_attribute).value_or("")};
    if (!object.sequence.empty() && (!newest_ || newer(object.sequence, *newest_))) newest_ = object.sequence;
    const auto known = objects_.find(key);
    if (known != objects_.end() && same(known->second.object, object.object)) continue;
    objects_.insert_or_assign(key, std::move(object));
    changed.insert(key);
  }
  last_.objects_read = entries->size();
  return changed;
}

void PolicyCatalog::index_owners() {
  owned_by_.clear();
  for (const auto& [key, object] : objects_) {
    if (!object.object) continue;
    for (const auto& owner : object.object->owners_references) owned_by_[normalized_dn(owner)].push_back(key);
  }
}

// The objects read_policy would read for `policy_dn`, from memory: the policy, what names it as
// owner (its ISAKMP object and rules), and what it and its rules reference; then policy_from_ad.
PolicyCatalog::Mapped PolicyCatalog::map_policy(const std::string& policy_dn) const {
  Mapped out;
  const std::string self = normalized_dn(policy_dn);
  const auto found = objects_.find(self);
  if (found == objects_.end() || !found->second.object || found->second.object->object_class != AdClass::Policy) {
    if (found != objects_.end() && !found->second.object) out.problem = found->second.object.error();
    else out.problem = StoreError{policy_dn, {}, "no ipsecPolicy object with this DN"};
    out.objects.insert(self);
    return out;
  }
  std::vector<adblob::AdObject> objects{*found->second.object};
  out.objects.insert(self);
  const auto add = [&](const std::string& key) -> bool {
    if (!out.objects.insert(key).second) return true;
    const auto it = objects_.find(key);
    if (it == objects_.end()) return true;  // missing: policy_from_ad names the dangling reference
    if (!it->second.object) {
      out.problem = it->second.object.error();
      return false;
    }
    objects.push_back(*it->second.object);
    return true;
  };
  if (const auto owned = owned_by_.find(self); owned != owned_by_.end()) {
    for (const auto& key : owned->second) {
      if (!add(key)) return out;
    }
  }
  const adblob::AdObject policy = objects.front();
  if (policy.isakmp_reference && !add(normalized_dn(*policy.isakmp_reference))) return out;
  for (const auto& ref : policy.nfa_references) {
    if (!add(normalized_dn(ref))) return out;
  }
  for (std::size_t i = 0; i < objects.size(); ++i) {  // grows as the rules' references are added
    if (objects[i].object_class != AdClass::Nfa) continue;
    const auto filters = objects[i].filter_references;
    const auto negotiation = objects[i].negotiation_policy_reference;
    for (const auto& ref : filters) {
      if (!add(normalized_dn(ref))) return out;
    }
    if (negotiation && !add(normalized_dn(*negotiation))) return out;
  }
  auto mapped = adblob::policy_from_ad(objects, policy_dn);
  if (!mapped) {
    out.problem = StoreError{mapped.error().dn, mapped.error().attribute, mapped.error().to_string()};
  } else {
    out.rule_count = mapped->rules.size();
  }
  return out;
}

Expected<std::vector<CatalogEntry>, StoreError> PolicyCatalog::refresh(ldap::Session& session) {
  const std::uint64_t start = session.round_trips();
  last_ = CatalogRefresh{};
  auto root = session.root_dse();
  if (!root) return unexpected(from_ldap(root.error(), "(root DSE)"));
  const DirectoryDialect dialect(*root);
  auto listed = list_policies(session, domain_dn_);
  if (!listed) return unexpected(listed.error());
  last_.full = !newest_.has_value();
  auto changed = read_objects(session, dialect.change_sequence_attribute());
  if (!changed) return unexpected(changed.error());
  index_owners();

  // What changed, and the owners of what changed (a new rule or filter names its owner).
  std::set<std::string> dirty = *changed;
  for (const auto& key : *changed) {
    const auto& object = objects_.at(key).object;
    if (!object) continue;
    for (const auto& owner : object->owners_references) dirty.insert(normalized_dn(owner));
  }
  std::vector<CatalogEntry> out;
  std::map<std::string, Mapped> kept;
  for (auto& summary : *listed) {
    const std::string key = normalized_dn(summary.dn);
    auto previous = policies_.find(key);
    const bool remap = last_.full || previous == policies_.end() ||
                       std::any_of(previous->second.objects.begin(), previous->second.objects.end(),
                                   [&](const std::string& dn) { return dirty.contains(dn); });
    Mapped mapped = remap ? map_policy(summary.dn) : std::move(previous->second);
    if (remap) ++last_.policies_mapped;
    out.push_back({std::move(summary), mapped.rule_count, mapped.problem});
    kept.insert_or_assign(key, std::move(mapped));
  }
  policies_ = std::move(kept);
  last_.round_trips = session.round_trips() - start;
  return out;
}

}  // namespace ward::store
