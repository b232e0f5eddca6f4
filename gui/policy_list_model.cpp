#include "gui/policy_list_model.h"

#include <QBrush>
#include <QColor>

namespace ward::gui {

QStringList PolicyListModel::headers() const { return {"Name", "Description", "Rules", "Assignment"}; }

QString PolicyListModel::text(const PolicySummary& item, int column) const {
  switch (column) {
    case kName: return item.name;
    case kDescription: return item.load_problem.isEmpty() ? item.description : "Cannot be read: " + item.load_problem;
    case kRules: return item.load_problem.isEmpty() ? QString::number(item.rule_count) : QString();
    case kAssignment: return item.assignment;
    default: return {};
  }
}

QVariant PolicyListModel::data(const QModelIndex& index, int role) const {
  if (role == Qt::ForegroundRole && index.isValid() && !items()[static_cast<std::size_t>(index.row())].load_problem.isEmpty()) {
    return QBrush(QColor(Qt::darkRed));
  }
  if (role == Qt::TextAlignmentRole && index.column() == kRules) return int(Qt::AlignRight | Qt::AlignVCenter);
  return VectorTableModel::data(index, role);
}

}  // namespace ward::gui
