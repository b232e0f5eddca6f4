#include "gui/security_method_dialog.h"

#include <limits>

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include "directory/model/limits.h"
#include "gui/enum_combo.h"

namespace ward::gui {

using model::Cipher;
using model::Integrity;

SecurityMethodDialog::SecurityMethodDialog(const model::SecurityMethod& method, QWidget* parent)
    : QDialog(parent), ah_(new QGroupBox("&AH: data and address integrity without encryption", this)),
      ah_integrity_(new QComboBox(this)), esp_(new QGroupBox("E&SP: data integrity and encryption", this)),
      esp_cipher_(new QComboBox(this)), esp_integrity_(new QComboBox(this)), lifetime_kilobytes_(new QSpinBox(this)),
      lifetime_seconds_(new QSpinBox(this)), error_(new QLabel(this)) {
  setWindowTitle("Security Method");
  ah_->setObjectName("ah");
  esp_->setObjectName("esp");
  ah_integrity_->setObjectName("ah_integrity");
  esp_cipher_->setObjectName("esp_cipher");
  esp_integrity_->setObjectName("esp_integrity");
  lifetime_kilobytes_->setObjectName("lifetime_kilobytes");
  lifetime_seconds_->setObjectName("lifetime_seconds");

  ah_->setCheckable(true);
  esp_->setCheckable(true);
  fill_enum_combo<Integrity>(ah_integrity_, {Integrity::None});
  fill_enum_combo<Cipher>(esp_cipher_, {Cipher::Des});
  fill_enum_combo<Integrity>(esp_integrity_);
  auto* ah_form = new QFormLayout(ah_);
  ah_form->addRow("Integrity &algorithm:", ah_integrity_);
  auto* esp_form = new QFormLayout(esp_);
  esp_form->addRow("&Encryption algorithm:", esp_cipher_);
  esp_form->addRow("I&ntegrity algorithm (none with GCM):", esp_integrity_);

  lifetime_kilobytes_->setRange(0, std::numeric_limits<int>::max());
  lifetime_kilobytes_->setSuffix(" KB");
  lifetime_kilobytes_->setToolTip(QString("At least %1 KB").arg(model::limits::kMinQuickModeLifetimeKilobytes));
  lifetime_seconds_->setRange(0, std::numeric_limits<int>::max());
  lifetime_seconds_->setSuffix(" s");
  lifetime_seconds_->setToolTip(QString("%1 to %2 seconds")
                                    .arg(model::limits::kMinQuickModeLifetimeSeconds)
                                    .arg(model::limits::kMaxQuickModeLifetimeSeconds));
  auto* lifetimes = new QGroupBox("Session key lifetimes: a new key after", this);
  auto* lifetime_form = new QFormLayout(lifetimes);
  lifetime_form->addRow("&Kilobytes:", lifetime_kilobytes_);
  lifetime_form->addRow("Se&conds:", lifetime_seconds_);

  error_->setStyleSheet("color: #a00000");
  error_->hide();

  ah_->setChecked(method.ah.has_value());
  set_combo_value(ah_integrity_, method.ah.value_or(model::AhTransform{}).integrity);
  esp_->setChecked(method.esp.has_value());
  const auto esp = method.esp.value_or(model::EspTransform{});
  set_combo_value(esp_cipher_, esp.cipher);
  set_combo_value(esp_integrity_, esp.integrity);
  lifetime_kilobytes_->setValue(static_cast<int>(std::min<std::uint32_t>(method.lifetime_kilobytes, std::numeric_limits<int>::max())));
  lifetime_seconds_->setValue(static_cast<int>(std::min<std::uint32_t>(method.lifetime_seconds, std::numeric_limits<int>::max())));

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(buttons, &QDialogButtonBox::accepted, this, &SecurityMethodDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(ah_);
  layout->addWidget(esp_);
  layout->addWidget(lifetimes);
  layout->addWidget(error_);
  layout->addWidget(buttons);
}

model::SecurityMethod SecurityMethodDialog::method() const {
  model::SecurityMethod method;
  if (ah_->isChecked()) method.ah = model::AhTransform{combo_value<Integrity>(ah_integrity_)};
  if (esp_->isChecked()) method.esp = model::EspTransform{combo_value<Cipher>(esp_cipher_), combo_value<Integrity>(esp_integrity_)};
  method.lifetime_kilobytes = static_cast<std::uint32_t>(lifetime_kilobytes_->value());
  method.lifetime_seconds = static_cast<std::uint32_t>(lifetime_seconds_->value());
  return method;
}

void SecurityMethodDialog::accept() {
  if (!ah_->isChecked() && !esp_->isChecked()) {
    error_->setText("Choose AH, ESP or both.");
    error_->show();
    return;
  }
  QDialog::accept();
}

}  // namespace ward::gui
