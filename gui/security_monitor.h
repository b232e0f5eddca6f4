// SecurityMonitor: a live view of one Ward agent through its control socket (agent/control's
// newline-delimited JSON): main mode and quick mode SAs (filter box and sortable columns), counters
// per filter (bytes, packets, drops summed over its SAs), the active policy with where it came
// from (GPO, OU, policy DN) and its filters, an explain panel for a typed 5-tuple, and charts of
// bytes and packets per SA and of IKE negotiations and failures per minute (monitor_charts.h).
//
// The agent is reached either through its local control socket or, for a remote agent, through
// its TLS monitor endpoint (agent/monitor: host:port, this side's client certificate and key, the
// CA the agent's certificate must chain to; the same JSON, refresh and flush refused there).
//
// Every agent call runs on Qt's thread pool: a poll every kPollInterval reads show-sa,
// show-policy, show-filters and show-events over one connection (agent_link.h); explain runs when asked. A failed poll shows
// its reason in the status bar and the tables keep their last contents.
#pragma once

#include <chrono>

#include <optional>

#include <QFuture>
#include <QMainWindow>
#include <nlohmann/json.hpp>

#include <memory>

#include "gui/agent_link.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTabWidget;
class QTableView;
class QTimer;

namespace ward::gui {

class MonitorCharts;
class TrafficHistory;

inline constexpr std::chrono::milliseconds kPollInterval{3000};

class SecurityMonitor : public QMainWindow {
  Q_OBJECT

 public:
  enum Tab { kMainModeTab, kQuickModeTab, kStatisticsTab, kPolicyTab, kExplainTab, kChartsTab };
  enum Endpoint { kLocalSocket, kTlsMonitor };  // endpoint_combo() rows

  using Target = AgentTarget;

  explicit SecurityMonitor(QWidget* parent = nullptr);
  ~SecurityMonitor() override;

  void connect_to(const QString& socket_path);  // starts polling (first poll at once)
  void connect_to_remote(const QString& endpoint, const agent::monitor::TlsFiles& tls);
  void connect_to_target(const Target& target);
  void disconnect_agent();
  void poll();          // one refresh now (ignored while one runs)
  void explain_now();   // explains the typed 5-tuple

  bool connected() const { return target_.has_value(); }
  int completed_polls() const { return completed_polls_; }
  QString last_error() const { return last_error_; }

  QTabWidget* tabs() const { return tabs_; }
  QComboBox* endpoint_combo() const { return endpoint_; }
  QLineEdit* socket_edit() const { return socket_edit_; }
  QPushButton* connect_button() const { return connect_button_; }
  QLineEdit* certificate_edit() const { return certificate_edit_; }
  QLineEdit* private_key_edit() const { return private_key_edit_; }
  QLineEdit* ca_edit() const { return ca_edit_; }
  QTableView* main_mode_view() const { return main_mode_view_; }
  QTableView* quick_mode_view() const { return quick_mode_view_; }
  QLineEdit* sa_filter_edit() const { return sa_filter_; }
  QSortFilterProxyModel* quick_mode_proxy() const { return quick_mode_proxy_; }
  QTableView* statistics_view() const { return statistics_view_; }
  QTableView* policy_filters_view() const { return filters_view_; }
  QLabel* policy_name_label() const { return policy_name_; }
  QLabel* policy_source_label() const { return policy_source_; }
  QLineEdit* explain_source_edit() const { return explain_source_; }
  QLineEdit* explain_destination_edit() const { return explain_destination_; }
  QComboBox* explain_protocol_combo() const { return explain_protocol_; }
  QLineEdit* explain_source_port_edit() const { return explain_source_port_; }
  QLineEdit* explain_destination_port_edit() const { return explain_destination_port_; }
  QPushButton* explain_button() const { return explain_button_; }
  QPlainTextEdit* explain_output() const { return explain_output_; }
  MonitorCharts* charts() const { return charts_; }
  const TrafficHistory& history() const { return *history_; }

 signals:
  void polled();     // a poll finished (successfully or not)
  void explained();  // an explain answer (or its error) is shown

 private:
  void build_connection_bar();
  QWidget* build_sa_tab(QTableView* view, QLabel* note);
  QWidget* build_statistics_tab();
  QWidget* build_policy_tab();
  QWidget* build_explain_tab();
  void apply(const AgentSnapshot& snapshot);
  void fill_sas(const nlohmann::json& sas, const nlohmann::json& main_mode);
  void fill_statistics(const nlohmann::json& sas);
  void fill_policy(const nlohmann::json& policy, const nlohmann::json& filters);
  void set_busy(bool busy);
  void update_endpoint_fields();
  void choose_file(QLineEdit* edit, const QString& title);
  Target typed_target() const;

  std::optional<Target> target_;
  QTimer* timer_;
  QComboBox* endpoint_;
  QLineEdit* socket_edit_;
  QLabel* socket_label_;
  QWidget* tls_row_;
  QLineEdit* certificate_edit_;
  QLineEdit* private_key_edit_;
  QLineEdit* ca_edit_;
  QPushButton* connect_button_;
  QLabel* status_;
  QProgressBar* busy_bar_;
  QTabWidget* tabs_;
  QStandardItemModel* main_mode_model_;
  QSortFilterProxyModel* main_mode_proxy_;
  QTableView* main_mode_view_;
  QLabel* main_mode_note_;
  QStandardItemModel* quick_mode_model_;
  QSortFilterProxyModel* quick_mode_proxy_;
  QTableView* quick_mode_view_;
  QLineEdit* sa_filter_;
  QStandardItemModel* statistics_model_;
  QSortFilterProxyModel* statistics_proxy_;
  QTableView* statistics_view_;
  QLabel* policy_name_;
  QLabel* policy_state_;
  QLabel* policy_source_;
  QLabel* policy_dn_;
  QLabel* policy_fetched_;
  QStandardItemModel* filters_model_;
  QTableView* filters_view_;
  QLineEdit* explain_source_;
  QLineEdit* explain_destination_;
  QComboBox* explain_protocol_;
  QLineEdit* explain_source_port_;
  QLineEdit* explain_destination_port_;
  QPushButton* explain_button_;
  QPlainTextEdit* explain_output_;
  MonitorCharts* charts_;
  std::unique_ptr<TrafficHistory> history_;
  bool polling_ = false;
  bool sized_ = false;  // columns fitted to the first rows
  bool explaining_ = false;
  int completed_polls_ = 0;
  QString last_error_;
  QFuture<void> poll_future_;
  QFuture<void> explain_future_;
};

}  // namespace ward::gui
