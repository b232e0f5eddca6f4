#include "gui/ldap_policy_store.h"

#include <algorithm>

#include "directory/gpo/dn.h"
#include "directory/gpo/gplink.h"
#include "directory/store/gpo_admin.h"
#include "directory/store/policy_store.h"
#include "gui/display_text.h"

namespace ward::gui {

namespace {

constexpr std::uint32_t kPageSize = 500;
// CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,<GPO>: the assignment sits four levels below its GPO.
constexpr int kAssignmentDepth = 4;

StoreError from_store(const QString& what, const store::StoreError& error) {
  QString detail = qs(error.message);
  if (!error.attribute.empty()) detail = qs(error.attribute) + ": " + detail;
  return StoreError{what, qs(error.dn), detail};
}

StoreError from_ldap(const QString& what, const ldap::LdapError& error) {
  return StoreError{what, qs(error.dn.empty() ? error.uri : error.dn), qs(error.to_string())};
}

QString gpo_label(const store::PolicyAssignment& assignment) {
  return qs(assignment.gpo_display_name.empty() ? assignment.gpo_dn : assignment.gpo_display_name);
}

}  // namespace

Expected<std::unique_ptr<LdapPolicyStore>, StoreError> LdapPolicyStore::connect(const ldap::SessionOptions& options,
                                                                                 std::string domain_dn) {
  if (options.uris.empty()) return unexpected(StoreError{"cannot connect to the directory", "", "no server URI given"});
  if (domain_dn.empty()) return unexpected(StoreError{"cannot connect to the directory", "", "no domain DN given"});
  auto session = ldap::Session::connect(options);
  if (!session) {
    return unexpected(StoreError{"cannot connect to the directory", qs(session.error().uri), qs(session.error().to_string())});
  }
  return std::make_unique<LdapPolicyStore>(std::move(session).value(), std::move(domain_dn));
}

LdapPolicyStore::LdapPolicyStore(std::unique_ptr<ldap::Session> session, std::string domain_dn)
    : session_(std::move(session)), domain_dn_(std::move(domain_dn)), catalog_(domain_dn_) {}

LdapPolicyStore::~LdapPolicyStore() = default;

QString LdapPolicyStore::location() const { return "directory " + qs(session_->uri()) + " " + qs(domain_dn_); }

Expected<std::map<std::string, QStringList>, StoreError> LdapPolicyStore::read_links() {
  ldap::SearchRequest request{domain_dn_, ldap::Scope::kSubtree, "(gPLink=*)", {gpo::kGpLinkAttribute}, kPageSize};
  auto entries = session_->search(request);
  if (!entries) return unexpected(from_ldap("cannot read the GPO links", entries.error()));
  std::map<std::string, QStringList> links;
  for (const auto& entry : *entries) {
    const auto value = entry.first(gpo::kGpLinkAttribute);
    if (!value) continue;
    auto parsed = gpo::parse_gplink(*value, entry.dn);
    if (!parsed) return unexpected(StoreError{"cannot read the GPO links", qs(entry.dn), qs(parsed.error().to_string())});
    for (const auto& link : *parsed) {
      QString where = qs(entry.dn);
      if (link.disabled()) where += " (link disabled)";
      links[gpo::normalize_dn(link.gpo_dn)].append(where);
    }
  }
  return links;
}

Expected<std::vector<PolicySummary>, StoreError> LdapPolicyStore::list() {
  auto policies = catalog_.refresh(*session_);
  if (!policies) return unexpected(from_store("cannot list the directory's policies", policies.error()));
  auto links = read_links();
  if (!links) return unexpected(links.error());
  std::vector<PolicySummary> out;
  dns_.clear();
  for (const auto& entry : *policies) {
    const auto& stored = entry.summary;
    PolicySummary summary;
    summary.name = qs(stored.name);
    summary.description = qs(stored.description);
    summary.rule_count = static_cast<int>(entry.rule_count);
    if (entry.problem) summary.load_problem = qs(entry.problem->to_string());
    if (const auto id = model::Guid::parse(stored.id)) {
      summary.id = *id;
      dns_[*id] = stored.dn;
    } else {
      summary.load_problem = "ipsecID '" + qs(stored.id) + "' is not a GUID";
    }
    QStringList assignment;
    for (const auto& by : stored.assigned_by) {
      const auto where = links->find(gpo::normalize_dn(by.gpo_dn));
      const QString linked = where == links->end() ? QString("not linked") : "linked to " + where->second.join("; ");
      assignment.append(gpo_label(by) + " (" + linked + ")");
    }
    summary.assignment = assignment.join(", ");
    out.push_back(std::move(summary));
  }
  return out;
}

Expected<std::string, StoreError> LdapPolicyStore::dn_of(const model::Guid& id) {
  if (!dns_.contains(id)) {
    if (auto listed = list(); !listed) return unexpected(listed.error());
  }
  const auto found = dns_.find(id);
  if (found == dns_.end()) {
    return unexpected(StoreError{"no such policy", qs(domain_dn_), "no ipsecPolicy has the id " + qs(id.to_string())});
  }
  return found->second;
}

Expected<model::Policy, StoreError> LdapPolicyStore::load(const model::Guid& id) {
  auto dn = dn_of(id);
  if (!dn) return unexpected(dn.error());
  auto read = store::read_policy(*session_, *dn);
  if (!read) return unexpected(from_store("cannot read the policy", read.error()));
  return std::move(read->policy);
}

std::optional<StoreError> LdapPolicyStore::save(const model::Policy& policy) {
  const auto known = dns_.find(policy.id);
  if (known != dns_.end()) {
    // The policy's objects live in the domain its DN ends in.
    std::string domain = gpo::domain_dn(known->second);
    if (domain.empty()) domain = domain_dn_;
    if (auto done = store::update_policy(*session_, domain, policy); !done) {
      return from_store("cannot update the policy \"" + qs(policy.name) + "\"", done.error());
    }
    return std::nullopt;
  }
  auto dn = store::write_policy(*session_, domain_dn_, policy);
  if (!dn) return from_store("cannot add the policy \"" + qs(policy.name) + "\"", dn.error());
  dns_[policy.id] = *dn;
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::remove(const model::Guid& id) {
  auto dn = dn_of(id);
  if (!dn) return dn.error();
  if (auto done = store::delete_policy(*session_, domain_dn_, *dn, false); !done) {
    return from_store("cannot delete the policy", done.error());
  }
  dns_.erase(id);
  return std::nullopt;
}

Expected<std::vector<GpoSummary>, StoreError> LdapPolicyStore::list_gpos() {
  const std::string container = store::policies_container(domain_dn_);
  ldap::SearchRequest request{container, ldap::Scope::kSubtree,
                              "(|(objectClass=groupPolicyContainer)(&(objectClass=ipsecPolicy)(cn=IPSEC)))",
                              {"objectClass", "displayName", "ipsecOwnersReference"}, kPageSize};
  auto entries = session_->search(request);
  if (!entries) return unexpected(from_ldap("cannot list the GPOs", entries.error()));
  auto links = read_links();
  if (!links) return unexpected(links.error());
  auto policies = store::list_policies(*session_, domain_dn_);
  if (!policies) return unexpected(from_store("cannot list the directory's policies", policies.error()));
  std::map<std::string, QString> policy_names;
  for (const auto& policy : *policies) policy_names[gpo::normalize_dn(policy.dn)] = qs(policy.name);

  std::map<std::string, QString> assigned;  // normalized GPO DN -> policy name
  for (const auto& entry : *entries) {
    const auto owner = entry.first("ipsecOwnersReference");
    if (!owner) continue;
    std::string gpo = entry.dn;
    for (int i = 0; i < kAssignmentDepth; ++i) gpo = gpo::parent_dn(gpo);
    const auto name = policy_names.find(gpo::normalize_dn(*owner));
    assigned[gpo::normalize_dn(gpo)] = name == policy_names.end() ? qs(*owner) : name->second;
  }
  std::vector<GpoSummary> out;
  for (const auto& entry : *entries) {
    if (entry.values("ipsecOwnersReference")) continue;
    const auto* classes = entry.values("objectClass");
    if (!classes || std::none_of(classes->begin(), classes->end(), [](const std::string& c) {
          return QString::fromStdString(c).compare("groupPolicyContainer", Qt::CaseInsensitive) == 0;
        })) {
      continue;
    }
    GpoSummary summary{qs(entry.dn), qs(entry.first("displayName").value_or("")), {}, {}};
    const auto key = gpo::normalize_dn(entry.dn);
    if (const auto found = assigned.find(key); found != assigned.end()) summary.assigned_policy = found->second;
    if (const auto found = links->find(key); found != links->end()) summary.linked_to = found->second;
    out.push_back(std::move(summary));
  }
  std::sort(out.begin(), out.end(), [](const GpoSummary& a, const GpoSummary& b) {
    return QString::localeAwareCompare(a.name, b.name) < 0;
  });
  return out;
}

Expected<QStringList, StoreError> LdapPolicyStore::list_containers() {
  ldap::SearchRequest request{domain_dn_, ldap::Scope::kSubtree, "(|(objectClass=organizationalUnit)(objectClass=site))",
                              {"objectClass"}, kPageSize};
  auto entries = session_->search(request);
  if (!entries) return unexpected(from_ldap("cannot list the domain's OUs and sites", entries.error()));
  QStringList containers;
  for (const auto& entry : *entries) containers.append(qs(entry.dn));
  containers.sort(Qt::CaseInsensitive);
  containers.prepend(qs(domain_dn_));
  return containers;
}

Expected<QString, StoreError> LdapPolicyStore::create_gpo(const QString& display_name) {
  auto dn = store::create_gpo(*session_, domain_dn_, display_name.toStdString());
  if (!dn) return unexpected(from_store("cannot create the GPO \"" + display_name + "\"", dn.error()));
  return qs(*dn);
}

std::optional<StoreError> LdapPolicyStore::assign(const QString& gpo_dn, const model::Guid& policy) {
  auto dn = dn_of(policy);
  if (!dn) return dn.error();
  if (auto done = store::assign_policy(*session_, gpo_dn.toStdString(), *dn); !done) {
    return from_store("cannot assign the policy to the GPO", done.error());
  }
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::unassign(const QString& gpo_dn) {
  if (auto done = store::unassign_policy(*session_, gpo_dn.toStdString()); !done) {
    return from_store("cannot remove the GPO's IPsec assignment", done.error());
  }
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::link(const QString& container_dn, const QString& gpo_dn) {
  if (auto done = store::link_gpo(*session_, container_dn.toStdString(), gpo_dn.toStdString(), {}); !done) {
    return from_store("cannot link the GPO", done.error());
  }
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::unlink(const QString& container_dn, const QString& gpo_dn) {
  if (auto done = store::unlink_gpo(*session_, container_dn.toStdString(), gpo_dn.toStdString()); !done) {
    return from_store("cannot unlink the GPO", done.error());
  }
  return std::nullopt;
}

}  // namespace ward::gui
