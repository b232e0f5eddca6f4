#include "gui/port_editor.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>

namespace ward::gui {

namespace {
}

PortEditor::PortEditor(QWidget* parent)
    : QWidget(parent), mode_(new QComboBox(this)), first_(new QSpinBox(this)), last_(new QSpinBox(this)) {
  mode_->addItem("Any port", kAny);
  mode_->addItem("Port", kSingle);
  mode_->addItem("Range", kRange);
  first_->setRange(0, kMaxPort);
  last_->setRange(0, kMaxPort);
  mode_->setObjectName("mode");
  first_->setObjectName("first");
  last_->setObjectName("last");
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(mode_);
  layout->addWidget(first_);
  layout->addWidget(last_);
  layout->addStretch();
  connect(mode_, &QComboBox::currentIndexChanged, this, [this] { update_fields(); });
  update_fields();
}

void PortEditor::update_fields() {
  const int mode = mode_->currentData().toInt();
  first_->setVisible(mode != kAny);
  last_->setVisible(mode == kRange);
  first_->setPrefix(mode == kRange ? "from " : "");
  last_->setPrefix("to ");
}

void PortEditor::set_ports(const model::PortRange& ports) {
  mode_->setCurrentIndex(ports.is_any() ? kAny : ports.is_single() ? kSingle : kRange);
  first_->setValue(ports.first);
  last_->setValue(ports.last);
  update_fields();
}

model::PortRange PortEditor::ports() const {
  const auto first = static_cast<std::uint16_t>(first_->value());
  switch (mode_->currentData().toInt()) {
    case kSingle: return model::PortRange::single(first);
    case kRange: return {first, static_cast<std::uint16_t>(last_->value())};
    default: return model::PortRange::any();
  }
}

}  // namespace ward::gui
