#include "gui/filter_list_dialog.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableView>
#include <QUndoStack>
#include <QVBoxLayout>

#include "gui/display_text.h"
#include "gui/filter_dialog.h"
#include "gui/filters_model.h"
#include "gui/function_command.h"
#include "gui/list_editor.h"
#include "gui/usage.h"

namespace ward::gui {

FilterListDialog::FilterListDialog(const model::FilterList& list, const QStringList& used_by, QWidget* parent)
    : QDialog(parent), list_(list), name_(new QLineEdit(this)), description_(new QLineEdit(this)),
      used_by_(new QLabel(used_by_text(used_by), this)), model_(new FiltersModel(this)),
      filters_(new ListEditor(model_, ListEditor::Ordering::Unordered, this)), undo_(new QUndoStack(this)),
      error_(new QLabel(this)) {
  setWindowTitle("Filter List");
  name_->setObjectName("name");
  description_->setObjectName("description");
  used_by_->setObjectName("used_by");
  used_by_->setWordWrap(true);
  filters_->setObjectName("filters");
  error_->setStyleSheet("color: #a00000");
  error_->hide();
  name_->setText(qs(list.name));
  description_->setText(qs(list.description));
  model_->set_items(list.filters);

  auto* undo_button = new QPushButton("&Undo", this);
  undo_button->setObjectName("undo");
  undo_button->setEnabled(false);
  connect(undo_button, &QPushButton::clicked, undo_, &QUndoStack::undo);
  connect(undo_, &QUndoStack::canUndoChanged, undo_button, &QPushButton::setEnabled);
  connect(undo_, &QUndoStack::undoTextChanged, undo_button, [undo_button](const QString& text) {
    undo_button->setToolTip(text.isEmpty() ? QString() : "Undo " + text);
  });
  auto* undo_action = undo_->createUndoAction(this);
  undo_action->setShortcut(QKeySequence::Undo);
  addAction(undo_action);
  auto* redo_action = undo_->createRedoAction(this);
  redo_action->setShortcut(QKeySequence::Redo);
  addAction(redo_action);

  auto* form = new QFormLayout;
  form->addRow("&Name:", name_);
  form->addRow("&Description:", description_);
  form->addRow(used_by_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->addButton(undo_button, QDialogButtonBox::ResetRole);
  connect(buttons, &QDialogButtonBox::accepted, this, &FilterListDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  auto* filters_label = new QLabel("&Filters:", this);
  filters_label->setBuddy(filters_->view());
  layout->addWidget(filters_label);
  layout->addWidget(filters_, 1);
  layout->addWidget(error_);
  layout->addWidget(buttons);

  connect(filters_, &ListEditor::add_requested, this, &FilterListDialog::add_filter);
  connect(filters_, &ListEditor::edit_requested, this, &FilterListDialog::edit_filter);
  connect(filters_, &ListEditor::remove_requested, this, &FilterListDialog::remove_filter);
  resize(860, 440);
}

void FilterListDialog::set_filters(std::vector<model::Filter> filters, int select) {
  model_->set_items(std::move(filters));
  filters_->select_row(select);
}

void FilterListDialog::change_filters(const QString& text, std::vector<model::Filter> after, int select) {
  auto before = model_->items();
  const int selected = filters_->current_row();
  undo_->push(new FunctionCommand(
      text, [this, after, select] { set_filters(after, select); },
      [this, before, selected] { set_filters(before, selected); }));
}

void FilterListDialog::add_filter() {
  model::Filter filter;
  filter.source = model::AddressSpec::my_address();
  FilterDialog dialog(filter, this);
  if (dialog.exec() != QDialog::Accepted) return;
  auto filters = model_->items();
  filters.push_back(dialog.filter());
  change_filters("add filter", std::move(filters), static_cast<int>(model_->items().size()));
}

void FilterListDialog::edit_filter(int row) {
  const auto index = static_cast<std::size_t>(row);
  FilterDialog dialog(model_->items().at(index), this);
  if (dialog.exec() != QDialog::Accepted || dialog.filter() == model_->items().at(index)) return;
  auto filters = model_->items();
  filters[index] = dialog.filter();
  change_filters("edit filter", std::move(filters), row);
}

void FilterListDialog::remove_filter(int row) {
  auto filters = model_->items();
  filters.erase(filters.begin() + row);
  change_filters("remove filter", std::move(filters), row);
}

void FilterListDialog::accept() {
  if (name_->text().trimmed().isEmpty()) {
    error_->setText("A filter list needs a name.");
    error_->show();
    name_->setFocus();
    return;
  }
  if (list_.id.is_nil()) list_.id = model::Guid::random();
  list_.name = name_->text().trimmed().toStdString();
  list_.description = description_->text().toStdString();
  list_.filters = model_->items();
  QDialog::accept();
}

}  // namespace ward::gui
