// One filter: source and destination address, protocol, ports, mirrored.
#pragma once

#include <QDialog>

#include "directory/model/policy.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace ward::gui {

class AddressEditor;
class PortEditor;

class FilterDialog : public QDialog {
  Q_OBJECT

 public:
  explicit FilterDialog(const model::Filter& filter, QWidget* parent = nullptr);
  const model::Filter& filter() const { return filter_; }  // the result after accept()
  void accept() override;  // refuses addresses that do not parse, naming the field

  QLineEdit* description_edit() const { return description_; }
  AddressEditor* source_editor() const { return source_; }
  AddressEditor* destination_editor() const { return destination_; }
  QComboBox* protocol_combo() const { return protocol_; }
  QSpinBox* protocol_number() const { return protocol_number_; }
  PortEditor* source_ports() const { return source_ports_; }
  PortEditor* destination_ports() const { return destination_ports_; }
  QCheckBox* mirrored_check() const { return mirrored_; }

 private:
  void update_fields();
  std::uint8_t protocol() const;

  model::Filter filter_;
  QLineEdit* description_;
  AddressEditor* source_;
  AddressEditor* destination_;
  QComboBox* protocol_;
  QSpinBox* protocol_number_;
  PortEditor* source_ports_;
  PortEditor* destination_ports_;
  QCheckBox* mirrored_;
  QLabel* error_;
};

}  // namespace ward::gui
