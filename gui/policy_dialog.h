// A whole policy: General (name, description, polling), Key Exchange (main mode methods and
// settings) and Rules tabs, with a problems panel that lists everything validate() finds. OK is
// refused while errors remain; warnings are allowed. Changes to methods and rules (and the shared
// lists and actions the rule dialog edits) can be undone. Closing with changes asks first.
#pragma once

#include <vector>

#include <QDialog>

#include "directory/model/policy.h"
#include "directory/model/validation.h"

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QUndoStack;

namespace ward::gui {

class KeyExchangeMethodsModel;
class ListEditor;
class ProblemsPanel;
class RulesModel;

class PolicyDialog : public QDialog {
  Q_OBJECT

 public:
  enum Tab { kGeneralTab, kKeyExchangeTab, kRulesTab };

  explicit PolicyDialog(model::Policy policy, QWidget* parent = nullptr);

  const model::Policy& policy() const { return working_; }
  bool has_unsaved_changes() const { return working_ != original_; }
  void accept() override;  // refused while validation reports errors
  void reject() override;  // asks before discarding changes

  void edit_rule(int row);
  void edit_filter_list(const model::Guid& id);
  void edit_filter_action(const model::Guid& id);
  void show_problem(const model::Problem& problem);  // goes to the object the problem names

  QTabWidget* tabs() const { return tabs_; }
  QLineEdit* name_edit() const { return name_; }
  QPlainTextEdit* description_edit() const { return description_; }
  QSpinBox* polling_spin() const { return polling_; }
  QCheckBox* legacy_check() const { return legacy_; }
  ListEditor* key_exchange_editor() const { return methods_; }
  QCheckBox* master_key_pfs_check() const { return master_key_pfs_; }
  QSpinBox* lifetime_spin() const { return lifetime_; }
  QSpinBox* quick_mode_limit_spin() const { return quick_mode_limit_; }
  ListEditor* rules_editor() const { return rules_; }
  RulesModel* rules_model() const { return rules_model_; }
  ProblemsPanel* problems_panel() const { return problems_; }
  QPushButton* ok_button() const;
  QUndoStack* undo_stack() const { return undo_; }

 private:
  QWidget* build_general_tab();
  QWidget* build_key_exchange_tab();
  QWidget* build_rules_tab();
  void connect_general_fields();
  void connect_key_exchange_editor();
  void connect_rules_editor();
  void change(const QString& text, const model::Policy& next);
  void restore(const model::Policy& snapshot);
  void refresh_tables();
  void revalidate();

  model::Policy original_;
  model::Policy working_;
  QUndoStack* undo_;
  QTabWidget* tabs_;
  QLineEdit* name_;
  QPlainTextEdit* description_;
  QSpinBox* polling_;
  QCheckBox* legacy_;
  KeyExchangeMethodsModel* methods_model_;
  ListEditor* methods_;
  QCheckBox* master_key_pfs_;
  QSpinBox* lifetime_;
  QSpinBox* quick_mode_limit_;
  RulesModel* rules_model_;
  ListEditor* rules_;
  ProblemsPanel* problems_;
  QLabel* summary_;
  QDialogButtonBox* buttons_;
};

}  // namespace ward::gui
