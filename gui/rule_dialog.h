// A rule: its filter list and filter action (picked from, and edited in, the policy's shared ones),
// authentication methods, tunnel setting and connection type. The dialog works on a copy of the
// whole policy because adding or editing a shared list or action changes the policy, not the rule.
#pragma once

#include <optional>

#include <QDialog>

#include "directory/model/policy.h"

class QLabel;
class QLineEdit;
class QRadioButton;
class QTabWidget;

namespace ward::gui {

class AuthMethodsModel;
class ListEditor;
class SharedObjectPicker;

class RuleDialog : public QDialog {
  Q_OBJECT

 public:
  enum Tab { kFilterListTab, kFilterActionTab, kAuthenticationTab, kTunnelTab, kConnectionTab };

  // rule_index: the rule to edit; nothing: a new rule, appended on accept.
  RuleDialog(model::Policy policy, std::optional<std::size_t> rule_index, QWidget* parent = nullptr);
  const model::Policy& policy() const { return policy_; }  // with the rule in place after accept()
  std::size_t rule_index() const;                          // where the rule is after accept()
  void accept() override;

  QTabWidget* tabs() const { return tabs_; }
  QLineEdit* name_edit() const { return name_; }
  QLineEdit* description_edit() const { return description_; }
  SharedObjectPicker* filter_lists() const { return lists_; }
  SharedObjectPicker* filter_actions() const { return actions_; }
  ListEditor* auth_editor() const { return auth_; }
  QRadioButton* no_tunnel_button() const { return no_tunnel_; }
  QRadioButton* tunnel_button() const { return tunnel_; }
  QLineEdit* tunnel_edit() const { return tunnel_endpoint_; }
  QRadioButton* connection_button(model::ConnectionType type) const;

 private:
  QWidget* build_tunnel_tab();
  QWidget* build_connection_tab();
  void connect_auth_editor();
  void refresh_pickers();
  QStringList users_of_list(const model::Guid& id) const;
  QStringList users_of_action(const model::Guid& id) const;
  void add_filter_list();
  void edit_filter_list(const model::Guid& id);
  void remove_filter_list(const model::Guid& id);
  void add_filter_action();
  void edit_filter_action(const model::Guid& id);
  void remove_filter_action(const model::Guid& id);
  void set_auth_methods(std::vector<model::AuthMethod> methods, int select);
  void show_error(const QString& text, Tab tab);

  model::Policy policy_;
  std::optional<std::size_t> rule_index_;
  model::Rule rule_;
  QLineEdit* name_;
  QLineEdit* description_;
  QTabWidget* tabs_;
  SharedObjectPicker* lists_;
  SharedObjectPicker* actions_;
  AuthMethodsModel* auth_model_;
  ListEditor* auth_;
  QRadioButton* no_tunnel_;
  QRadioButton* tunnel_;
  QLineEdit* tunnel_endpoint_;
  QRadioButton* all_connections_;
  QRadioButton* lan_;
  QRadioButton* remote_access_;
  QLabel* error_;
};

}  // namespace ward::gui
