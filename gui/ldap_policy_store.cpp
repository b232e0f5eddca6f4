#include "gui/ldap_policy_store.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "directory/gpo/dn.h"
#include "directory/gpo/gplink.h"
#include "directory/gpo/reader.h"
#include "directory/store/directory_dialect.h"
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
                                                                                 std::string domain_dn,
                                                                                 std::string sysvol_path) {
  if (options.uris.empty()) return unexpected(StoreError{"cannot connect to the directory", "", "no server URI given"});
  if (domain_dn.empty()) return unexpected(StoreError{"cannot connect to the directory", "", "no domain DN given"});
  auto session = ldap::Session::connect(options);
  if (!session) {
    return unexpected(StoreError{"cannot connect to the directory", qs(session.error().uri), qs(session.error().to_string())});
  }
  SysvolAccess sysvol{std::move(sysvol_path), std::nullopt};
  if (const auto* gssapi = std::get_if<ldap::GssapiBind>(&options.bind)) {
    sysvol.kerberos = store::SmbCredentials{gssapi->keytab, gssapi->client_principal};
  }
  return std::make_unique<LdapPolicyStore>(std::move(session).value(), std::move(domain_dn), std::move(sysvol));
}

LdapPolicyStore::LdapPolicyStore(std::unique_ptr<ldap::Session> session, std::string domain_dn, SysvolAccess sysvol)
    : session_(std::move(session)), domain_dn_(std::move(domain_dn)), sysvol_access_(std::move(sysvol)),
      catalog_(domain_dn_) {}

LdapPolicyStore::~LdapPolicyStore() = default;

QString LdapPolicyStore::location() const { return "directory " + qs(session_->uri()) + " " + qs(domain_dn_); }

std::string LdapPolicyStore::sites_container() {
  auto root = session_->root_dse();
  const std::string configuration = root && !root->configuration_naming_context.empty()
                                        ? root->configuration_naming_context
                                        : "CN=Configuration," + domain_dn_;
  return "CN=Sites," + configuration;
}

Expected<std::map<std::string, std::vector<GpoLink>>, StoreError> LdapPolicyStore::read_links() {
  // The domain's subtree, and the sites (on Active Directory in the configuration naming
  // context, which a search of the domain does not enter).
  std::map<std::string, std::vector<GpoLink>> links;
  std::set<std::string> seen;
  for (const auto& base : {domain_dn_, sites_container()}) {
    ldap::SearchRequest request{base, ldap::Scope::kSubtree, "(gPLink=*)", {gpo::kGpLinkAttribute}, kPageSize};
    auto entries = session_->search(request);
    if (!entries && entries.error().result_code == ldap::result_code::kNoSuchObject) continue;
    if (!entries) return unexpected(from_ldap("cannot read the GPO links", entries.error()));
    for (const auto& entry : *entries) {
      if (!seen.insert(gpo::normalize_dn(entry.dn)).second) continue;
      const auto value = entry.first(gpo::kGpLinkAttribute);
      if (!value) continue;
      auto parsed = gpo::parse_gplink(*value, entry.dn);
      if (!parsed) return unexpected(StoreError{"cannot read the GPO links", qs(entry.dn), qs(parsed.error().to_string())});
      for (const auto& link : *parsed) {
        links[gpo::normalize_dn(link.gpo_dn)].push_back({qs(entry.dn), link.enforced(), !link.disabled()});
      }
    }
  }
  return links;
}

namespace {

// "OU=Legal,DC=example,DC=com (enforced; link disabled)"
QString link_text(const GpoLink& link) {
  QStringList notes;
  if (link.enforced) notes.append("enforced");
  if (!link.enabled) notes.append("link disabled");
  return notes.isEmpty() ? link.container_dn : link.container_dn + " (" + notes.join("; ") + ")";
}

QStringList links_text(const std::vector<GpoLink>& links) {
  QStringList out;
  for (const auto& link : links) out.append(link_text(link));
  return out;
}

}  // namespace

Expected<std::vector<PolicySummary>, StoreError> LdapPolicyStore::list() {
  const std::lock_guard lock(mutex_);
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
      const QString linked = where == links->end() ? QString("not linked") : "linked to " + links_text(where->second).join("; ");
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
  const std::lock_guard lock(mutex_);
  auto dn = dn_of(id);
  if (!dn) return unexpected(dn.error());
  auto read = store::read_policy(*session_, *dn);
  if (!read) return unexpected(from_store("cannot read the policy", read.error()));
  return std::move(read->policy);
}

std::optional<StoreError> LdapPolicyStore::save(const model::Policy& policy) {
  const std::lock_guard lock(mutex_);
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
  const std::lock_guard lock(mutex_);
  auto dn = dn_of(id);
  if (!dn) return dn.error();
  if (auto done = store::delete_policy(*session_, domain_dn_, *dn, false); !done) {
    return from_store("cannot delete the policy", done.error());
  }
  dns_.erase(id);
  return std::nullopt;
}

Expected<std::vector<GpoSummary>, StoreError> LdapPolicyStore::list_gpos() {
  const std::lock_guard lock(mutex_);
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
    GpoSummary summary{qs(entry.dn), qs(entry.first("displayName").value_or("")), {}, {}, {}};
    const auto key = gpo::normalize_dn(entry.dn);
    if (const auto found = assigned.find(key); found != assigned.end()) summary.assigned_policy = found->second;
    if (const auto found = links->find(key); found != links->end()) {
      summary.links = found->second;
      summary.linked_to = links_text(found->second);
    }
    out.push_back(std::move(summary));
  }
  std::sort(out.begin(), out.end(), [](const GpoSummary& a, const GpoSummary& b) {
    return QString::localeAwareCompare(a.name, b.name) < 0;
  });
  return out;
}

Expected<std::vector<ContainerSummary>, StoreError> LdapPolicyStore::list_containers() {
  const std::lock_guard lock(mutex_);
  using Kind = ContainerSummary::Kind;
  std::vector<ContainerSummary> out;
  std::set<std::string> seen;
  const auto add = [&](const ldap::Entry& entry, Kind kind) -> std::optional<StoreError> {
    if (!seen.insert(gpo::normalize_dn(entry.dn)).second) return std::nullopt;
    bool block = false;
    if (const auto options = entry.first(gpo::kGpOptionsAttribute)) {
      auto parsed = gpo::parse_gpoptions(*options, entry.dn);
      if (!parsed) return StoreError{"cannot read the containers", qs(entry.dn), qs(parsed.error().to_string())};
      block = *parsed;
    }
    out.push_back({qs(entry.dn), kind, block});
    return std::nullopt;
  };
  const std::vector<std::string> attributes{"objectClass", gpo::kGpOptionsAttribute};
  auto domain = session_->search({domain_dn_, ldap::Scope::kBase, "(objectClass=*)", attributes, 0});
  if (!domain) return unexpected(from_ldap("cannot read the domain", domain.error()));
  if (domain->empty()) return unexpected(StoreError{"cannot read the domain", qs(domain_dn_), "no such entry"});
  if (auto failed = add(domain->front(), Kind::kDomain)) return unexpected(*failed);
  std::vector<ContainerSummary> rest;
  auto ous = session_->search({domain_dn_, ldap::Scope::kSubtree, "(objectClass=organizationalUnit)", attributes, kPageSize});
  if (!ous) return unexpected(from_ldap("cannot list the domain's OUs", ous.error()));
  for (const auto& entry : *ous) {
    if (auto failed = add(entry, Kind::kOrganizationalUnit)) return unexpected(*failed);
  }
  auto sites = session_->search({sites_container(), ldap::Scope::kOneLevel, "(objectClass=site)", attributes, kPageSize});
  if (!sites && sites.error().result_code != ldap::result_code::kNoSuchObject) {
    return unexpected(from_ldap("cannot list the sites", sites.error()));
  }
  if (sites) {
    for (const auto& entry : *sites) {
      if (auto failed = add(entry, Kind::kSite)) return unexpected(*failed);
    }
  }
  std::sort(out.begin() + 1, out.end(), [](const ContainerSummary& a, const ContainerSummary& b) {
    if (a.kind != b.kind) return a.kind < b.kind;  // OUs, then sites
    return a.dn.compare(b.dn, Qt::CaseInsensitive) < 0;
  });
  return out;
}

Expected<store::Sysvol*, StoreError> LdapPolicyStore::sysvol(const QString& doing) {
  if (sysvol_) return sysvol_.get();
  auto root = session_->root_dse();
  if (!root) return unexpected(from_ldap(doing, root.error()));
  const store::DirectoryDialect dialect(*root);
  if (!dialect.gpos_have_sysvol()) return nullptr;
  if (!sysvol_access_.local_path.empty()) {
    sysvol_ = store::local_sysvol(sysvol_access_.local_path);
    return sysvol_.get();
  }
  if (!sysvol_access_.kerberos) {
    return unexpected(StoreError{doing, qs(dialect.sysvol_host()),
                                 "Active Directory keeps half of every GPO on SYSVOL, which the editor reaches over SMB "
                                 "with Kerberos: connect with Kerberos (your ticket after kinit, or a keytab), or give the "
                                 "SysVol folder (on the DC, or where the share is mounted) in the Connect dialog"});
  }
  auto smb = store::smb_sysvol(dialect.sysvol_host(), *sysvol_access_.kerberos);
  if (!smb) return unexpected(from_store(doing, smb.error()));
  sysvol_ = std::move(*smb);
  return sysvol_.get();
}

Expected<QString, StoreError> LdapPolicyStore::create_gpo(const QString& display_name) {
  const std::lock_guard lock(mutex_);
  const QString doing = "cannot create the GPO \"" + display_name + "\"";
  auto files = sysvol(doing);
  if (!files) return unexpected(files.error());
  auto dn = store::create_gpo(*session_, domain_dn_, display_name.toStdString(), *files);
  if (!dn) return unexpected(from_store(doing, dn.error()));
  return qs(*dn);
}

std::optional<StoreError> LdapPolicyStore::assign(const QString& gpo_dn, const model::Guid& policy) {
  const std::lock_guard lock(mutex_);
  auto dn = dn_of(policy);
  if (!dn) return dn.error();
  auto files = sysvol("cannot assign the policy to the GPO");
  if (!files) return files.error();
  if (auto done = store::assign_policy(*session_, gpo_dn.toStdString(), *dn, *files); !done) {
    return from_store("cannot assign the policy to the GPO", done.error());
  }
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::unassign(const QString& gpo_dn) {
  const std::lock_guard lock(mutex_);
  auto files = sysvol("cannot remove the GPO's IPsec assignment");
  if (!files) return files.error();
  if (auto done = store::unassign_policy(*session_, gpo_dn.toStdString(), *files); !done) {
    return from_store("cannot remove the GPO's IPsec assignment", done.error());
  }
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::link(const QString& container_dn, const QString& gpo_dn) {
  const std::lock_guard lock(mutex_);
  if (auto done = store::link_gpo(*session_, container_dn.toStdString(), gpo_dn.toStdString(), {}); !done) {
    return from_store("cannot link the GPO", done.error());
  }
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::unlink(const QString& container_dn, const QString& gpo_dn) {
  const std::lock_guard lock(mutex_);
  if (auto done = store::unlink_gpo(*session_, container_dn.toStdString(), gpo_dn.toStdString()); !done) {
    return from_store("cannot unlink the GPO", done.error());
  }
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::set_link_options(const GpoLink& link, const QString& gpo_dn) {
  const std::lock_guard lock(mutex_);
  if (auto done = store::link_gpo(*session_, link.container_dn.toStdString(), gpo_dn.toStdString(),
                                  store::LinkOptions{link.enforced, !link.enabled});
      !done) {
    return from_store("cannot change the GPO link", done.error());
  }
  return std::nullopt;
}

std::optional<StoreError> LdapPolicyStore::set_block_inheritance(const QString& container_dn, bool block) {
  const std::lock_guard lock(mutex_);
  if (auto done = store::set_block_inheritance(*session_, container_dn.toStdString(), block); !done) {
    return from_store(block ? "cannot block inheritance" : "cannot unblock inheritance", done.error());
  }
  return std::nullopt;
}

Expected<std::vector<DirectoryNode>, StoreError> LdapPolicyStore::list_tree() {
  const std::lock_guard lock(mutex_);
  using Kind = DirectoryNode::Kind;
  ldap::SearchRequest request{domain_dn_, ldap::Scope::kSubtree, "(|(objectClass=organizationalUnit)(objectClass=computer))",
                              {"objectClass", "sAMAccountName", "dNSHostName"}, kPageSize};
  auto entries = session_->search(request);
  if (!entries) return unexpected(from_ldap("cannot list the domain's OUs and computers", entries.error()));
  std::vector<DirectoryNode> out;
  std::set<std::string> known{gpo::normalize_dn(domain_dn_)};
  const auto name_of = [](const std::string& dn) {
    const auto rdns = gpo::split_dn(dn);
    return rdns && !rdns->empty() ? qs(gpo::rdn_value(rdns->front())) : qs(dn);
  };
  out.push_back({qs(domain_dn_), {}, qs(domain_dn_), Kind::kDomain, {}, {}});
  for (const auto& entry : *entries) {
    const auto* classes = entry.values("objectClass");
    const bool computer = classes && std::any_of(classes->begin(), classes->end(), [](const std::string& c) {
                            return QString::fromStdString(c).compare("computer", Qt::CaseInsensitive) == 0;
                          });
    DirectoryNode node{qs(entry.dn), qs(gpo::parent_dn(entry.dn)), name_of(entry.dn),
                       computer ? Kind::kComputer : Kind::kOrganizationalUnit,
                       qs(entry.first("sAMAccountName").value_or("")), qs(entry.first("dNSHostName").value_or(""))};
    known.insert(gpo::normalize_dn(entry.dn));
    out.push_back(std::move(node));
  }
  // Computers in plain containers (CN=Computers): the containers, so that the tree holds them.
  std::vector<DirectoryNode> containers;
  for (const auto& node : out) {
    for (std::string dn = node.parent_dn.toStdString(); !dn.empty() && !known.contains(gpo::normalize_dn(dn));
         dn = gpo::parent_dn(dn)) {
      known.insert(gpo::normalize_dn(dn));
      containers.push_back({qs(dn), qs(gpo::parent_dn(dn)), name_of(dn), Kind::kContainer, {}, {}});
    }
  }
  out.insert(out.end(), containers.begin(), containers.end());
  return out;
}

namespace {

// The addresses a computer's DNS name resolves to (the editor does not run on that computer).
std::vector<IpAddress> resolve_host(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::vector<IpAddress> out;
  if (::getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0) return out;
  for (const addrinfo* at = found; at != nullptr; at = at->ai_next) {
    char text[NI_MAXHOST];
    if (::getnameinfo(at->ai_addr, at->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) continue;
    if (auto address = IpAddress::parse(text); address && std::find(out.begin(), out.end(), *address) == out.end()) {
      out.push_back(*address);
    }
  }
  ::freeaddrinfo(found);
  return out;
}

}  // namespace

Expected<ComputerResults, StoreError> LdapPolicyStore::policy_results(const ResultsRequest& request) {
  const std::lock_guard lock(mutex_);
  gpo::ResultsQuery query;
  query.domain_dn = domain_dn_;
  query.computer_dn = request.computer_dn.toStdString();
  if (!request.placement_dn.isEmpty()) query.placement_dn = request.placement_dn.toStdString();
  if (!request.site_dn.isEmpty()) {
    query.site_dn = request.site_dn.toStdString();
    query.site_given_as = "modelled";
  }
  if (!request.address.isEmpty()) {
    const auto address = IpAddress::parse(request.address.trimmed().toStdString());
    if (!address) {
      return unexpected(StoreError{"cannot model the computer's site", request.address, "not an IP address"});
    }
    query.addresses = {*address};
    query.addresses_from = "address " + address->to_string() + " given";
  } else {
    query.resolve = resolve_host;
  }
  auto results = gpo::read_policy_results(*session_, query);
  if (!results) {
    const auto& failed = results.error();
    QString detail = qs(failed.error.message);
    if (!failed.error.attribute.empty()) detail = qs(failed.error.attribute) + ": " + detail;
    return unexpected(StoreError{"cannot compute the policy results: " + qs(failed.step), qs(failed.error.dn), detail});
  }
  ComputerResults out{std::move(results).value(), {}};
  auto policies = store::list_policies(*session_, domain_dn_);  // names for the policy DNs
  if (!policies) return unexpected(from_store("cannot list the directory's policies", policies.error()));
  for (const auto& policy : *policies) out.policy_names[gpo::normalize_dn(policy.dn)] = qs(policy.name);
  return out;
}

}  // namespace ward::gui
