#include "gui/key_exchange_method_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>

#include "gui/enum_combo.h"

namespace ward::gui {

using model::Cipher;

KeyExchangeMethodDialog::KeyExchangeMethodDialog(const model::KeyExchangeMethod& method, QWidget* parent)
    : QDialog(parent), cipher_(new QComboBox(this)), integrity_(new QComboBox(this)), dh_group_(new QComboBox(this)) {
  setWindowTitle("Key Exchange Security Method");
  // Main mode needs a CBC cipher and an integrity algorithm; broken algorithms are never offered.
  fill_enum_combo<Cipher>(cipher_, {Cipher::None, Cipher::Des, Cipher::Aes128Gcm, Cipher::Aes256Gcm});
  fill_enum_combo<model::Integrity>(integrity_, {model::Integrity::None});
  fill_enum_combo<model::DhGroup>(dh_group_, {model::DhGroup::Modp768});
  set_combo_value(cipher_, method.cipher);
  set_combo_value(integrity_, method.integrity);
  set_combo_value(dh_group_, method.dh_group);
  cipher_->setObjectName("cipher");
  integrity_->setObjectName("integrity");
  dh_group_->setObjectName("dh_group");

  auto* form = new QFormLayout(this);
  form->addRow("&Encryption:", cipher_);
  form->addRow("&Integrity:", integrity_);
  form->addRow("&Diffie-Hellman group:", dh_group_);
  form->addRow(new QLabel("Legacy choices (3des, md5, modp1024) need the policy's\n\"allow legacy algorithms\" setting.", this));
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

model::KeyExchangeMethod KeyExchangeMethodDialog::method() const {
  return {combo_value<Cipher>(cipher_), combo_value<model::Integrity>(integrity_), combo_value<model::DhGroup>(dh_group_)};
}

}  // namespace ward::gui
