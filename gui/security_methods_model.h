// A filter action's security methods (quick mode), in order of preference.
#pragma once

#include "directory/model/policy.h"
#include "gui/vector_table_model.h"

namespace ward::gui {

class SecurityMethodsModel final : public VectorTableModel<model::SecurityMethod> {
 public:
  enum Column { kType, kAhIntegrity, kEspCipher, kEspIntegrity, kLifetimeKilobytes, kLifetimeSeconds };
  using VectorTableModel::VectorTableModel;

 protected:
  QStringList headers() const override;
  QString text(const model::SecurityMethod& method, int column) const override;
};

}  // namespace ward::gui
