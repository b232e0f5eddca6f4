#include "gui/filter_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>

#include "gui/address_editor.h"
#include "gui/display_text.h"
#include "gui/port_editor.h"

namespace ward::gui {

namespace {
constexpr int kOtherProtocol = -1;
constexpr int kMaxProtocol = 255;
}  // namespace

FilterDialog::FilterDialog(const model::Filter& filter, QWidget* parent)
    : QDialog(parent), filter_(filter), description_(new QLineEdit(this)), source_(new AddressEditor(this)),
      destination_(new AddressEditor(this)), protocol_(new QComboBox(this)), protocol_number_(new QSpinBox(this)),
      source_ports_(new PortEditor(this)), destination_ports_(new PortEditor(this)),
      mirrored_(new QCheckBox("&Mirrored: also match packets with the exact opposite source and destination", this)),
      error_(new QLabel(this)) {
  setWindowTitle("Filter Properties");
  description_->setObjectName("description");
  source_->setObjectName("source");
  destination_->setObjectName("destination");
  protocol_->setObjectName("protocol");
  protocol_number_->setObjectName("protocol_number");
  source_ports_->setObjectName("source_ports");
  destination_ports_->setObjectName("destination_ports");
  mirrored_->setObjectName("mirrored");

  using namespace model::ip_protocol;
  for (const std::uint8_t p : {kAny, kTcp, kUdp, kIcmp, kIcmpV6}) protocol_->addItem(protocol_label(p).toUpper(), int{p});
  protocol_->setItemText(0, "Any");
  protocol_->addItem("Other (number)", kOtherProtocol);
  protocol_number_->setRange(0, kMaxProtocol);

  auto* source_box = new QGroupBox("&Source address", this);
  (new QVBoxLayout(source_box))->addWidget(source_);
  auto* destination_box = new QGroupBox("Desti&nation address", this);
  (new QVBoxLayout(destination_box))->addWidget(destination_);
  auto* addresses = new QHBoxLayout;
  addresses->addWidget(source_box);
  addresses->addWidget(destination_box);

  auto* protocol_box = new QGroupBox("&Protocol and ports", this);
  auto* protocol_form = new QFormLayout(protocol_box);
  auto* protocol_row = new QHBoxLayout;
  protocol_row->addWidget(protocol_);
  protocol_row->addWidget(protocol_number_);
  protocol_row->addStretch();
  auto* protocol_label_widget = new QLabel("Protocol &type:", this);
  protocol_label_widget->setBuddy(protocol_);
  protocol_form->addRow(protocol_label_widget, protocol_row);
  protocol_form->addRow("F&rom port:", source_ports_);
  protocol_form->addRow("&To port:", destination_ports_);

  error_->setStyleSheet("color: #a00000");
  error_->setWordWrap(true);
  error_->hide();

  auto* form = new QFormLayout;
  form->addRow("&Description:", description_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(buttons, &QDialogButtonBox::accepted, this, &FilterDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addLayout(addresses);
  layout->addWidget(protocol_box);
  layout->addWidget(mirrored_);
  layout->addWidget(error_);
  layout->addStretch();
  layout->addWidget(buttons);

  description_->setText(qs(filter.description));
  source_->set_spec(filter.source);
  destination_->set_spec(filter.destination);
  const int known = protocol_->findData(int{filter.protocol});
  protocol_->setCurrentIndex(known >= 0 ? known : protocol_->findData(kOtherProtocol));
  protocol_number_->setValue(filter.protocol);
  source_ports_->set_ports(filter.source_ports);
  destination_ports_->set_ports(filter.destination_ports);
  mirrored_->setChecked(filter.mirrored);
  connect(protocol_, &QComboBox::currentIndexChanged, this, [this] { update_fields(); });
  connect(protocol_number_, &QSpinBox::valueChanged, this, [this] { update_fields(); });
  update_fields();
  resize(760, sizeHint().height());
}

std::uint8_t FilterDialog::protocol() const {
  const int chosen = protocol_->currentData().toInt();
  return static_cast<std::uint8_t>(chosen == kOtherProtocol ? protocol_number_->value() : chosen);
}

void FilterDialog::update_fields() {
  protocol_number_->setVisible(protocol_->currentData().toInt() == kOtherProtocol);
  const auto p = protocol();
  const bool has_ports = p == model::ip_protocol::kTcp || p == model::ip_protocol::kUdp;
  source_ports_->setEnabled(has_ports);
  destination_ports_->setEnabled(has_ports);
  if (!has_ports) {
    source_ports_->set_ports(model::PortRange::any());
    destination_ports_->set_ports(model::PortRange::any());
  }
}

void FilterDialog::accept() {
  const auto source = source_->spec();
  const auto destination = destination_->spec();
  QString problem;
  if (!source) problem = "Source address: " + source_->error();
  else if (!destination) problem = "Destination address: " + destination_->error();
  const auto ports = std::pair{source_ports_->ports(), destination_ports_->ports()};
  if (problem.isEmpty() && (ports.first.first > ports.first.last || ports.second.first > ports.second.last)) {
    problem = "A port range must run from the lower to the higher port.";
  }
  if (!problem.isEmpty()) {
    error_->setText(problem);
    error_->show();
    return;
  }
  if (filter_.id.is_nil()) filter_.id = model::Guid::random();
  filter_.description = description_->text().toStdString();
  filter_.source = *source;
  filter_.destination = *destination;
  filter_.protocol = protocol();
  filter_.source_ports = ports.first;
  filter_.destination_ports = ports.second;
  filter_.mirrored = mirrored_->isChecked();
  QDialog::accept();
}

}  // namespace ward::gui
