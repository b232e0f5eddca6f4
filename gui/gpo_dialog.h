// GpoDialog: picks what a Group Policy action works on, from GPOs the directory listed.
//   Assign: an existing GPO, or a new one by name, to assign the selected policy to;
//   Link:   a GPO and the domain, OU or site to link it to;
//   Unlink: one of the existing links.
#pragma once

#include <vector>

#include <QDialog>

#include "gui/policy_store.h"

class QComboBox;
class QDialogButtonBox;
class QLineEdit;
class QRadioButton;

namespace ward::gui {

// What the dialog chose, copied out so that worker threads never touch the widgets.
struct GpoChoice {
  QString gpo_dn;        // empty: make a new GPO named new_gpo_name
  QString new_gpo_name;
  QString container_dn;  // Link and Unlink
};

class GpoDialog : public QDialog {
  Q_OBJECT

 public:
  enum class Mode { Assign, Link, Unlink };

  // `subject`: the policy's name (Assign); `containers`: link targets (Link).
  GpoDialog(Mode mode, std::vector<GpoSummary> gpos, QStringList containers, const QString& subject,
            QWidget* parent = nullptr);

  GpoChoice choice() const { return {gpo_dn(), new_gpo_name(), container_dn()}; }
  QString gpo_dn() const;        // the chosen existing GPO (empty when a new one is to be made)
  QString new_gpo_name() const;  // Assign with "New GPO": its display name
  QString container_dn() const;  // Link and Unlink

  QComboBox* gpo_combo() const { return gpo_; }
  QRadioButton* existing_button() const { return existing_; }
  QRadioButton* new_button() const { return new_; }
  QLineEdit* new_name_edit() const { return new_name_; }
  QComboBox* container_combo() const { return container_; }
  QComboBox* link_combo() const { return link_; }

 private:
  void update_state();

  Mode mode_;
  QComboBox* gpo_ = nullptr;
  QRadioButton* existing_ = nullptr;
  QRadioButton* new_ = nullptr;
  QLineEdit* new_name_ = nullptr;
  QComboBox* container_ = nullptr;
  QComboBox* link_ = nullptr;
  QDialogButtonBox* buttons_;
};

}  // namespace ward::gui
