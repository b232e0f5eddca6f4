// JsonFolderStore: a folder of ward-policy/1 JSON files, one policy per file, named by its GUID.
// Files are written 0600 because a policy may hold preshared keys.
#pragma once

#include <map>

#include "gui/policy_store.h"

namespace ward::gui {

class JsonFolderStore final : public PolicyStore {
 public:
  explicit JsonFolderStore(QString folder);

  QString location() const override;
  Expected<std::vector<PolicySummary>, StoreError> list() override;
  Expected<model::Policy, StoreError> load(const model::Guid& id) override;
  std::optional<StoreError> save(const model::Policy& policy) override;
  std::optional<StoreError> remove(const model::Guid& id) override;

  // The file a new policy with this id is written to: "<folder>/<guid without braces>.json".
  QString path_for(const model::Guid& id) const;

 private:
  QString existing_path(const model::Guid& id) const;

  QString folder_;
  std::map<model::Guid, QString> paths_;  // where list() found each policy (files may be renamed)
};

}  // namespace ward::gui
