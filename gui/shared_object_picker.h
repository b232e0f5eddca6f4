// SharedObjectPicker: picks one of a policy's shared filter lists or filter actions for a rule,
// with Add / Edit / Remove buttons. It only asks; the rule dialog changes the policy.
#pragma once

#include <optional>
#include <vector>

#include <QWidget>

#include "directory/model/guid.h"

class QListWidget;
class QPushButton;

namespace ward::gui {

class SharedObjectPicker : public QWidget {
  Q_OBJECT

 public:
  struct Item {
    model::Guid id;
    QString name;
    QString description;
  };

  SharedObjectPicker(const QString& prompt, QWidget* parent = nullptr);

  void set_items(const std::vector<Item>& items, const std::optional<model::Guid>& selected);
  std::optional<model::Guid> selected() const;
  void select(const model::Guid& id);

  QListWidget* list() const { return list_; }
  QPushButton* add_button() const { return add_; }
  QPushButton* edit_button() const { return edit_; }
  QPushButton* remove_button() const { return remove_; }

 signals:
  void add_requested();
  void edit_requested(const ward::model::Guid& id);
  void remove_requested(const ward::model::Guid& id);

 private:
  void update_buttons();

  QListWidget* list_;
  QPushButton* add_;
  QPushButton* edit_;
  QPushButton* remove_;
};

}  // namespace ward::gui
