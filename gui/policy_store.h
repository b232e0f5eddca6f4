// PolicyStore: where the editor's policies live. JsonFolderStore implements it now; the directory
// (LDAP) layer implements it later, filling in each policy's assignment (the GPOs linking it).
#pragma once

#include <optional>
#include <vector>

#include <QString>

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
class PolicyStore {
 public:
  virtual ~PolicyStore() = default;

  virtual QString location() const = 0;  // for the status bar: "JSON folder /srv/policies"
  virtual Expected<std::vector<PolicySummary>, StoreError> list() = 0;
  virtual Expected<model::Policy, StoreError> load(const model::Guid& id) = 0;
  virtual std::optional<StoreError> save(const model::Policy& policy) = 0;  // creates or replaces
  virtual std::optional<StoreError> remove(const model::Guid& id) = 0;
};

}  // namespace ward::gui
