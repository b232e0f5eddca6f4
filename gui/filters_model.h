// The filter list editor's table: one row per filter.
#pragma once

#include "directory/model/policy.h"
#include "gui/vector_table_model.h"

namespace ward::gui {

class FiltersModel final : public VectorTableModel<model::Filter> {
 public:
  enum Column { kDescription, kSource, kDestination, kProtocol, kSourcePorts, kDestinationPorts, kMirrored };
  using VectorTableModel::VectorTableModel;

 protected:
  QStringList headers() const override;
  QString text(const model::Filter& filter, int column) const override;
};

}  // namespace ward::gui
