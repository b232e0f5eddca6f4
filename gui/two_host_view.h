// TwoHostView: two agents side by side, for "why can A not talk to B": A's main modes, quick mode
// SAs, soft associations and failed negotiations with B beside B's with A (fleet_summary.h's
// rows_with_peer, by each host's IPsec address), the policy each enforces, and the same flow
// explained by both agents (each answers for its own side: A's outbound, B's inbound).
//
// Both agents are read on the thread pool, every kPollInterval and when asked; each side shows
// its own error and keeps its last rows when it cannot be read.
#pragma once

#include <QFuture>
#include <QMainWindow>

#include "gui/agent_link.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QStandardItemModel;
class QTableView;
class QTimer;

namespace ward::gui {

class TwoHostView : public QMainWindow {
  Q_OBJECT

 public:
  struct Host {
    QString name;
    QString address;  // its IPsec address: the other side's rows are those with this peer
    AgentTarget target;
  };
  struct Side {
    QLabel* title;
    QLabel* policy;
    QLineEdit* address;
    QStandardItemModel* model;
    QTableView* view;
    QPlainTextEdit* explanation;
  };

  explicit TwoHostView(QWidget* parent = nullptr);
  ~TwoHostView() override;

  void set_hosts(const Host& a, const Host& b);  // polls now and every kPollInterval
  void poll();
  void explain_now();  // the typed flow, on both agents

  const Side& side_a() const { return a_; }
  const Side& side_b() const { return b_; }
  QLineEdit* flow_source_edit() const { return source_; }
  QLineEdit* flow_destination_edit() const { return destination_; }
  QComboBox* flow_protocol_combo() const { return protocol_; }
  QLineEdit* flow_destination_port_edit() const { return destination_port_; }
  QPushButton* explain_button() const { return explain_button_; }
  int completed_polls() const { return completed_polls_; }
  QString last_error() const { return last_error_; }

 signals:
  void polled();
  void explained();

 private:
  Side build_side(QWidget* parent, const char* name);
  void fill(Side& side, const AgentSnapshot& snapshot, const QString& peer);

  Host host_a_, host_b_;
  Side a_{}, b_{};
  QTimer* timer_;
  QLineEdit* source_;
  QLineEdit* destination_;
  QComboBox* protocol_;
  QLineEdit* source_port_;
  QLineEdit* destination_port_;
  QPushButton* explain_button_;
  QLabel* status_;
  bool hosts_set_ = false;
  bool polling_ = false;
  bool explaining_ = false;
  int completed_polls_ = 0;
  QString last_error_;
  QFuture<void> poll_future_;
  QFuture<void> explain_future_;
};

}  // namespace ward::gui
