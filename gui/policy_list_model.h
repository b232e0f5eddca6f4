// The main window's list of policies: name, description, rule count, assignment.
#pragma once

#include "gui/policy_store.h"
#include "gui/vector_table_model.h"

namespace ward::gui {

class PolicyListModel final : public VectorTableModel<PolicySummary> {
 public:
  enum Column { kName, kDescription, kRules, kAssignment };
  using VectorTableModel::VectorTableModel;
  QVariant data(const QModelIndex& index, int role) const override;

 protected:
  QStringList headers() const override;
  QString text(const PolicySummary& item, int column) const override;
};

}  // namespace ward::gui
