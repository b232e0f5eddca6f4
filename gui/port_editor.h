// PortEditor: any port, one port, or a range of ports.
#pragma once

#include <QWidget>

#include "directory/model/ip.h"

class QComboBox;
class QSpinBox;

namespace ward::gui {

// The largest TCP or UDP port, for every port field's range and validator.
inline constexpr int kMaxPort = 65535;

class PortEditor : public QWidget {
  Q_OBJECT

 public:
  enum Mode { kAny, kSingle, kRange };
  explicit PortEditor(QWidget* parent = nullptr);

  void set_ports(const model::PortRange& ports);
  model::PortRange ports() const;

  QComboBox* mode_combo() const { return mode_; }
  QSpinBox* first_spin() const { return first_; }
  QSpinBox* last_spin() const { return last_; }

 private:
  void update_fields();

  QComboBox* mode_;
  QSpinBox* first_;
  QSpinBox* last_;
};

}  // namespace ward::gui
