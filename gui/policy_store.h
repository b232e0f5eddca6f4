// PolicyStore: where the editor's policies live. JsonFolderStore keeps them in a folder;
// LdapPolicyStore in the directory, where it also fills in each policy's assignment (the GPOs that
// assign it and where those GPOs are linked) and offers Group Policy administration
// (GroupPolicyAdmin).
#pragma once

#include <map>
#include <optional>
#include <vector>

#include <QString>
#include <QStringList>

#include "common/expected.h"
#include "directory/gpo/policy_results.h"
#include "directory/model/policy.h"

namespace ward::gui {

struct PolicySummary {
  model::Guid id;
  QString name;
  QString description;
  int rule_count = 0;
  QString assignment;    // where the policy is assigned; empty where the store has no assignments
  QString load_problem;  // not empty: the stored policy cannot be read, and why
};

struct StoreError {
  QString what;    // "cannot write policy file"
  QString where;   // a path, or a DN
  QString detail;  // the reason, with its numbers

  QString to_text() const { return what + " (" + where + "): " + detail; }
};

// Calls block on disk or network. The editor makes them off the UI thread and one at a time, so an
// implementation need not be thread-safe, but must not touch widgets or assume a particular thread.
class GroupPolicyAdmin;

class PolicyStore {
 public:
  virtual ~PolicyStore() = default;

  virtual QString location() const = 0;  // for the status bar: "JSON folder /srv/policies"
  virtual Expected<std::vector<PolicySummary>, StoreError> list() = 0;
  virtual Expected<model::Policy, StoreError> load(const model::Guid& id) = 0;
  virtual std::optional<StoreError> save(const model::Policy& policy) = 0;  // creates or replaces
  virtual std::optional<StoreError> remove(const model::Guid& id) = 0;
  // Group Policy administration, where the store has it (the directory); nullptr otherwise.
  virtual GroupPolicyAdmin* group_policy() { return nullptr; }
};

// One link of a GPO: the container whose gPLink names it, with the link's options.
struct GpoLink {
  QString container_dn;
  bool enforced = false;
  bool enabled = true;
};

// A GPO and the containers (domain, OUs, sites) whose gPLink names it.
struct GpoSummary {
  QString dn;
  QString name;            // displayName
  QString assigned_policy; // the IPsec policy's name (or DN when not found); empty: none
  QStringList linked_to;   // container DNs, for display ("... (link disabled)", "... (enforced)")
  std::vector<GpoLink> links;
};

// A container a GPO can be linked to: the domain, an OU or a site.
struct ContainerSummary {
  enum class Kind { kDomain, kOrganizationalUnit, kSite };
  QString dn;
  Kind kind = Kind::kOrganizationalUnit;
  bool block_inheritance = false;  // gPOptions
};

// An entry of the directory's tree as the Policy Results window shows it.
struct DirectoryNode {
  enum class Kind { kDomain, kOrganizationalUnit, kContainer, kComputer };
  QString dn;
  QString parent_dn;  // empty for the domain
  QString name;       // the RDN's value
  Kind kind = Kind::kOrganizationalUnit;
  QString account;    // computers: sAMAccountName
  QString dns_name;   // computers: dNSHostName
};

// What the Policy Results window asks: a computer's results, or "what if" it were elsewhere.
struct ResultsRequest {
  QString computer_dn;
  QString placement_dn;  // not empty: model the computer in this container
  QString site_dn;       // not empty: model this site
  QString address;       // not empty: the site from the subnet holding this address
};

// Policy results with the names of the IPsec policies they mention.
struct ComputerResults {
  gpo::PolicyResults results;
  std::map<std::string, QString> policy_names;  // normalized policy DN -> ipsecName
};

// Same threading rules as PolicyStore: called off the UI thread, one call at a time.
class GroupPolicyAdmin {
 public:
  virtual ~GroupPolicyAdmin() = default;
  virtual Expected<std::vector<GpoSummary>, StoreError> list_gpos() = 0;
  // The containers a GPO can be linked to: the domain, its OUs and the sites (domain first).
  virtual Expected<std::vector<ContainerSummary>, StoreError> list_containers() = 0;
  virtual Expected<QString, StoreError> create_gpo(const QString& display_name) = 0;  // its DN
  virtual std::optional<StoreError> assign(const QString& gpo_dn, const model::Guid& policy) = 0;
  virtual std::optional<StoreError> unassign(const QString& gpo_dn) = 0;
  virtual std::optional<StoreError> link(const QString& container_dn, const QString& gpo_dn) = 0;
  virtual std::optional<StoreError> unlink(const QString& container_dn, const QString& gpo_dn) = 0;
  // Changes an existing link's options (Enforced; Link Enabled).
  virtual std::optional<StoreError> set_link_options(const GpoLink& link, const QString& gpo_dn) = 0;
  virtual std::optional<StoreError> set_block_inheritance(const QString& container_dn, bool block) = 0;

  // Policy results (directory/gpo/policy_results.h, the code wardd uses).
  virtual Expected<std::vector<DirectoryNode>, StoreError> list_tree() = 0;
  virtual Expected<ComputerResults, StoreError> policy_results(const ResultsRequest& request) = 0;
};

}  // namespace ward::gui
