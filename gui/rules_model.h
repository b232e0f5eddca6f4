// The policy dialog's rules table: active (a checkbox), name, filter list, filter action,
// authentication methods, tunnel. Toggling the checkbox is reported, not applied: the dialog
// applies it as an undoable change.
#pragma once

#include <functional>

#include "directory/model/policy.h"
#include "gui/vector_table_model.h"

namespace ward::gui {

class RulesModel final : public VectorTableModel<model::Rule> {
 public:
  enum Column { kActive, kName, kFilterList, kFilterAction, kAuthentication, kTunnel };
  using VectorTableModel::VectorTableModel;

  void set_policy(const model::Policy& policy);  // names of lists and actions come from it
  void on_active_toggled(std::function<void(int row, bool active)> handler) { toggled_ = std::move(handler); }

  QVariant data(const QModelIndex& index, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;

 protected:
  QStringList headers() const override;
  QString text(const model::Rule& rule, int column) const override;

 private:
  model::Policy policy_;
  std::function<void(int, bool)> toggled_;
};

}  // namespace ward::gui
