#include "gui/list_editor.h"

#include <QAbstractItemModel>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QPushButton>
#include <QShortcut>
#include <QTableView>
#include <QVBoxLayout>

namespace ward::gui {

ListEditor::ListEditor(QAbstractItemModel* model, Ordering ordering, QWidget* parent)
    : QWidget(parent), view_(new QTableView(this)), add_(new QPushButton("&Add...", this)),
      edit_(new QPushButton("&Edit...", this)), remove_(new QPushButton("&Remove", this)) {
  view_->setModel(model);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->setTabKeyNavigation(false);  // Tab leaves the table for the buttons
  view_->verticalHeader()->hide();
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  view_->setAlternatingRowColors(true);

  auto* buttons = new QVBoxLayout;
  buttons->addWidget(add_);
  buttons->addWidget(edit_);
  buttons->addWidget(remove_);
  if (ordering == Ordering::Ordered) {
    up_ = new QPushButton("Move &up", this);
    down_ = new QPushButton("Move do&wn", this);
    buttons->addSpacing(12);
    buttons->addWidget(up_);
    buttons->addWidget(down_);
    connect(up_, &QPushButton::clicked, this, [this] { request_move(-1); });
    connect(down_, &QPushButton::clicked, this, [this] { request_move(+1); });
    auto* move_up = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Up), view_, nullptr, nullptr, Qt::WidgetShortcut);
    auto* move_down = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Down), view_, nullptr, nullptr, Qt::WidgetShortcut);
    connect(move_up, &QShortcut::activated, this, [this] { request_move(-1); });
    connect(move_down, &QShortcut::activated, this, [this] { request_move(+1); });
  }
  buttons->addStretch();

  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(view_, 1);
  layout->addLayout(buttons);

  connect(add_, &QPushButton::clicked, this, &ListEditor::add_requested);
  connect(edit_, &QPushButton::clicked, this, [this] {
    if (current_row() >= 0) emit edit_requested(current_row());
  });
  connect(remove_, &QPushButton::clicked, this, [this] {
    if (current_row() >= 0) emit remove_requested(current_row());
  });
  connect(view_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) { emit edit_requested(index.row()); });
  connect(view_, &QTableView::activated, this, [this](const QModelIndex& index) { emit edit_requested(index.row()); });
  auto* remove_key = new QShortcut(QKeySequence::Delete, view_, nullptr, nullptr, Qt::WidgetShortcut);
  connect(remove_key, &QShortcut::activated, remove_, &QPushButton::click);

  connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] { update_buttons(); });
  connect(model, &QAbstractItemModel::modelReset, this, [this] { update_buttons(); });
  update_buttons();
}

int ListEditor::current_row() const {
  const auto index = view_->selectionModel()->currentIndex();
  return index.isValid() && view_->selectionModel()->isRowSelected(index.row(), {}) ? index.row() : -1;
}

void ListEditor::select_row(int row) {
  const int rows = view_->model()->rowCount();
  if (rows == 0) {
    update_buttons();
    return;
  }
  row = std::clamp(row, 0, rows - 1);
  view_->selectionModel()->setCurrentIndex(view_->model()->index(row, 0),
                                           QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  update_buttons();
}

void ListEditor::request_move(int delta) {
  const int row = current_row();
  const int to = row + delta;
  if (row < 0 || to < 0 || to >= view_->model()->rowCount()) return;
  emit move_requested(row, to);
}

void ListEditor::update_buttons() {
  const int row = current_row();
  const int rows = view_->model()->rowCount();
  edit_->setEnabled(row >= 0);
  remove_->setEnabled(row >= 0);
  if (up_) up_->setEnabled(row > 0);
  if (down_) down_->setEnabled(row >= 0 && row + 1 < rows);
}

}  // namespace ward::gui
