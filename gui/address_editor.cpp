#include "gui/address_editor.h"

#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>

#include "gui/display_text.h"
#include "gui/enum_combo.h"

namespace ward::gui {

using model::AddressKind;

AddressEditor::AddressEditor(QWidget* parent)
    : QWidget(parent), type_(new QComboBox(this)), value_label_(new QLabel(this)), value_(new QLineEdit(this)) {
  fill_enum_combo<AddressKind>(type_, {}, &label);
  type_->setObjectName("type");
  value_->setObjectName("value");
  value_label_->setBuddy(value_);
  auto* layout = new QFormLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addRow("Address &type:", type_);
  layout->addRow(value_label_, value_);
  connect(type_, &QComboBox::currentIndexChanged, this, [this] { update_fields(); });
  update_fields();
}

void AddressEditor::update_fields() {
  const auto kind = combo_value<AddressKind>(type_);
  const bool needs_value = kind == AddressKind::Host || kind == AddressKind::Subnet || kind == AddressKind::DnsName;
  value_label_->setText(kind == AddressKind::Host ? "IP &address:" : kind == AddressKind::Subnet ? "&Subnet (address/prefix):" : "&DNS name:");
  value_->setPlaceholderText(kind == AddressKind::Host ? "10.20.1.5 or 2001:db8::5"
                             : kind == AddressKind::Subnet ? "10.20.1.0/24"
                                                           : "server.example.com");
  value_label_->setVisible(needs_value);
  value_->setVisible(needs_value);
}

void AddressEditor::set_spec(const model::AddressSpec& spec) {
  set_combo_value(type_, spec.kind);
  if (spec.kind == AddressKind::Host && spec.prefix) value_->setText(qs(spec.prefix->address().to_string()));
  else if (spec.kind == AddressKind::Subnet && spec.prefix) value_->setText(qs(spec.prefix->to_string()));
  else if (spec.kind == AddressKind::DnsName) value_->setText(qs(spec.dns_name));
  else value_->clear();
  update_fields();
}

std::optional<model::AddressSpec> AddressEditor::spec() const {
  error_.clear();
  const auto kind = combo_value<AddressKind>(type_);
  const std::string text = value_->text().trimmed().toStdString();
  model::AddressSpec spec;
  spec.kind = kind;
  switch (kind) {
    case AddressKind::Host: {
      const auto address = model::IpAddress::parse(text);
      if (!address) {
        error_ = "\"" + qs(text) + "\" is not an IP address";
        return std::nullopt;
      }
      spec.prefix = model::IpPrefix::host(*address);
      break;
    }
    case AddressKind::Subnet: {
      const auto prefix = model::IpPrefix::parse(text);
      if (!prefix || text.find('/') == std::string::npos) {
        error_ = "\"" + qs(text) + "\" is not a subnet such as 10.20.1.0/24 (host bits must be zero)";
        return std::nullopt;
      }
      spec.prefix = prefix;
      break;
    }
    case AddressKind::DnsName:
      if (text.empty()) {
        error_ = "a DNS name is needed";
        return std::nullopt;
      }
      spec.dns_name = text;
      break;
    default: break;
  }
  return spec;
}

}  // namespace ward::gui
