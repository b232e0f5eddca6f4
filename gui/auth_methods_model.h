// A rule's authentication methods, in order of preference. Preshared keys are never shown.
#pragma once

#include "directory/model/policy.h"
#include "gui/vector_table_model.h"

namespace ward::gui {

class AuthMethodsModel final : public VectorTableModel<model::AuthMethod> {
 public:
  enum Column { kMethod, kDetails };
  using VectorTableModel::VectorTableModel;

 protected:
  QStringList headers() const override;
  QString text(const model::AuthMethod& method, int column) const override;
};

}  // namespace ward::gui
