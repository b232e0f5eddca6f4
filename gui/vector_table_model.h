// VectorTableModel<T>: a read-only table over a std::vector<T>, one row per item. Concrete models
// name their columns and say what each cell shows; editing happens in dialogs, not in cells.
#pragma once

#include <vector>

#include <QAbstractTableModel>
#include <QStringList>

namespace ward::gui {

template <class T>
class VectorTableModel : public QAbstractTableModel {
 public:
  using QAbstractTableModel::QAbstractTableModel;

  void set_items(std::vector<T> items) {
    beginResetModel();
    items_ = std::move(items);
    endResetModel();
  }
  const std::vector<T>& items() const { return items_; }

  int rowCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : static_cast<int>(items_.size());
  }
  int columnCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : static_cast<int>(headers().size());
  }
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override {
    if (orientation == Qt::Horizontal && role == Qt::DisplayRole && section >= 0 && section < headers().size()) {
      return headers().at(section);
    }
    return QAbstractTableModel::headerData(section, orientation, role);
  }
  QVariant data(const QModelIndex& index, int role) const override {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole) return {};
    return text(items_[static_cast<std::size_t>(index.row())], index.column());
  }

 protected:
  virtual QStringList headers() const = 0;
  virtual QString text(const T& item, int column) const = 0;

 private:
  std::vector<T> items_;
};

}  // namespace ward::gui
