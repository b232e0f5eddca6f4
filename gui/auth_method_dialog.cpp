#include "gui/auth_method_dialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QRadioButton>
#include <QVBoxLayout>

#include "gui/display_text.h"

namespace ward::gui {

using model::AuthKind;

AuthMethodDialog::AuthMethodDialog(const model::AuthMethod& method, QWidget* parent)
    : QDialog(parent), kerberos_(new QRadioButton("Active Directory default (&Kerberos V5 protocol)", this)),
      certificate_(new QRadioButton("Use a certificate from this certification &authority (CA):", this)),
      preshared_(new QRadioButton("Use this string to protect the key exchange (&preshared key):", this)),
      ca_name_(new QLineEdit(this)), key_(new QLineEdit(this)), error_(new QLabel(this)) {
  setWindowTitle("Authentication Method");
  ca_name_->setObjectName("ca_name");
  key_->setObjectName("preshared_key");
  ca_name_->setPlaceholderText("CN=Contoso Root CA, DC=contoso, DC=com");
  key_->setEchoMode(QLineEdit::Password);
  key_->setPlaceholderText("at least 16 characters");
  error_->setStyleSheet("color: #a00000");
  error_->hide();

  kerberos_->setChecked(method.kind == AuthKind::Kerberos);
  certificate_->setChecked(method.kind == AuthKind::Certificate);
  preshared_->setChecked(method.kind == AuthKind::PresharedKey);
  ca_name_->setText(qs(method.ca_name));
  key_->setText(QString::fromUtf8(method.preshared_key.reveal().data(), static_cast<qsizetype>(method.preshared_key.size())));

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(new QLabel("Authentication methods specify how trust is established between computers.", this));
  layout->addWidget(kerberos_);
  layout->addWidget(certificate_);
  layout->addWidget(ca_name_);
  layout->addWidget(preshared_);
  layout->addWidget(key_);
  layout->addWidget(error_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &AuthMethodDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  for (auto* radio : {kerberos_, certificate_, preshared_}) connect(radio, &QRadioButton::toggled, this, [this] { update_fields(); });
  update_fields();
  resize(520, sizeHint().height());
}

void AuthMethodDialog::update_fields() {
  ca_name_->setEnabled(certificate_->isChecked());
  key_->setEnabled(preshared_->isChecked());
}

model::AuthMethod AuthMethodDialog::method() const {
  if (certificate_->isChecked()) return model::AuthMethod::certificate(ca_name_->text().trimmed().toStdString());
  if (preshared_->isChecked()) return model::AuthMethod::preshared(key_->text().toStdString());
  return model::AuthMethod::kerberos();
}

void AuthMethodDialog::accept() {
  QString problem;
  if (certificate_->isChecked() && ca_name_->text().trimmed().isEmpty()) problem = "Enter the name of the trusted root CA.";
  if (preshared_->isChecked() && key_->text().isEmpty()) problem = "Enter the preshared key.";
  if (!problem.isEmpty()) {
    error_->setText(problem);
    error_->show();
    return;
  }
  QDialog::accept();
}

}  // namespace ward::gui
