// AddressEditor: one side of a filter. An address type, and the one field that type needs: an
// IP address for a host, address/prefix for a subnet, a name for a DNS name; the rest need none.
#pragma once

#include <optional>

#include <QWidget>

#include "directory/model/policy.h"

class QComboBox;
class QLabel;
class QLineEdit;

namespace ward::gui {

class AddressEditor : public QWidget {
  Q_OBJECT

 public:
  explicit AddressEditor(QWidget* parent = nullptr);

  void set_spec(const model::AddressSpec& spec);
  // The address as entered, or nothing with error() saying why ("10.1.2/24 is not an IP subnet").
  std::optional<model::AddressSpec> spec() const;
  QString error() const { return error_; }

  QComboBox* type_combo() const { return type_; }
  QLineEdit* value_edit() const { return value_; }

 private:
  void update_fields();

  QComboBox* type_;
  QLabel* value_label_;
  QLineEdit* value_;
  mutable QString error_;
};

}  // namespace ward::gui
