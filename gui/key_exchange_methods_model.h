// The key exchange (main mode) security methods, in order of preference.
#pragma once

#include "directory/model/policy.h"
#include "gui/vector_table_model.h"

namespace ward::gui {

class KeyExchangeMethodsModel final : public VectorTableModel<model::KeyExchangeMethod> {
 public:
  enum Column { kCipher, kIntegrity, kDhGroup };
  using VectorTableModel::VectorTableModel;

 protected:
  QStringList headers() const override;
  QString text(const model::KeyExchangeMethod& method, int column) const override;
};

}  // namespace ward::gui
