// ConnectDialog: where and how to reach the directory — server URIs (tried in order), the
// domain DN, simple bind (DN and password), Kerberos SASL/GSSAPI from a keytab and principal, or
// Kerberos with the user's own ticket (after kinit; principal optional; the dialog shows whose
// ticket the credential cache holds, or that there is none), StartTLS with the CA bundle the
// server certificate must chain to, and for Active Directory optionally the SysVol folder (the
// GPOs' files; without it they go over SMB to the DC with the Kerberos credentials).
//
// The password stays in its (masked) field until take_options() moves it into the returned
// options and clears the field; the caller drops the options once the bind is done.
#pragma once

#include <QDialog>

#include "directory/ldap/session.h"

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QRadioButton;

namespace ward::gui {

class ConnectDialog : public QDialog {
  Q_OBJECT

 public:
  explicit ConnectDialog(QWidget* parent = nullptr);

  // The session options and the domain DN; empties the password field.
  ldap::SessionOptions take_options();
  QString domain_dn() const;
  QString sysvol_path() const;

  QPlainTextEdit* uris_edit() const { return uris_; }
  QLineEdit* domain_edit() const { return domain_; }
  QRadioButton* simple_button() const { return simple_; }
  QRadioButton* kerberos_button() const { return kerberos_; }
  QRadioButton* ticket_button() const { return ticket_; }
  QLineEdit* bind_dn_edit() const { return bind_dn_; }
  QLineEdit* password_edit() const { return password_; }
  QLineEdit* keytab_edit() const { return keytab_; }
  QLineEdit* principal_edit() const { return principal_; }
  QCheckBox* start_tls_check() const { return start_tls_; }
  QLineEdit* ca_file_edit() const { return ca_file_; }
  QLineEdit* sysvol_edit() const { return sysvol_; }
  QLabel* ticket_label() const { return ticket_status_; }

 private:
  void update_state();
  void update_ticket();
  QStringList uris() const;

  QPlainTextEdit* uris_;
  QLineEdit* domain_;
  QRadioButton* simple_;
  QRadioButton* kerberos_;
  QRadioButton* ticket_;
  QLineEdit* bind_dn_;
  QLineEdit* password_;
  QLineEdit* keytab_;
  QLineEdit* principal_;
  QCheckBox* start_tls_;
  QLineEdit* ca_file_;
  QLineEdit* sysvol_;
  QLabel* ticket_status_;
  QDialogButtonBox* buttons_;
};

}  // namespace ward::gui
