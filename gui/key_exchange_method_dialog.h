// One key exchange (main mode) security method: encryption, integrity and Diffie-Hellman group.
#pragma once

#include <QDialog>

#include "directory/model/policy.h"

class QComboBox;

namespace ward::gui {

class KeyExchangeMethodDialog : public QDialog {
  Q_OBJECT

 public:
  explicit KeyExchangeMethodDialog(const model::KeyExchangeMethod& method, QWidget* parent = nullptr);
  model::KeyExchangeMethod method() const;

 private:
  QComboBox* cipher_;
  QComboBox* integrity_;
  QComboBox* dh_group_;
};

}  // namespace ward::gui
