#include "gui/policy_dialog.h"

#include <algorithm>
#include <limits>

#include <QAction>
#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QUndoStack>
#include <QVBoxLayout>

#include "directory/model/limits.h"
#include "gui/display_text.h"
#include "gui/filter_action_dialog.h"
#include "gui/filter_list_dialog.h"
#include "gui/function_command.h"
#include "gui/key_exchange_method_dialog.h"
#include "gui/key_exchange_methods_model.h"
#include "gui/list_editor.h"
#include "gui/problems_panel.h"
#include "gui/rule_dialog.h"
#include "gui/rules_model.h"
#include "gui/usage.h"

namespace ward::gui {

namespace {

QSpinBox* wide_spin(QWidget* parent, const QString& suffix) {
  // Wide ranges on purpose: an imported value outside the model's bounds stays visible and
  // validation names it, instead of being clamped silently.
  auto* spin = new QSpinBox(parent);
  spin->setRange(0, std::numeric_limits<int>::max());
  spin->setSuffix(suffix);
  return spin;
}

int as_int(std::uint32_t value) { return static_cast<int>(std::min<std::uint32_t>(value, std::numeric_limits<int>::max())); }

// `rule "Legal intra-department communications"` -> the quoted name.
std::string quoted_name(const std::string& object) {
  const auto first = object.find('"');
  const auto last = object.rfind('"');
  return first == std::string::npos || last <= first ? std::string() : object.substr(first + 1, last - first - 1);
}

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

PolicyDialog::PolicyDialog(model::Policy policy, QWidget* parent)
    : QDialog(parent), original_(policy), working_(std::move(policy)), undo_(new QUndoStack(this)),
      tabs_(new QTabWidget(this)), name_(new QLineEdit(this)), description_(new QPlainTextEdit(this)),
      polling_(wide_spin(this, " minutes")), legacy_(new QCheckBox("Allow &legacy algorithms (3DES, MD5, DH group 2)", this)),
      methods_model_(new KeyExchangeMethodsModel(this)),
      methods_(new ListEditor(methods_model_, ListEditor::Ordering::Ordered, this)),
      master_key_pfs_(new QCheckBox("&Master key perfect forward secrecy (PFS)", this)),
      lifetime_(wide_spin(this, " minutes")), quick_mode_limit_(wide_spin(this, " quick modes")),
      rules_model_(new RulesModel(this)), rules_(new ListEditor(rules_model_, ListEditor::Ordering::Unordered, this)),
      problems_(new ProblemsPanel(this)), summary_(new QLabel(this)),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this)) {
  setWindowTitle("IPsec Policy Properties");
  name_->setObjectName("name");
  description_->setObjectName("description");
  polling_->setObjectName("polling_interval");
  legacy_->setObjectName("allow_legacy_algorithms");
  methods_->setObjectName("key_exchange_methods");
  master_key_pfs_->setObjectName("master_key_pfs");
  lifetime_->setObjectName("lifetime_minutes");
  quick_mode_limit_->setObjectName("quick_mode_limit");
  rules_->setObjectName("rules");
  problems_->setObjectName("problems");
  summary_->setObjectName("summary");

  name_->setText(qs(working_.name));
  description_->setPlainText(qs(working_.description));
  polling_->setValue(as_int(working_.polling_interval_minutes));
  legacy_->setChecked(working_.allow_legacy_algorithms);
  master_key_pfs_->setChecked(working_.key_exchange.master_key_pfs);
  lifetime_->setValue(as_int(working_.key_exchange.lifetime_minutes));
  quick_mode_limit_->setValue(as_int(working_.key_exchange.quick_mode_limit));
  quick_mode_limit_->setSpecialValueText("unlimited");

  tabs_->addTab(build_general_tab(), "&General");
  tabs_->addTab(build_key_exchange_tab(), "&Key Exchange");
  tabs_->addTab(build_rules_tab(), "R&ules");

  auto* problems_box = new QWidget(this);
  auto* problems_layout = new QVBoxLayout(problems_box);
  problems_layout->setContentsMargins(0, 0, 0, 0);
  auto* problems_label = new QLabel("Pro&blems (double-click one to go to it):", this);
  problems_label->setBuddy(problems_);
  problems_layout->addWidget(problems_label);
  problems_layout->addWidget(problems_, 1);
  problems_layout->addWidget(summary_);
  auto* splitter = new QSplitter(Qt::Vertical, this);
  splitter->addWidget(tabs_);
  splitter->addWidget(problems_box);
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(splitter, 1);
  layout->addWidget(buttons_);
  connect(buttons_, &QDialogButtonBox::accepted, this, &PolicyDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &PolicyDialog::reject);
  connect(problems_, &ProblemsPanel::problem_activated, this, &PolicyDialog::show_problem);

  auto* undo_action = undo_->createUndoAction(this);
  undo_action->setShortcut(QKeySequence::Undo);
  addAction(undo_action);
  auto* redo_action = undo_->createRedoAction(this);
  redo_action->setShortcut(QKeySequence::Redo);
  addAction(redo_action);

  connect_general_fields();
  connect_key_exchange_editor();
  connect_rules_editor();
  refresh_tables();
  revalidate();
  setTabOrder(name_, description_);
  setTabOrder(description_, polling_);
  setTabOrder(polling_, legacy_);
  resize(1000, 680);
}

QWidget* PolicyDialog::build_general_tab() {
  auto* page = new QWidget(this);
  auto* form = new QFormLayout(page);
  description_->setTabChangesFocus(true);
  description_->setMaximumHeight(110);
  form->addRow("&Name:", name_);
  form->addRow("&Description:", description_);
  form->addRow("Check for policy changes &every:", polling_);
  form->addRow(legacy_);
  return page;
}

QWidget* PolicyDialog::build_key_exchange_tab() {
  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  auto* methods_label = new QLabel("Key exchange &security methods, in order of preference:", page);
  methods_label->setBuddy(methods_->view());
  layout->addWidget(methods_label);
  layout->addWidget(methods_, 1);
  auto* form = new QFormLayout;
  form->addRow(master_key_pfs_);
  form->addRow("Authenticate and generate a new key after &every:", lifetime_);
  form->addRow("...or after this number of &quick mode sessions (0: unlimited):", quick_mode_limit_);
  layout->addLayout(form);
  return page;
}

QWidget* PolicyDialog::build_rules_tab() {
  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  auto* rules_label = new QLabel("IP security &rules:", page);
  rules_label->setBuddy(rules_->view());
  layout->addWidget(rules_label);
  layout->addWidget(rules_, 1);
  auto* undo_row = new QHBoxLayout;
  auto* undo_button = new QPushButton("Undo", page);
  auto* redo_button = new QPushButton("Redo", page);
  undo_button->setObjectName("undo");
  redo_button->setObjectName("redo");
  undo_button->setEnabled(false);
  redo_button->setEnabled(false);
  connect(undo_button, &QPushButton::clicked, undo_, &QUndoStack::undo);
  connect(redo_button, &QPushButton::clicked, undo_, &QUndoStack::redo);
  connect(undo_, &QUndoStack::canUndoChanged, undo_button, &QPushButton::setEnabled);
  connect(undo_, &QUndoStack::canRedoChanged, redo_button, &QPushButton::setEnabled);
  connect(undo_, &QUndoStack::undoTextChanged, undo_button, [undo_button](const QString& text) {
    undo_button->setText(text.isEmpty() ? QString("Undo") : "Undo " + text);
  });
  connect(undo_, &QUndoStack::redoTextChanged, redo_button, [redo_button](const QString& text) {
    redo_button->setText(text.isEmpty() ? QString("Redo") : "Redo " + text);
  });
  undo_row->addWidget(undo_button);
  undo_row->addWidget(redo_button);
  undo_row->addStretch();
  layout->addLayout(undo_row);
  // Names take the spare width (elided when long) so that every column stays visible.
  auto* header = rules_->view()->horizontalHeader();
  header->setStretchLastSection(false);
  for (const int column : {RulesModel::kName, RulesModel::kFilterList, RulesModel::kFilterAction}) {
    header->setSectionResizeMode(column, QHeaderView::Stretch);
  }
  return page;
}

void PolicyDialog::connect_general_fields() {
  connect(name_, &QLineEdit::textChanged, this, [this](const QString& text) {
    working_.name = text.toStdString();
    revalidate();
  });
  connect(description_, &QPlainTextEdit::textChanged, this, [this] {
    working_.description = description_->toPlainText().toStdString();
    revalidate();
  });
  connect(polling_, &QSpinBox::valueChanged, this, [this](int value) {
    working_.polling_interval_minutes = static_cast<std::uint32_t>(value);
    revalidate();
  });
  connect(legacy_, &QCheckBox::toggled, this, [this](bool on) {
    working_.allow_legacy_algorithms = on;
    revalidate();
  });
  connect(master_key_pfs_, &QCheckBox::toggled, this, [this](bool on) {
    working_.key_exchange.master_key_pfs = on;
    revalidate();
  });
  connect(lifetime_, &QSpinBox::valueChanged, this, [this](int value) {
    working_.key_exchange.lifetime_minutes = static_cast<std::uint32_t>(value);
    revalidate();
  });
  connect(quick_mode_limit_, &QSpinBox::valueChanged, this, [this](int value) {
    working_.key_exchange.quick_mode_limit = static_cast<std::uint32_t>(value);
    revalidate();
  });
}

void PolicyDialog::connect_key_exchange_editor() {
  auto methods = [this] { return working_.key_exchange.methods; };
  auto commit = [this](const QString& text, std::vector<model::KeyExchangeMethod> next, int select) {
    auto policy = working_;
    policy.key_exchange.methods = std::move(next);
    change(text, policy);
    methods_->select_row(select);
  };
  connect(methods_, &ListEditor::add_requested, this, [this, methods, commit] {
    KeyExchangeMethodDialog dialog(model::KeyExchangeMethod{}, this);
    if (dialog.exec() != QDialog::Accepted) return;
    auto next = methods();
    next.push_back(dialog.method());
    const int row = static_cast<int>(next.size()) - 1;
    commit("add key exchange method", std::move(next), row);
  });
  connect(methods_, &ListEditor::edit_requested, this, [this, methods, commit](int row) {
    auto next = methods();
    KeyExchangeMethodDialog dialog(next.at(static_cast<std::size_t>(row)), this);
    if (dialog.exec() != QDialog::Accepted) return;
    next[static_cast<std::size_t>(row)] = dialog.method();
    commit("edit key exchange method", std::move(next), row);
  });
  connect(methods_, &ListEditor::remove_requested, this, [methods, commit](int row) {
    auto next = methods();
    next.erase(next.begin() + row);
    commit("remove key exchange method", std::move(next), row);
  });
  connect(methods_, &ListEditor::move_requested, this, [methods, commit](int row, int to) {
    auto next = methods();
    std::swap(next[static_cast<std::size_t>(row)], next[static_cast<std::size_t>(to)]);
    commit("move key exchange method", std::move(next), to);
  });
}

void PolicyDialog::connect_rules_editor() {
  connect(rules_, &ListEditor::add_requested, this, [this] {
    RuleDialog dialog(working_, std::nullopt, this);
    if (dialog.exec() != QDialog::Accepted) return;
    change("add rule", dialog.policy());
    rules_->select_row(static_cast<int>(dialog.rule_index()));
  });
  connect(rules_, &ListEditor::edit_requested, this, &PolicyDialog::edit_rule);
  connect(rules_, &ListEditor::remove_requested, this, [this](int row) {
    auto next = working_;
    const auto name = qs(next.rules.at(static_cast<std::size_t>(row)).name);
    next.rules.erase(next.rules.begin() + row);
    change("remove rule \"" + name + "\"", next);
    rules_->select_row(row);
  });
  rules_model_->on_active_toggled([this](int row, bool active) {
    auto next = working_;
    next.rules.at(static_cast<std::size_t>(row)).active = active;
    change(active ? "activate rule" : "deactivate rule", next);
  });
}

void PolicyDialog::edit_rule(int row) {
  if (row < 0 || static_cast<std::size_t>(row) >= working_.rules.size()) return;
  tabs_->setCurrentIndex(kRulesTab);
  rules_->select_row(row);
  RuleDialog dialog(working_, static_cast<std::size_t>(row), this);
  if (dialog.exec() != QDialog::Accepted || dialog.policy() == working_) return;
  change("edit rule", dialog.policy());
  rules_->select_row(row);
}

void PolicyDialog::edit_filter_list(const model::Guid& id) {
  auto next = working_;
  auto it = std::find_if(next.filter_lists.begin(), next.filter_lists.end(), [&](const auto& list) { return list.id == id; });
  if (it == next.filter_lists.end()) return;
  FilterListDialog dialog(*it, rules_using_filter_list(working_, id), this);
  if (dialog.exec() != QDialog::Accepted || dialog.filter_list() == *it) return;
  *it = dialog.filter_list();
  change("edit filter list", next);
}

void PolicyDialog::edit_filter_action(const model::Guid& id) {
  auto next = working_;
  auto it = std::find_if(next.filter_actions.begin(), next.filter_actions.end(), [&](const auto& action) { return action.id == id; });
  if (it == next.filter_actions.end()) return;
  FilterActionDialog dialog(*it, rules_using_filter_action(working_, id), this);
  if (dialog.exec() != QDialog::Accepted || dialog.filter_action() == *it) return;
  *it = dialog.filter_action();
  change("edit filter action", next);
}

void PolicyDialog::show_problem(const model::Problem& problem) {
  const std::string& object = problem.object;
  const std::string name = quoted_name(object);
  if (starts_with(object, "rule ")) {
    for (std::size_t i = 0; i < working_.rules.size(); ++i) {
      const auto& rule = working_.rules[i];
      if (model::display_name(rule) == name || object == "rule " + rule.id.to_string()) return edit_rule(static_cast<int>(i));
    }
  } else if (starts_with(object, "filter list ") || starts_with(object, "filter {")) {
    for (const auto& list : working_.filter_lists) {
      if (list.name == name || object == "filter list " + list.id.to_string()) return edit_filter_list(list.id);
    }
  } else if (starts_with(object, "filter action ")) {
    for (const auto& action : working_.filter_actions) {
      if (model::display_name(working_, action) == name || object == "filter action " + action.id.to_string()) {
        return edit_filter_action(action.id);
      }
    }
  } else if (starts_with(object, "key exchange settings")) {
    tabs_->setCurrentIndex(kKeyExchangeTab);
    if (problem.field == "lifetime_minutes") lifetime_->setFocus();
    else if (problem.field == "quick_mode_limit") quick_mode_limit_->setFocus();
    else if (starts_with(problem.field, "methods[")) {
      methods_->select_row(std::atoi(problem.field.c_str() + std::string_view("methods[").size()));
      methods_->view()->setFocus();
    }
  } else if (starts_with(object, "policy ")) {
    if (problem.field == "rules") {
      tabs_->setCurrentIndex(kRulesTab);
      rules_->add_button()->setFocus();
      return;
    }
    tabs_->setCurrentIndex(kGeneralTab);
    if (problem.field == "polling_interval_minutes") polling_->setFocus();
    else name_->setFocus();
  }
}

void PolicyDialog::change(const QString& text, const model::Policy& next) {
  undo_->push(new FunctionCommand(
      text, [this, next] { restore(next); }, [this, before = working_] { restore(before); }));
}

// Undo and redo restore what the commands change: methods, lists, actions and rules. The general
// fields keep their current values (each line edit has its own undo).
void PolicyDialog::restore(const model::Policy& snapshot) {
  working_.key_exchange.methods = snapshot.key_exchange.methods;
  working_.filter_lists = snapshot.filter_lists;
  working_.filter_actions = snapshot.filter_actions;
  working_.rules = snapshot.rules;
  refresh_tables();
  revalidate();
}

void PolicyDialog::refresh_tables() {
  const int method_row = methods_->current_row();
  const int rule_row = rules_->current_row();
  methods_model_->set_items(working_.key_exchange.methods);
  rules_model_->set_policy(working_);
  if (method_row >= 0) methods_->select_row(method_row);
  if (rule_row >= 0) rules_->select_row(rule_row);
}

void PolicyDialog::revalidate() {
  const auto problems = model::validate(working_);
  problems_->set_problems(problems);
  const bool errors = model::has_errors(problems);
  ok_button()->setEnabled(!errors);
  summary_->setText(problems_->summary() + (errors ? " — fix the errors to save the policy." : ""));
  summary_->setStyleSheet(errors ? "color: #a00000" : "");
  setWindowTitle((working_.name.empty() ? QString("New IPsec Policy") : qs(working_.name)) + " — Properties" +
                 (has_unsaved_changes() ? " *" : ""));
}

QPushButton* PolicyDialog::ok_button() const { return buttons_->button(QDialogButtonBox::Ok); }

void PolicyDialog::accept() {
  if (model::has_errors(model::validate(working_))) {
    summary_->setText(problems_->summary() + " — the policy cannot be saved while errors remain.");
    return;
  }
  QDialog::accept();
}

void PolicyDialog::reject() {
  if (!has_unsaved_changes()) return QDialog::reject();
  QMessageBox box(QMessageBox::Question, "Unsaved changes", "The policy \"" + qs(working_.name) + "\" has unsaved changes.",
                  QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
  box.setObjectName("unsaved_changes");
  box.setInformativeText("Save them, discard them, or go back to editing?");
  box.setDefaultButton(QMessageBox::Cancel);
  box.button(QMessageBox::Save)->setEnabled(ok_button()->isEnabled());
  switch (box.exec()) {
    case QMessageBox::Save: return accept();
    case QMessageBox::Discard: return QDialog::reject();
    default: return;
  }
}

}  // namespace ward::gui
