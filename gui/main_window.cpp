#include "gui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QFile>
#include <QFileDialog>
#include <QHeaderView>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QStatusBar>
#include <QTableView>
#include <QToolBar>

#include "directory/model/policy_json.h"
#include "gui/connect_dialog.h"
#include "gui/display_text.h"
#include "gui/ldap_policy_store.h"
#include "gui/policy_results_window.h"
#include "gui/fleet_monitor.h"
#include "gui/security_monitor.h"
#include "gui/policy_dialog.h"
#include "directory/model/fresh_ids.h"
#include "gui/policy_ids.h"
#include "gui/policy_list_model.h"
#include "gui/private_file.h"

namespace ward::gui {

namespace {
constexpr int kBusyBarWidth = 120;
}

MainWindow::MainWindow(std::unique_ptr<PolicyStore> store, QWidget* parent)
    : QMainWindow(parent), store_(std::move(store)), model_(new PolicyListModel(this)), view_(new QTableView(this)),
      status_(new QLabel(this)), busy_label_(new QLabel(this)), busy_bar_(new QProgressBar(this)) {
  setWindowTitle("Ward IPsec Policy Editor — " + store_->location());
  setObjectName("main_window");
  view_->setObjectName("policies");
  view_->setModel(model_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->setTabKeyNavigation(false);
  view_->setAlternatingRowColors(true);
  view_->verticalHeader()->hide();
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  view_->setColumnWidth(PolicyListModel::kName, 280);
  view_->setColumnWidth(PolicyListModel::kDescription, 380);
  view_->setColumnWidth(PolicyListModel::kRules, 60);
  view_->setToolTip("Enter or F2 edits the selected policy, Delete removes it");
  setCentralWidget(view_);

  busy_bar_->setRange(0, 0);  // an indeterminate "working" bar
  busy_bar_->setMaximumWidth(kBusyBarWidth);
  busy_bar_->hide();
  busy_label_->hide();
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(busy_label_);
  statusBar()->addPermanentWidget(busy_bar_);

  build_actions();
  connect(view_, &QTableView::doubleClicked, this, [this] { edit_selected(); });
  connect(view_, &QTableView::activated, this, [this] { edit_selected(); });
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] { update_actions(); });
  resize(1200, 600);
  refresh();
}

MainWindow::~MainWindow() {
  delete results_window_.data();  // before store_ goes: its worker may use the store
  pending_.waitForFinished();  // the worker may still use store_
  if (busy_) QApplication::restoreOverrideCursor();
}

void MainWindow::build_actions() {
  new_ = new QAction("&New Policy...", this);
  edit_ = new QAction("&Edit...", this);
  duplicate_ = new QAction("D&uplicate", this);
  delete_ = new QAction("&Delete", this);
  import_ = new QAction("&Import JSON...", this);
  export_ = new QAction("E&xport JSON...", this);
  refresh_ = new QAction("&Refresh", this);
  new_->setShortcut(QKeySequence::New);
  edit_->setShortcut(Qt::Key_F2);
  duplicate_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
  delete_->setShortcut(QKeySequence::Delete);
  delete_->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  view_->addAction(delete_);
  import_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
  export_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  refresh_->setShortcut(QKeySequence::Refresh);
  auto* quit = new QAction("&Quit", this);
  quit->setShortcut(QKeySequence::Quit);
  connect_ = new QAction("&Connect to Directory...", this);
  connect_->setObjectName("connect_directory");
  connect_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  assign_ = new QAction("Assign to &GPO...", this);
  assign_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
  link_ = new QAction("&Link GPO...", this);
  link_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  unlink_ = new QAction("U&nlink GPO...", this);
  unlink_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));
  unassign_ = new QAction("&Remove Assignment...", this);
  unassign_->setObjectName("unassign");
  unassign_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_G));
  link_options_ = new QAction("Link &Options (Enforced)...", this);
  link_options_->setObjectName("link_options");
  block_ = new QAction("&Block Inheritance...", this);
  block_->setObjectName("block_inheritance");
  results_ = new QAction("Policy Res&ults...", this);
  results_->setObjectName("policy_results");
  results_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
  monitor_action_ = new QAction("Security &Monitor...", this);
  monitor_action_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
  connect(connect_, &QAction::triggered, this, &MainWindow::connect_directory);
  connect(assign_, &QAction::triggered, this, &MainWindow::assign_selected);
  connect(link_, &QAction::triggered, this, &MainWindow::link_gpo);
  connect(unlink_, &QAction::triggered, this, &MainWindow::unlink_gpo);
  connect(unassign_, &QAction::triggered, this, &MainWindow::unassign_gpo);
  connect(link_options_, &QAction::triggered, this, &MainWindow::set_link_options);
  connect(block_, &QAction::triggered, this, &MainWindow::block_inheritance);
  connect(results_, &QAction::triggered, this, &MainWindow::open_policy_results);
  connect(monitor_action_, &QAction::triggered, this, &MainWindow::open_monitor);
  fleet_action_ = new QAction("&Fleet Monitor...", this);
  fleet_action_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M));
  connect(fleet_action_, &QAction::triggered, this, &MainWindow::open_fleet_monitor);

  connect(new_, &QAction::triggered, this, &MainWindow::new_policy);
  connect(edit_, &QAction::triggered, this, &MainWindow::edit_selected);
  connect(duplicate_, &QAction::triggered, this, &MainWindow::duplicate_selected);
  connect(delete_, &QAction::triggered, this, &MainWindow::delete_selected);
  connect(refresh_, &QAction::triggered, this, &MainWindow::refresh);
  connect(quit, &QAction::triggered, this, &QWidget::close);
  connect(import_, &QAction::triggered, this, [this] {
    const auto path = QFileDialog::getOpenFileName(this, "Import policy", {}, "Ward policy JSON (*.json)");
    if (!path.isEmpty()) import_file(path);
  });
  connect(export_, &QAction::triggered, this, [this] {
    const auto summary = selected();
    if (!summary) return;
    const auto path = QFileDialog::getSaveFileName(this, "Export policy", summary->name + ".json", "Ward policy JSON (*.json)");
    if (!path.isEmpty()) export_selected(path);
  });

  auto* file_menu = menuBar()->addMenu("&File");
  file_menu->addAction(connect_);
  file_menu->addSeparator();
  file_menu->addAction(import_);
  file_menu->addAction(export_);
  file_menu->addSeparator();
  file_menu->addAction(quit);
  auto* policy_menu = menuBar()->addMenu("&Policy");
  for (auto* action : {new_, edit_, duplicate_, delete_}) policy_menu->addAction(action);
  policy_menu->addSeparator();
  policy_menu->addAction(refresh_);
  auto* gpo_menu = menuBar()->addMenu("&Group Policy");
  for (auto* action : {assign_, unassign_}) gpo_menu->addAction(action);
  gpo_menu->addSeparator();
  for (auto* action : {link_, unlink_, link_options_, block_}) gpo_menu->addAction(action);
  gpo_menu->addSeparator();
  gpo_menu->addAction(results_);
  auto* tools_menu = menuBar()->addMenu("&Tools");
  tools_menu->addAction(monitor_action_);
  tools_menu->addAction(fleet_action_);
  auto* toolbar = addToolBar("Policies");
  toolbar->setObjectName("policy_toolbar");
  toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
  for (auto* action : {new_, edit_, duplicate_, delete_, import_, export_, refresh_}) toolbar->addAction(action);
  addToolBarBreak();
  auto* gpo_toolbar = addToolBar("Group Policy");
  gpo_toolbar->setObjectName("gpo_toolbar");
  gpo_toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
  for (auto* action : {connect_, assign_, unassign_, link_, unlink_, link_options_, block_, results_, monitor_action_}) {
    gpo_toolbar->addAction(action);
  }
  update_actions();
}

std::optional<PolicySummary> MainWindow::selected() const {
  const auto rows = view_->selectionModel()->selectedRows();
  if (rows.isEmpty()) return std::nullopt;
  return model_->items().at(static_cast<std::size_t>(rows.front().row()));
}

void MainWindow::update_actions() {
  const auto summary = selected();
  const bool readable = summary && summary->load_problem.isEmpty();
  new_->setEnabled(!busy_);
  import_->setEnabled(!busy_);
  refresh_->setEnabled(!busy_);
  edit_->setEnabled(!busy_ && readable);
  duplicate_->setEnabled(!busy_ && readable);
  export_->setEnabled(!busy_ && readable);
  delete_->setEnabled(!busy_ && readable);
  const bool gpo = store_ && store_->group_policy() != nullptr;
  connect_->setEnabled(!busy_);
  assign_->setEnabled(!busy_ && gpo && readable);
  for (auto* action : {unassign_, link_, unlink_, link_options_, block_, results_}) action->setEnabled(!busy_ && gpo);
}

void MainWindow::set_busy(bool busy, const QString& doing) {
  busy_ = busy;
  busy_label_->setText(doing);
  busy_label_->setVisible(busy);
  busy_bar_->setVisible(busy);
  if (busy) QApplication::setOverrideCursor(Qt::BusyCursor);
  else QApplication::restoreOverrideCursor();
  update_actions();
}

void MainWindow::show_error(const QString& what, const QString& detail) {
  last_error_ = what + ": " + detail;
  statusBar()->showMessage(what, 10000);
  auto* box = new QMessageBox(QMessageBox::Critical, "Ward policy editor", what, QMessageBox::Ok, this);
  box->setObjectName("error");
  box->setInformativeText(detail);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();  // window-modal and non-blocking: the window keeps painting
}

void MainWindow::show_store_error(const StoreError& error) { show_error(error.what, error.where + ": " + error.detail); }

void MainWindow::refresh() {
  const auto keep = selected();
  start<Expected<std::vector<PolicySummary>, StoreError>>(
      "Loading policies...", [store = store_.get()] { return store->list(); },
      [this, keep](Expected<std::vector<PolicySummary>, StoreError> result) {
        if (!result) {
          status_->setText(store_->location() + ": cannot list policies");
          return show_store_error(result.error());
        }
        std::sort(result->begin(), result->end(), [](const auto& a, const auto& b) {
          return QString::localeAwareCompare(a.name, b.name) < 0;
        });
        model_->set_items(std::move(result).value());
        status_->setText(QString("%1 — %2 polic%3").arg(store_->location()).arg(model_->rowCount()).arg(model_->rowCount() == 1 ? "y" : "ies"));
        for (int row = 0; keep && row < model_->rowCount(); ++row) {
          if (model_->items()[static_cast<std::size_t>(row)].id == keep->id) view_->selectRow(row);
        }
        update_actions();
      });
}

void MainWindow::with_selected_policy(const QString& doing, std::function<void(model::Policy)> then) {
  const auto summary = selected();
  if (!summary || busy_) return;
  start<Expected<model::Policy, StoreError>>(
      doing, [store = store_.get(), id = summary->id] { return store->load(id); },
      [this, then = std::move(then)](Expected<model::Policy, StoreError> result) {
        if (!result) return show_store_error(result.error());
        then(std::move(result).value());
      });
}

void MainWindow::save(model::Policy policy, const QString& done_text) {
  const auto name = qs(policy.name);
  start<std::optional<StoreError>>(
      "Saving \"" + name + "\"...", [store = store_.get(), policy = std::move(policy)] { return store->save(policy); },
      [this, done_text](std::optional<StoreError> failure) {
        if (failure) return show_store_error(*failure);
        statusBar()->showMessage(done_text, 5000);
        refresh();
      });
}

void MainWindow::edit_policy(model::Policy policy, bool is_new) {
  PolicyDialog dialog(std::move(policy), this);
  if (dialog.exec() != QDialog::Accepted) return;
  if (!is_new && !dialog.has_unsaved_changes()) return;
  save(dialog.policy(), "Saved \"" + qs(dialog.policy().name) + "\"");
}

void MainWindow::new_policy() {
  if (!busy_) edit_policy(gui::new_policy(), true);
}

void MainWindow::edit_selected() {
  with_selected_policy("Loading policy...", [this](model::Policy policy) { edit_policy(std::move(policy), false); });
}

void MainWindow::duplicate_selected() {
  with_selected_policy("Loading policy...", [this](model::Policy policy) {
    auto copy = model::with_fresh_ids(std::move(policy));
    copy.name = "Copy of " + copy.name;
    save(std::move(copy), "Duplicated");
  });
}

void MainWindow::delete_selected() {
  const auto summary = selected();
  if (!summary || busy_) return;
  QMessageBox box(QMessageBox::Warning, "Delete policy", "Delete the policy \"" + summary->name + "\"?",
                  QMessageBox::Yes | QMessageBox::Cancel, this);
  box.setObjectName("confirm_delete");
  box.setInformativeText("This cannot be undone.");
  box.setDefaultButton(QMessageBox::Cancel);
  if (box.exec() != QMessageBox::Yes) return;
  start<std::optional<StoreError>>(
      "Deleting \"" + summary->name + "\"...", [store = store_.get(), id = summary->id] { return store->remove(id); },
      [this, name = summary->name](std::optional<StoreError> failure) {
        if (failure) return show_store_error(*failure);
        statusBar()->showMessage("Deleted \"" + name + "\"", 5000);
        refresh();
      });
}

void MainWindow::import_file(const QString& path) {
  if (busy_) return;
  using Result = Expected<model::Policy, QString>;
  start<Result>(
      "Reading " + path + "...",
      [path]() -> Result {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly)) return unexpected(file.errorString());
        auto policy = model::policy_from_json(file.readAll().toStdString());
        if (!policy) {
          QString text;
          for (const auto& problem : policy.error()) text += qs(problem.to_string()) + "\n";
          return unexpected(text.trimmed());
        }
        return std::move(policy).value();
      },
      [this, path](Result result) {
        if (!result) return show_error("Cannot import " + path, result.error());
        auto policy = std::move(result).value();
        const bool exists = std::any_of(model_->items().begin(), model_->items().end(),
                                        [&](const PolicySummary& s) { return s.id == policy.id; });
        if (exists) {
          QMessageBox box(QMessageBox::Question, "Import policy",
                          "A policy with the id " + qs(policy.id.to_string()) + " exists already.",
                          QMessageBox::Yes | QMessageBox::No | QMessageBox::Cancel, this);
          box.setObjectName("import_exists");
          box.setInformativeText("Yes replaces it; No imports a copy with new ids.");
          const auto answer = box.exec();
          if (answer == QMessageBox::Cancel) return;
          if (answer == QMessageBox::No) policy = model::with_fresh_ids(std::move(policy));
        }
        // A policy with errors opens in the editor: it can only be stored once they are fixed.
        if (model::has_errors(model::validate(policy))) return edit_policy(std::move(policy), true);
        save(std::move(policy), "Imported " + path);
      });
}

void MainWindow::export_selected(const QString& path) {
  const auto summary = selected();
  if (!summary || busy_) return;
  start<std::optional<StoreError>>(
      "Exporting \"" + summary->name + "\"...",
      [store = store_.get(), id = summary->id, path]() -> std::optional<StoreError> {
        auto policy = store->load(id);
        if (!policy) return policy.error();
        // The file may hold preshared keys: written 0600 like the store's own files.
        if (auto failure = write_private_file(path, model::policy_to_json(*policy))) return StoreError{"cannot export policy", path, *failure};
        return std::nullopt;
      },
      [this, path](std::optional<StoreError> failure) {
        if (failure) return show_store_error(*failure);
        statusBar()->showMessage("Exported to " + path, 5000);
      });
}

void MainWindow::set_store(std::unique_ptr<PolicyStore> store) {
  pending_.waitForFinished();  // the worker may still use the old store
  delete results_window_.data();  // it works on the old store's Group Policy (and waits for its worker)
  store_ = std::move(store);
  setWindowTitle("Ward IPsec Policy Editor — " + store_->location());
  model_->set_items({});
  update_actions();
  refresh();
}

void MainWindow::connect_directory() {
  if (busy_) return;
  ConnectDialog dialog(this);
  if (dialog.exec() != QDialog::Accepted) return;
  const QString sysvol = dialog.sysvol_path();
  connect_with(dialog.take_options(), dialog.domain_dn(), sysvol);
}

void MainWindow::connect_with(ldap::SessionOptions options, const QString& domain_dn, const QString& sysvol_path) {
  if (busy_) return;
  using Result = Expected<std::unique_ptr<LdapPolicyStore>, StoreError>;
  const QString first = options.uris.empty() ? QString() : qs(options.uris.front());
  // The options (and the password in them) live until the worker's bind is over, no longer.
  auto shared = std::make_shared<ldap::SessionOptions>(std::move(options));
  start<Result>(
      "Connecting to " + first + "...",
      [shared, domain = domain_dn.toStdString(), sysvol = sysvol_path.toStdString()]() mutable {
        auto result = LdapPolicyStore::connect(*shared, domain, sysvol);
        *shared = ldap::SessionOptions{};
        return result;
      },
      [this](Result result) {
        if (!result) return show_store_error(result.error());
        set_store(std::move(result).value());
      });
}

void MainWindow::with_gpo_choice(GpoDialog::Mode mode, const QString& subject,
                                 std::function<std::optional<StoreError>(GroupPolicyAdmin&, const GpoChoice&)> act,
                                 const QString& done_text) {
  auto* admin = store_ ? store_->group_policy() : nullptr;
  if (!admin || busy_) return;
  struct Choices {
    std::vector<GpoSummary> gpos;
    std::vector<ContainerSummary> containers;
  };
  using Listed = Expected<Choices, StoreError>;
  start<Listed>(
      "Reading the GPOs...",
      [admin, mode]() -> Listed {
        auto gpos = admin->list_gpos();
        if (!gpos) return unexpected(gpos.error());
        Choices choices{std::move(gpos).value(), {}};
        if (mode == GpoDialog::Mode::Link || mode == GpoDialog::Mode::BlockInheritance) {
          auto containers = admin->list_containers();
          if (!containers) return unexpected(containers.error());
          choices.containers = std::move(containers).value();
        }
        return choices;
      },
      [this, admin, mode, subject, act = std::move(act), done_text](Listed listed) {
        if (!listed) return show_store_error(listed.error());
        GpoDialog dialog(mode, std::move(listed->gpos), std::move(listed->containers), subject, this);
        if (dialog.exec() != QDialog::Accepted) return;
        start<std::optional<StoreError>>(
            dialog.windowTitle() + "...", [admin, choice = dialog.choice(), act] { return act(*admin, choice); },
            [this, done_text](std::optional<StoreError> failure) {
              if (failure) return show_store_error(*failure);
              statusBar()->showMessage(done_text, 5000);
              refresh();
            });
      });
}

void MainWindow::assign_selected() {
  const auto summary = selected();
  if (!summary) return;
  with_gpo_choice(
      GpoDialog::Mode::Assign, summary->name,
      [id = summary->id](GroupPolicyAdmin& admin, const GpoChoice& dialog) -> std::optional<StoreError> {
        QString gpo = dialog.gpo_dn;
        if (gpo.isEmpty()) {
          auto created = admin.create_gpo(dialog.new_gpo_name);
          if (!created) return created.error();
          gpo = *created;
        }
        return admin.assign(gpo, id);
      },
      "Assigned \"" + summary->name + "\"");
}

void MainWindow::link_gpo() {
  with_gpo_choice(
      GpoDialog::Mode::Link, {},
      [](GroupPolicyAdmin& admin, const GpoChoice& dialog) { return admin.link(dialog.container_dn, dialog.gpo_dn); },
      "Linked the GPO");
}

void MainWindow::unlink_gpo() {
  with_gpo_choice(
      GpoDialog::Mode::Unlink, {},
      [](GroupPolicyAdmin& admin, const GpoChoice& dialog) { return admin.unlink(dialog.container_dn, dialog.gpo_dn); },
      "Unlinked the GPO");
}

void MainWindow::unassign_gpo() {
  with_gpo_choice(
      GpoDialog::Mode::Unassign, {},
      [](GroupPolicyAdmin& admin, const GpoChoice& dialog) { return admin.unassign(dialog.gpo_dn); },
      "Removed the GPO's IPsec assignment");
}

void MainWindow::set_link_options() {
  with_gpo_choice(
      GpoDialog::Mode::LinkOptions, {},
      [](GroupPolicyAdmin& admin, const GpoChoice& dialog) {
        return admin.set_link_options(GpoLink{dialog.container_dn, dialog.enforced, dialog.link_enabled}, dialog.gpo_dn);
      },
      "Changed the GPO link");
}

void MainWindow::block_inheritance() {
  with_gpo_choice(
      GpoDialog::Mode::BlockInheritance, {},
      [](GroupPolicyAdmin& admin, const GpoChoice& dialog) {
        return admin.set_block_inheritance(dialog.container_dn, dialog.block_inheritance);
      },
      "Changed Block Inheritance");
}

PolicyResultsWindow* MainWindow::policy_results() const { return results_window_.data(); }

void MainWindow::open_policy_results() {
  auto* admin = store_ ? store_->group_policy() : nullptr;
  if (!admin) return;
  if (!results_window_) {
    results_window_ = new PolicyResultsWindow(*admin, this);
    results_window_->setAttribute(Qt::WA_DeleteOnClose);
  }
  results_window_->show();
  results_window_->raise();
  results_window_->activateWindow();
}

SecurityMonitor* MainWindow::monitor() const { return monitor_.data(); }

void MainWindow::open_monitor() {
  if (!monitor_) {
    monitor_ = new SecurityMonitor(this);
    monitor_->setAttribute(Qt::WA_DeleteOnClose);
  }
  monitor_->show();
  monitor_->raise();
  monitor_->activateWindow();
}

FleetMonitor* MainWindow::fleet_monitor() const { return fleet_; }

void MainWindow::open_fleet_monitor() {
  if (!fleet_) {
    fleet_ = new FleetMonitor(this);
    fleet_->setAttribute(Qt::WA_DeleteOnClose);
  }
  fleet_->show();
  fleet_->raise();
  fleet_->activateWindow();
}

}  // namespace ward::gui
