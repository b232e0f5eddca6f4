// The editor's main window: the store's policies (name, description, rules, assignment) with New,
// Edit, Duplicate, Delete, Import JSON and Export JSON; Connect to Directory swaps the JSON folder
// for the directory, where Assign to GPO, Remove Assignment, Link GPO, Unlink GPO, Link Options
// (enforced, enabled) and Block Inheritance administer Group Policy and Policy Results shows what
// a computer gets and why; Security Monitor opens the agent monitor window. Every store call runs on a worker thread;
// while one runs the window shows a busy indicator and refuses other store actions, and a failure
// opens an error dialog that says what failed, where and why.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <QFuture>
#include <QMainWindow>
#include <QPointer>

#include "gui/background.h"
#include "gui/gpo_dialog.h"
#include "gui/policy_store.h"
#include "directory/ldap/session.h"

class QAction;
class QLabel;
class QProgressBar;
class QTableView;

namespace ward::gui {

class PolicyListModel;
class PolicyResultsWindow;
class SecurityMonitor;
class FleetMonitor;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(std::unique_ptr<PolicyStore> store, QWidget* parent = nullptr);
  ~MainWindow() override;

  bool busy() const { return busy_; }
  PolicyListModel* policies() const { return model_; }
  QTableView* view() const { return view_; }
  QString last_error() const { return last_error_; }
  PolicyStore* store() const { return store_.get(); }
  SecurityMonitor* monitor() const;  // the open monitor window, or nullptr

  void refresh();
  void new_policy();
  void edit_selected();
  void duplicate_selected();
  void delete_selected();
  void import_file(const QString& path);  // reads, checks, and saves into the store
  void export_selected(const QString& path);
  void set_store(std::unique_ptr<PolicyStore> store);  // waits for a running store call first
  void connect_directory();  // asks with ConnectDialog, then connect_with()
  // In the background; `sysvol_path`: Active Directory's SysVol folder, if the user gave one.
  void connect_with(ldap::SessionOptions options, const QString& domain_dn, const QString& sysvol_path = {});
  void assign_selected();    // Group Policy actions (directory store only), each with a GpoDialog
  void unassign_gpo();
  void link_gpo();
  void unlink_gpo();
  void set_link_options();
  void block_inheritance();
  void open_policy_results();  // the Policy Results window (directory store only)
  void open_monitor();
  void open_fleet_monitor();  // the fleet view: many agents' monitor endpoints in one table
  FleetMonitor* fleet_monitor() const;  // the open fleet window, or nullptr
  PolicyResultsWindow* policy_results() const;  // the open Policy Results window, or nullptr

 signals:
  void idle();  // a store call has finished (successfully or not)

 private:
  template <class R>
  void start(const QString& doing, std::function<R()> work, std::function<void(R)> done) {
    set_busy(true, doing);
    pending_ = run_in_background<R>(this, std::move(work), [this, done = std::move(done)](R result) {
      set_busy(false, {});
      done(std::move(result));
      if (!busy_) emit idle();
    });
  }
  void set_busy(bool busy, const QString& doing);
  void show_error(const QString& what, const QString& detail);
  void show_store_error(const StoreError& error);
  void edit_policy(model::Policy policy, bool is_new);
  void save(model::Policy policy, const QString& done_text);
  std::optional<PolicySummary> selected() const;
  void with_selected_policy(const QString& doing, std::function<void(model::Policy)> then);
  void update_actions();
  void build_actions();
  // Lists the GPOs (and, for Link, the containers), asks with a GpoDialog, then runs `act`.
  void with_gpo_choice(GpoDialog::Mode mode, const QString& subject,
                       std::function<std::optional<StoreError>(GroupPolicyAdmin&, const GpoChoice&)> act,
                       const QString& done_text);

  std::unique_ptr<PolicyStore> store_;
  PolicyListModel* model_;
  QTableView* view_;
  QLabel* status_;
  QLabel* busy_label_;
  QProgressBar* busy_bar_;
  QAction* new_;
  QAction* edit_;
  QAction* duplicate_;
  QAction* delete_;
  QAction* import_;
  QAction* export_;
  QAction* refresh_;
  QAction* connect_;
  QAction* assign_;
  QAction* unassign_;
  QAction* link_;
  QAction* unlink_;
  QAction* link_options_;
  QAction* block_;
  QAction* results_;
  QAction* monitor_action_;
  QPointer<SecurityMonitor> monitor_;
  QAction* fleet_action_;
  QPointer<FleetMonitor> fleet_;
  QPointer<PolicyResultsWindow> results_window_;
  bool busy_ = false;
  QString last_error_;
  QFuture<void> pending_;
};

}  // namespace ward::gui
