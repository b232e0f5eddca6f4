// PolicyStore: where the editor's policies live. JsonFolderStore keeps them in a folder;
// LdapPolicyStore in the directory, where it also fills in each policy's assignment (the GPOs that
// assign it and where those GPOs are linked) and offers Group Policy administration
// (GroupPolicyAdmin).
#pragma once

#include <optional>
#include <vector>

#include <QString>
#include <QStringList>

#include "common/expected.h"
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

// A GPO and the containers (domain, OUs, sites) whose gPLink names it.
struct GpoSummary {
  QString dn;
  QString name;            // displayName
  QString assigned_policy; // the IPsec policy's name (or DN when not found); empty: none
  QStringList linked_to;   // container DNs
};

// Same threading rules as PolicyStore: called off the UI thread, one call at a time.
class GroupPolicyAdmin {
 public:
  virtual ~GroupPolicyAdmin() = default;
  virtual Expected<std::vector<GpoSummary>, StoreError> list_gpos() = 0;
  // The containers a GPO can be linked to: the domain and its OUs (DNs, domain first).
  virtual Expected<QStringList, StoreError> list_containers() = 0;
  virtual Expected<QString, StoreError> create_gpo(const QString& display_name) = 0;  // its DN
  virtual std::optional<StoreError> assign(const QString& gpo_dn, const model::Guid& policy) = 0;
  virtual std::optional<StoreError> unassign(const QString& gpo_dn) = 0;
  virtual std::optional<StoreError> link(const QString& container_dn, const QString& gpo_dn) = 0;
  virtual std::optional<StoreError> unlink(const QString& container_dn, const QString& gpo_dn) = 0;
};

}  // namespace ward::gui
