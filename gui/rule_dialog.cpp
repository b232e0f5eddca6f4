#include "gui/rule_dialog.h"

#include <algorithm>

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QRadioButton>
#include <QTabWidget>
#include <QVBoxLayout>

#include "gui/auth_method_dialog.h"
#include "gui/auth_methods_model.h"
#include "gui/display_text.h"
#include "gui/filter_action_dialog.h"
#include "gui/filter_list_dialog.h"
#include "gui/list_editor.h"
#include "gui/shared_object_picker.h"
#include "gui/usage.h"

namespace ward::gui {

using model::ConnectionType;

RuleDialog::RuleDialog(model::Policy policy, std::optional<std::size_t> rule_index, QWidget* parent)
    : QDialog(parent), policy_(std::move(policy)), rule_index_(rule_index), name_(new QLineEdit(this)),
      description_(new QLineEdit(this)), tabs_(new QTabWidget(this)),
      lists_(new SharedObjectPicker("The selected &filter list specifies which network traffic this rule affects:", this)),
      actions_(new SharedObjectPicker("The selected filter &action specifies whether this rule permits, blocks or secures the traffic:", this)),
      auth_model_(new AuthMethodsModel(this)), auth_(new ListEditor(auth_model_, ListEditor::Ordering::Ordered, this)),
      no_tunnel_(new QRadioButton("&This rule does not specify an IPsec tunnel", this)),
      tunnel_(new QRadioButton("The tunnel &endpoint is specified by this IP address:", this)),
      tunnel_endpoint_(new QLineEdit(this)), all_connections_(new QRadioButton(label(ConnectionType::All), this)),
      lan_(new QRadioButton(label(ConnectionType::Lan), this)),
      remote_access_(new QRadioButton(label(ConnectionType::RemoteAccess), this)), error_(new QLabel(this)) {
  if (rule_index_) {
    rule_ = policy_.rules.at(*rule_index_);
  } else {
    rule_.id = model::Guid::random();
    rule_.auth_methods.push_back(model::AuthMethod::kerberos());
  }
  setWindowTitle(rule_index_ ? "Edit Rule Properties" : "New Rule Properties");
  name_->setObjectName("name");
  description_->setObjectName("description");
  lists_->setObjectName("filter_lists");
  actions_->setObjectName("filter_actions");
  auth_->setObjectName("auth_methods");
  tunnel_endpoint_->setObjectName("tunnel_endpoint");
  error_->setStyleSheet("color: #a00000");
  error_->setWordWrap(true);
  error_->hide();

  name_->setText(qs(rule_.name));
  description_->setText(qs(rule_.description));
  refresh_pickers();
  auth_model_->set_items(rule_.auth_methods);
  lists_->setEnabled(!rule_.default_response);

  auto* auth_page = new QWidget(this);
  auto* auth_layout = new QVBoxLayout(auth_page);
  auth_layout->addWidget(new QLabel("Authentication methods specify how trust is established between computers,\n"
                                    "in order of preference:", auth_page));
  auth_layout->addWidget(auth_, 1);
  tabs_->addTab(lists_, "&Filter List");
  tabs_->addTab(actions_, "Filter A&ction");
  tabs_->addTab(auth_page, "Authentication &Methods");
  tabs_->addTab(build_tunnel_tab(), "T&unnel Setting");
  tabs_->addTab(build_connection_tab(), "Co&nnection Type");

  auto* form = new QFormLayout;
  form->addRow("&Name:", name_);
  form->addRow("Descri&ption:", description_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(buttons, &QDialogButtonBox::accepted, this, &RuleDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(tabs_, 1);
  layout->addWidget(error_);
  layout->addWidget(buttons);

  connect(lists_, &SharedObjectPicker::add_requested, this, &RuleDialog::add_filter_list);
  connect(lists_, &SharedObjectPicker::edit_requested, this, &RuleDialog::edit_filter_list);
  connect(lists_, &SharedObjectPicker::remove_requested, this, &RuleDialog::remove_filter_list);
  connect(actions_, &SharedObjectPicker::add_requested, this, &RuleDialog::add_filter_action);
  connect(actions_, &SharedObjectPicker::edit_requested, this, &RuleDialog::edit_filter_action);
  connect(actions_, &SharedObjectPicker::remove_requested, this, &RuleDialog::remove_filter_action);
  connect_auth_editor();
  resize(720, 500);
}

QWidget* RuleDialog::build_tunnel_tab() {
  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  layout->addWidget(new QLabel("The tunnel endpoint is the tunneling computer closest to the IP traffic destination,\n"
                               "as specified by the filter list. Leave it unset for transport mode.", page));
  layout->addWidget(no_tunnel_);
  layout->addWidget(tunnel_);
  layout->addWidget(tunnel_endpoint_);
  layout->addStretch();
  tunnel_endpoint_->setPlaceholderText("192.0.2.1 or 2001:db8::1");
  no_tunnel_->setChecked(!rule_.tunnel_endpoint);
  tunnel_->setChecked(rule_.tunnel_endpoint.has_value());
  if (rule_.tunnel_endpoint) tunnel_endpoint_->setText(qs(rule_.tunnel_endpoint->to_string()));
  tunnel_endpoint_->setEnabled(tunnel_->isChecked());
  connect(tunnel_, &QRadioButton::toggled, tunnel_endpoint_, &QLineEdit::setEnabled);
  return page;
}

QWidget* RuleDialog::build_connection_tab() {
  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  layout->addWidget(new QLabel("This rule only applies to network traffic over connections of the selected type:", page));
  all_connections_->setText("&All network connections");
  lan_->setText("&Local area network (LAN)");
  remote_access_->setText("&Remote access");
  for (auto* radio : {all_connections_, lan_, remote_access_}) layout->addWidget(radio);
  layout->addStretch();
  connection_button(rule_.connection_type)->setChecked(true);
  return page;
}

QRadioButton* RuleDialog::connection_button(ConnectionType type) const {
  switch (type) {
    case ConnectionType::Lan: return lan_;
    case ConnectionType::RemoteAccess: return remote_access_;
    case ConnectionType::All: break;
  }
  return all_connections_;
}

void RuleDialog::connect_auth_editor() {
  connect(auth_, &ListEditor::add_requested, this, [this] {
    AuthMethodDialog dialog(model::AuthMethod::kerberos(), this);
    if (dialog.exec() != QDialog::Accepted) return;
    auto methods = auth_model_->items();
    methods.push_back(dialog.method());
    set_auth_methods(std::move(methods), auth_model_->rowCount());
  });
  connect(auth_, &ListEditor::edit_requested, this, [this](int row) {
    auto methods = auth_model_->items();
    AuthMethodDialog dialog(methods.at(static_cast<std::size_t>(row)), this);
    if (dialog.exec() != QDialog::Accepted) return;
    methods[static_cast<std::size_t>(row)] = dialog.method();
    set_auth_methods(std::move(methods), row);
  });
  connect(auth_, &ListEditor::remove_requested, this, [this](int row) {
    auto methods = auth_model_->items();
    methods.erase(methods.begin() + row);
    set_auth_methods(std::move(methods), row);
  });
  connect(auth_, &ListEditor::move_requested, this, [this](int row, int to) {
    auto methods = auth_model_->items();
    std::swap(methods[static_cast<std::size_t>(row)], methods[static_cast<std::size_t>(to)]);
    set_auth_methods(std::move(methods), to);
  });
}

void RuleDialog::set_auth_methods(std::vector<model::AuthMethod> methods, int select) {
  auth_model_->set_items(std::move(methods));
  auth_->select_row(select);
}

void RuleDialog::refresh_pickers() {
  const auto list_selected = lists_->selected() ? lists_->selected() : rule_.filter_list;
  const auto action_selected = actions_->selected() ? actions_->selected()
                               : rule_.filter_action.is_nil() ? std::nullopt
                                                              : std::optional<model::Guid>(rule_.filter_action);
  std::vector<SharedObjectPicker::Item> lists, actions;
  for (const auto& list : policy_.filter_lists) lists.push_back({list.id, qs(list.name), qs(list.description)});
  for (const auto& action : policy_.filter_actions) {
    actions.push_back({action.id, qs(action.name) + "  (" + label(action.kind) + ")", qs(action.description)});
  }
  lists_->set_items(lists, list_selected);
  actions_->set_items(actions, action_selected);
}

QStringList RuleDialog::users_of_list(const model::Guid& id) const {
  auto users = rules_using_filter_list(policy_, id, rule_index_);
  if (lists_->selected() == id) users.prepend("this rule");
  return users;
}

QStringList RuleDialog::users_of_action(const model::Guid& id) const {
  auto users = rules_using_filter_action(policy_, id, rule_index_);
  if (actions_->selected() == id) users.prepend("this rule");
  return users;
}

void RuleDialog::add_filter_list() {
  FilterListDialog dialog(model::FilterList{}, {"this rule"}, this);
  if (dialog.exec() != QDialog::Accepted) return;
  policy_.filter_lists.push_back(dialog.filter_list());
  refresh_pickers();
  lists_->select(dialog.filter_list().id);
}

void RuleDialog::edit_filter_list(const model::Guid& id) {
  auto it = std::find_if(policy_.filter_lists.begin(), policy_.filter_lists.end(), [&](const auto& l) { return l.id == id; });
  if (it == policy_.filter_lists.end()) return;
  FilterListDialog dialog(*it, users_of_list(id), this);
  if (dialog.exec() != QDialog::Accepted) return;
  *it = dialog.filter_list();
  refresh_pickers();
}

void RuleDialog::remove_filter_list(const model::Guid& id) {
  const auto others = rules_using_filter_list(policy_, id, rule_index_);
  if (!others.isEmpty()) {
    QMessageBox::warning(this, "Filter list in use", "This filter list cannot be removed. " + used_by_text(others) + ".");
    return;
  }
  std::erase_if(policy_.filter_lists, [&](const auto& list) { return list.id == id; });
  if (rule_.filter_list == id) rule_.filter_list.reset();
  lists_->list()->clearSelection();
  refresh_pickers();
}

void RuleDialog::add_filter_action() {
  model::FilterAction action;
  action.security_methods.push_back(model::SecurityMethod{std::nullopt, model::EspTransform{}});
  FilterActionDialog dialog(action, {"this rule"}, this);
  if (dialog.exec() != QDialog::Accepted) return;
  policy_.filter_actions.push_back(dialog.filter_action());
  refresh_pickers();
  actions_->select(dialog.filter_action().id);
}

void RuleDialog::edit_filter_action(const model::Guid& id) {
  auto it = std::find_if(policy_.filter_actions.begin(), policy_.filter_actions.end(), [&](const auto& a) { return a.id == id; });
  if (it == policy_.filter_actions.end()) return;
  FilterActionDialog dialog(*it, users_of_action(id), this);
  if (dialog.exec() != QDialog::Accepted) return;
  *it = dialog.filter_action();
  refresh_pickers();
}

void RuleDialog::remove_filter_action(const model::Guid& id) {
  const auto others = rules_using_filter_action(policy_, id, rule_index_);
  if (!others.isEmpty()) {
    QMessageBox::warning(this, "Filter action in use", "This filter action cannot be removed. " + used_by_text(others) + ".");
    return;
  }
  std::erase_if(policy_.filter_actions, [&](const auto& action) { return action.id == id; });
  if (rule_.filter_action == id) rule_.filter_action = model::Guid{};
  actions_->list()->clearSelection();
  refresh_pickers();
}

void RuleDialog::show_error(const QString& text, Tab tab) {
  error_->setText(text);
  error_->show();
  tabs_->setCurrentIndex(tab);
}

std::size_t RuleDialog::rule_index() const { return rule_index_.value_or(policy_.rules.size() - 1); }

void RuleDialog::accept() {
  if (name_->text().trimmed().isEmpty()) {
    error_->setText("A rule needs a name.");
    error_->show();
    name_->setFocus();
    return;
  }
  const auto list = lists_->selected();
  if (!rule_.default_response && !list) return show_error("Choose the filter list this rule applies to.", kFilterListTab);
  const auto action = actions_->selected();
  if (!action) return show_error("Choose the filter action of this rule.", kFilterActionTab);
  std::optional<model::IpAddress> endpoint;
  if (tunnel_->isChecked()) {
    endpoint = model::IpAddress::parse(tunnel_endpoint_->text().trimmed().toStdString());
    if (!endpoint) return show_error("\"" + tunnel_endpoint_->text() + "\" is not an IP address.", kTunnelTab);
  }

  rule_.name = name_->text().trimmed().toStdString();
  rule_.description = description_->text().toStdString();
  if (!rule_.default_response) rule_.filter_list = list;
  rule_.filter_action = *action;
  rule_.auth_methods = auth_model_->items();
  rule_.tunnel_endpoint = endpoint;
  rule_.connection_type = lan_->isChecked() ? ConnectionType::Lan
                          : remote_access_->isChecked() ? ConnectionType::RemoteAccess
                                                        : ConnectionType::All;
  if (rule_index_) policy_.rules.at(*rule_index_) = rule_;
  else policy_.rules.push_back(rule_);
  QDialog::accept();
}

}  // namespace ward::gui
