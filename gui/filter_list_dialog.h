// A filter list: name, description, its filters, and which rules use it. Removing a filter can be
// undone (Ctrl+Z) until the dialog closes.
#pragma once

#include <QDialog>

#include "directory/model/policy.h"

class QLabel;
class QLineEdit;
class QUndoStack;

namespace ward::gui {

class FiltersModel;
class ListEditor;

class FilterListDialog : public QDialog {
  Q_OBJECT

 public:
  FilterListDialog(const model::FilterList& list, const QStringList& used_by, QWidget* parent = nullptr);
  const model::FilterList& filter_list() const { return list_; }  // the result after accept()
  void accept() override;

  QLineEdit* name_edit() const { return name_; }
  QLineEdit* description_edit() const { return description_; }
  ListEditor* filters_editor() const { return filters_; }
  QLabel* used_by_label() const { return used_by_; }
  QUndoStack* undo_stack() const { return undo_; }

 private:
  void set_filters(std::vector<model::Filter> filters, int select);
  void change_filters(const QString& text, std::vector<model::Filter> after, int select);
  void add_filter();
  void edit_filter(int row);
  void remove_filter(int row);

  model::FilterList list_;
  QLineEdit* name_;
  QLineEdit* description_;
  QLabel* used_by_;
  FiltersModel* model_;
  ListEditor* filters_;
  QUndoStack* undo_;
  QLabel* error_;
};

}  // namespace ward::gui
