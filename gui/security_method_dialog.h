// One quick mode security method of a filter action: AH and/or ESP, and the SA lifetimes.
#pragma once

#include <QDialog>

#include "directory/model/policy.h"

class QComboBox;
class QGroupBox;
class QLabel;
class QSpinBox;

namespace ward::gui {

class SecurityMethodDialog : public QDialog {
  Q_OBJECT

 public:
  explicit SecurityMethodDialog(const model::SecurityMethod& method, QWidget* parent = nullptr);
  model::SecurityMethod method() const;
  void accept() override;  // refuses a method with neither AH nor ESP

 private:
  QGroupBox* ah_;
  QComboBox* ah_integrity_;
  QGroupBox* esp_;
  QComboBox* esp_cipher_;
  QComboBox* esp_integrity_;
  QSpinBox* lifetime_kilobytes_;
  QSpinBox* lifetime_seconds_;
  QLabel* error_;
};

}  // namespace ward::gui
