// One authentication method of a rule: Kerberos, a certificate from a named CA, or a preshared key
// (typed into a masked field; the key is never shown in the editor).
#pragma once

#include <QDialog>

#include "directory/model/policy.h"

class QLabel;
class QLineEdit;
class QRadioButton;

namespace ward::gui {

class AuthMethodDialog : public QDialog {
  Q_OBJECT

 public:
  explicit AuthMethodDialog(const model::AuthMethod& method, QWidget* parent = nullptr);
  model::AuthMethod method() const;
  void accept() override;  // refuses a certificate without CA or an empty key

  QRadioButton* kerberos_button() const { return kerberos_; }
  QRadioButton* certificate_button() const { return certificate_; }
  QRadioButton* preshared_button() const { return preshared_; }
  QLineEdit* ca_edit() const { return ca_name_; }
  QLineEdit* key_edit() const { return key_; }

 private:
  void update_fields();

  QRadioButton* kerberos_;
  QRadioButton* certificate_;
  QRadioButton* preshared_;
  QLineEdit* ca_name_;
  QLineEdit* key_;
  QLabel* error_;
};

}  // namespace ward::gui
