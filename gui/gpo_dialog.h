// GpoDialog: picks what a Group Policy action works on, from what the directory listed.
//   Assign:            an existing GPO, or a new one by name, to assign the selected policy to;
//   Unassign:          a GPO that assigns an IPsec policy, to remove that assignment;
//   Link:              a GPO and the domain, OU or site to link it to;
//   Unlink:            one of the existing links;
//   Link options:      one of the existing links, with Enforced and Link Enabled (GPMC's words);
//   Block inheritance: the domain or an OU, with Block Inheritance on or off.
#pragma once

#include <vector>

#include <QDialog>

#include "gui/policy_store.h"

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QRadioButton;

namespace ward::gui {

// What the dialog chose, copied out so that worker threads never touch the widgets.
struct GpoChoice {
  QString gpo_dn;        // empty: make a new GPO named new_gpo_name
  QString new_gpo_name;
  QString container_dn;  // Link, Unlink, Link options, Block inheritance
  bool enforced = false;      // Link options
  bool link_enabled = true;   // Link options
  bool block_inheritance = false;  // Block inheritance
};

class GpoDialog : public QDialog {
  Q_OBJECT

 public:
  enum class Mode { Assign, Unassign, Link, Unlink, LinkOptions, BlockInheritance };

  // `subject`: the policy's name (Assign); `containers`: link targets (Link, Block inheritance).
  GpoDialog(Mode mode, std::vector<GpoSummary> gpos, std::vector<ContainerSummary> containers, const QString& subject,
            QWidget* parent = nullptr);

  GpoChoice choice() const;
  QString gpo_dn() const;        // the chosen existing GPO (empty when a new one is to be made)
  QString new_gpo_name() const;  // Assign with "New GPO": its display name
  QString container_dn() const;  // Link, Unlink, Link options, Block inheritance

  QComboBox* gpo_combo() const { return gpo_; }
  QRadioButton* existing_button() const { return existing_; }
  QRadioButton* new_button() const { return new_; }
  QLineEdit* new_name_edit() const { return new_name_; }
  QComboBox* container_combo() const { return container_; }
  QComboBox* link_combo() const { return link_; }
  QCheckBox* enforced_check() const { return enforced_; }
  QCheckBox* link_enabled_check() const { return link_enabled_; }
  QCheckBox* block_check() const { return block_; }

 private:
  void update_state();
  void show_current_options();  // Link options / Block inheritance: the chosen item's state

  Mode mode_;
  std::vector<GpoSummary> gpos_;
  std::vector<ContainerSummary> containers_;
  QComboBox* gpo_ = nullptr;
  QRadioButton* existing_ = nullptr;
  QRadioButton* new_ = nullptr;
  QLineEdit* new_name_ = nullptr;
  QComboBox* container_ = nullptr;
  QComboBox* link_ = nullptr;
  QCheckBox* enforced_ = nullptr;
  QCheckBox* link_enabled_ = nullptr;
  QCheckBox* block_ = nullptr;
  QLabel* note_ = nullptr;
  QDialogButtonBox* buttons_;
};

}  // namespace ward::gui
