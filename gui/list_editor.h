// ListEditor: a table with Add / Edit / Remove (and, for ordered lists, Move up / Move down)
// buttons. It only asks: the owner changes its data, resets the model and selects a row.
// Keyboard: Enter or double-click edits, Delete removes, Ctrl+Up / Ctrl+Down move.
#pragma once

#include <QWidget>

class QAbstractItemModel;
class QPushButton;
class QTableView;

namespace ward::gui {

class ListEditor : public QWidget {
  Q_OBJECT

 public:
  enum class Ordering { Ordered, Unordered };

  ListEditor(QAbstractItemModel* model, Ordering ordering, QWidget* parent = nullptr);

  QTableView* view() const { return view_; }
  QPushButton* add_button() const { return add_; }
  QPushButton* edit_button() const { return edit_; }
  QPushButton* remove_button() const { return remove_; }
  QPushButton* up_button() const { return up_; }
  QPushButton* down_button() const { return down_; }

  int current_row() const;
  void select_row(int row);

 signals:
  void add_requested();
  void edit_requested(int row);
  void remove_requested(int row);
  void move_requested(int row, int to);

 private:
  void update_buttons();
  void request_move(int delta);

  QTableView* view_;
  QPushButton* add_;
  QPushButton* edit_;
  QPushButton* remove_;
  QPushButton* up_ = nullptr;
  QPushButton* down_ = nullptr;
};

}  // namespace ward::gui
