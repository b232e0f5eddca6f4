#include "gui/shared_object_picker.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QShortcut>
#include <QVBoxLayout>

#include "gui/display_text.h"

namespace ward::gui {

namespace {
constexpr int kIdRole = Qt::UserRole;
}

SharedObjectPicker::SharedObjectPicker(const QString& prompt, QWidget* parent)
    : QWidget(parent), list_(new QListWidget(this)), add_(new QPushButton("A&dd...", this)),
      edit_(new QPushButton("&Edit...", this)), remove_(new QPushButton("Remo&ve", this)) {
  auto* label = new QLabel(prompt, this);
  label->setBuddy(list_);
  label->setWordWrap(true);
  list_->setSelectionMode(QAbstractItemView::SingleSelection);
  list_->setAlternatingRowColors(true);
  auto* buttons = new QVBoxLayout;
  buttons->addWidget(add_);
  buttons->addWidget(edit_);
  buttons->addWidget(remove_);
  buttons->addStretch();
  auto* row = new QHBoxLayout;
  row->addWidget(list_, 1);
  row->addLayout(buttons);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(label);
  layout->addLayout(row, 1);

  connect(add_, &QPushButton::clicked, this, &SharedObjectPicker::add_requested);
  connect(edit_, &QPushButton::clicked, this, [this] {
    if (const auto id = selected()) emit edit_requested(*id);
  });
  connect(remove_, &QPushButton::clicked, this, [this] {
    if (const auto id = selected()) emit remove_requested(*id);
  });
  connect(list_, &QListWidget::itemDoubleClicked, this, [this] { edit_->click(); });
  connect(list_, &QListWidget::itemSelectionChanged, this, [this] { update_buttons(); });
  auto* remove_key = new QShortcut(QKeySequence::Delete, list_, nullptr, nullptr, Qt::WidgetShortcut);
  connect(remove_key, &QShortcut::activated, remove_, &QPushButton::click);
  update_buttons();
}

void SharedObjectPicker::set_items(const std::vector<Item>& items, const std::optional<model::Guid>& selected) {
  const QSignalBlocker blocker(list_);
  list_->clear();
  for (const auto& item : items) {
    auto* entry = new QListWidgetItem(item.name, list_);
    entry->setData(kIdRole, qs(item.id.to_string()));
    entry->setToolTip(item.description);
  }
  if (selected) select(*selected);
  update_buttons();
}

std::optional<model::Guid> SharedObjectPicker::selected() const {
  const auto items = list_->selectedItems();
  if (items.isEmpty()) return std::nullopt;
  return model::Guid::parse(items.front()->data(kIdRole).toString().toStdString());
}

void SharedObjectPicker::select(const model::Guid& id) {
  const QString wanted = qs(id.to_string());
  for (int i = 0; i < list_->count(); ++i) {
    if (list_->item(i)->data(kIdRole).toString() == wanted) {
      list_->setCurrentRow(i);
      break;
    }
  }
  update_buttons();
}

void SharedObjectPicker::update_buttons() {
  const bool chosen = selected().has_value();
  edit_->setEnabled(chosen);
  remove_->setEnabled(chosen);
}

}  // namespace ward::gui
