// FleetMonitor: the Security Monitor's fleet view — several agents at once, one row each: its
// policy and how it stands, established main modes, negotiations under way, quick mode SAs, soft
// associations, recent failed negotiations, bytes, or why it could not be read. The agents come
// from a list the helpdesk keeps (fleet_list.h: typed, or loaded from and saved to a file); the
// TLS monitor endpoints share the helpdesk's client certificate, key and CA bundle.
//
// Every poll reads all agents at once on the thread pool (one connection each, show-sa and
// show-policy). Double-clicking a row opens the Security Monitor on that agent; Compare opens the
// two-host view (two_host_view.h) on the two selected rows.
#pragma once

#include <vector>

#include <QFuture>
#include <QMainWindow>

#include "gui/agent_link.h"
#include "gui/fleet_list.h"

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QStandardItemModel;
class QTableView;
class QTimer;

namespace ward::gui {

class SecurityMonitor;
class TwoHostView;

class FleetMonitor : public QMainWindow {
  Q_OBJECT

 public:
  explicit FleetMonitor(QWidget* parent = nullptr);
  ~FleetMonitor() override;

  // Takes the typed list and TLS files and polls now and every kPollInterval; false (and the
  // reason in the status bar and last_error()) when the list or the TLS files are wrong.
  bool start();
  void stop();
  void poll();  // one refresh now (ignored while one runs)
  bool load_list(const QString& path);
  bool save_list(const QString& path);

  // The Security Monitor / two-host view on rows of the table (nullptr when the rows are not there).
  SecurityMonitor* open_monitor(int row);
  TwoHostView* compare(int row_a, int row_b);

  int completed_polls() const { return completed_polls_; }
  QString last_error() const { return last_error_; }
  QPlainTextEdit* list_edit() const { return list_edit_; }
  QLineEdit* certificate_edit() const { return certificate_edit_; }
  QLineEdit* private_key_edit() const { return private_key_edit_; }
  QLineEdit* ca_edit() const { return ca_edit_; }
  QPushButton* start_button() const { return start_button_; }
  QPushButton* compare_button() const { return compare_button_; }
  QTableView* fleet_view() const { return view_; }
  QStandardItemModel* fleet_model() const { return model_; }  // rows in list order (the view sorts)

 signals:
  void polled();

 private:
  void choose_file(QLineEdit* edit, const QString& title);
  AgentTarget target_of(const FleetEntry& entry) const;
  void apply(const std::vector<AgentSnapshot>& snapshots);
  std::optional<agent::monitor::TlsFiles> tls_files() const;

  std::vector<FleetEntry> entries_;
  QTimer* timer_;
  QPlainTextEdit* list_edit_;
  QLineEdit* certificate_edit_;
  QLineEdit* private_key_edit_;
  QLineEdit* ca_edit_;
  QPushButton* start_button_;
  QPushButton* compare_button_;
  QStandardItemModel* model_;
  QTableView* view_;
  QLabel* status_;
  bool running_ = false;
  bool polling_ = false;
  bool sized_ = false;
  int completed_polls_ = 0;
  QString last_error_;
  QFuture<void> poll_future_;
};

}  // namespace ward::gui
