// A filter action: permit, block, or negotiate security with ordered security methods, plus the
// unsecured-communication and PFS options, and which rules use it.
#pragma once

#include <QDialog>

#include "directory/model/policy.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QRadioButton;

namespace ward::gui {

class ListEditor;
class SecurityMethodsModel;

class FilterActionDialog : public QDialog {
  Q_OBJECT

 public:
  FilterActionDialog(const model::FilterAction& action, const QStringList& used_by, QWidget* parent = nullptr);
  const model::FilterAction& filter_action() const { return action_; }  // the result after accept()
  void accept() override;

  QLineEdit* name_edit() const { return name_; }
  QLineEdit* description_edit() const { return description_; }
  QRadioButton* permit_button() const { return permit_; }
  QRadioButton* block_button() const { return block_; }
  QRadioButton* negotiate_button() const { return negotiate_; }
  ListEditor* methods_editor() const { return methods_; }
  QCheckBox* accept_unsecured_check() const { return accept_unsecured_; }
  QCheckBox* fallback_check() const { return fallback_; }
  QCheckBox* pfs_check() const { return pfs_; }
  QLabel* used_by_label() const { return used_by_; }

 private:
  void update_fields();
  void set_methods(std::vector<model::SecurityMethod> methods, int select);

  model::FilterAction action_;
  QLineEdit* name_;
  QLineEdit* description_;
  QLabel* used_by_;
  QRadioButton* permit_;
  QRadioButton* block_;
  QRadioButton* negotiate_;
  SecurityMethodsModel* model_;
  ListEditor* methods_;
  QCheckBox* accept_unsecured_;
  QCheckBox* fallback_;
  QCheckBox* pfs_;
  QLabel* error_;
};

}  // namespace ward::gui
