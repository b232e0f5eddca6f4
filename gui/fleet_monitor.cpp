#include "gui/fleet_monitor.h"

#include <future>

#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTableView>
#include <QTime>
#include <QTimer>
#include <QVBoxLayout>

#include "gui/background.h"
#include "gui/fleet_summary.h"
#include "gui/json_table.h"
#include "gui/security_monitor.h"
#include "gui/two_host_view.h"

namespace ward::gui {

namespace {

const QStringList kFleetColumns{"agent", "endpoint", "policy", "policy_state", "main_modes", "negotiating",
                                "quick_modes", "soft", "failures", "bytes", "error"};

}  // namespace

FleetMonitor::FleetMonitor(QWidget* parent)
    : QMainWindow(parent), timer_(new QTimer(this)), model_(new QStandardItemModel(this)), status_(new QLabel(this)) {
  setWindowTitle("Ward Security Monitor — Fleet");
  setObjectName("fleet_monitor");
  setWindowFlag(Qt::Window);
  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);

  auto* list_label = new QLabel("&Agents (one a line: ENDPOINT [NAME [ADDRESS]]; a socket path or host:port):", central);
  list_edit_ = new QPlainTextEdit(central);
  list_edit_->setObjectName("fleet_list");
  list_edit_->setPlaceholderText("10.20.1.5:4443 legal-pc1 10.20.1.5\n/run/ward/control.sock this-host");
  list_edit_->setTabChangesFocus(true);
  list_label->setBuddy(list_edit_);
  auto* load = new QPushButton("&Load List...", central);
  load->setObjectName("load_list");
  auto* save = new QPushButton("Sa&ve List...", central);
  save->setObjectName("save_list");
  connect(load, &QPushButton::clicked, this, [this] {
    const auto path = QFileDialog::getOpenFileName(this, "Load the agent list", {}, "Agent lists (*.txt *.fleet);;All files (*)");
    if (!path.isEmpty()) load_list(path);
  });
  connect(save, &QPushButton::clicked, this, [this] {
    const auto path = QFileDialog::getSaveFileName(this, "Save the agent list", {}, "Agent lists (*.txt *.fleet);;All files (*)");
    if (!path.isEmpty()) save_list(path);
  });
  auto* list_buttons = new QVBoxLayout;
  list_buttons->addWidget(load);
  list_buttons->addWidget(save);
  list_buttons->addStretch(1);
  auto* list_row = new QHBoxLayout;
  list_row->addWidget(list_edit_, 1);
  list_row->addLayout(list_buttons);
  layout->addWidget(list_label);
  layout->addLayout(list_row);

  auto* tls = new QHBoxLayout;
  auto add_file = [&](const QString& label_text, const QString& name, const QString& placeholder, const QString& title) {
    auto* edit = new QLineEdit(central);
    edit->setObjectName(name);
    edit->setPlaceholderText(placeholder);
    auto* label = new QLabel(label_text, central);
    label->setBuddy(edit);
    auto* browse = new QPushButton("...", central);
    browse->setToolTip(title);
    browse->setAccessibleName(title);
    connect(browse, &QPushButton::clicked, this, [this, edit, title] { choose_file(edit, title); });
    tls->addWidget(label);
    tls->addWidget(edit, 1);
    tls->addWidget(browse);
    return edit;
  };
  certificate_edit_ = add_file("Clie&nt certificate:", "certificate", "helpdesk.pem", "Choose the client certificate (PEM)");
  private_key_edit_ = add_file("Client &key:", "private_key", "helpdesk.key", "Choose the client private key (PEM)");
  ca_edit_ = add_file("CA &bundle:", "ca", "ward-monitor-ca.pem", "Choose the CA bundle the agents' certificates must chain to (PEM)");
  layout->addLayout(tls);

  auto* buttons = new QHBoxLayout;
  start_button_ = new QPushButton("&Start Monitoring", central);
  start_button_->setObjectName("start");
  connect(start_button_, &QPushButton::clicked, this, [this] {
    if (running_) stop();
    else start();
  });
  compare_button_ = new QPushButton("&Compare Two Hosts...", central);
  compare_button_->setObjectName("compare");
  compare_button_->setToolTip("Select two agents: their SAs with each other and the same flow explained side by side");
  auto* open = new QPushButton("&Open Monitor", central);
  open->setObjectName("open_monitor");
  buttons->addWidget(start_button_);
  buttons->addWidget(open);
  buttons->addWidget(compare_button_);
  buttons->addStretch(1);
  layout->addLayout(buttons);

  auto* proxy = make_proxy(this, model_);
  view_ = make_view(central, "fleet", proxy);
  layout->addWidget(view_, 1);
  const auto source_row = [proxy](const QModelIndex& index) { return proxy->mapToSource(index).row(); };
  connect(view_, &QTableView::doubleClicked, this, [this, source_row](const QModelIndex& index) { open_monitor(source_row(index)); });
  connect(open, &QPushButton::clicked, this, [this, source_row] {
    const auto rows = view_->selectionModel()->selectedRows();
    if (!rows.isEmpty()) open_monitor(source_row(rows.first()));
  });
  connect(compare_button_, &QPushButton::clicked, this, [this, source_row] {
    const auto rows = view_->selectionModel()->selectedRows();
    if (rows.size() != 2) {
      status_->setText("Select two agents to compare");
      return;
    }
    compare(source_row(rows[0]), source_row(rows[1]));
  });
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->sortByColumn(0, Qt::AscendingOrder);  // by agent name
  setCentralWidget(central);
  statusBar()->addWidget(status_, 1);
  status_->setText("Not monitoring");
  timer_->setInterval(kPollInterval);
  connect(timer_, &QTimer::timeout, this, &FleetMonitor::poll);
  resize(1200, 650);
}

FleetMonitor::~FleetMonitor() {
  timer_->stop();
  poll_future_.waitForFinished();
}

void FleetMonitor::choose_file(QLineEdit* edit, const QString& title) {
  const auto file = QFileDialog::getOpenFileName(this, title, edit->text().trimmed(), "PEM files (*.pem *.crt *.key);;All files (*)");
  if (!file.isEmpty()) edit->setText(file);
}

bool FleetMonitor::load_list(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) {
    last_error_ = path + ": cannot read: " + file.errorString();
    status_->setText(last_error_);
    return false;
  }
  const QString text = QString::fromUtf8(file.readAll());
  if (auto parsed = parse_fleet_list(text); !parsed) {
    last_error_ = path + ": " + parsed.error();
    status_->setText(last_error_);
    return false;
  }
  list_edit_->setPlainText(text);
  status_->setText("Loaded " + path);
  return true;
}

bool FleetMonitor::save_list(const QString& path) {
  auto parsed = parse_fleet_list(list_edit_->toPlainText());
  if (!parsed) {
    last_error_ = parsed.error();
    status_->setText("Not saved: " + last_error_);
    return false;
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Text) || file.write(format_fleet_list(*parsed).toUtf8()) < 0 || !file.commit()) {
    last_error_ = path + ": cannot write: " + file.errorString();
    status_->setText(last_error_);
    return false;
  }
  status_->setText("Saved " + path);
  return true;
}

std::optional<agent::monitor::TlsFiles> FleetMonitor::tls_files() const {
  return agent::monitor::TlsFiles{certificate_edit_->text().trimmed().toStdString(),
                                  private_key_edit_->text().trimmed().toStdString(), ca_edit_->text().trimmed().toStdString()};
}

AgentTarget FleetMonitor::target_of(const FleetEntry& entry) const {
  return AgentTarget{entry.endpoint, entry.tls ? tls_files() : std::nullopt};
}

bool FleetMonitor::start() {
  auto parsed = parse_fleet_list(list_edit_->toPlainText());
  if (!parsed || parsed->empty()) {
    last_error_ = parsed ? QString("The agent list is empty") : "The agent list: " + parsed.error();
    status_->setText(last_error_);
    return false;
  }
  const bool any_tls = std::any_of(parsed->begin(), parsed->end(), [](const FleetEntry& e) { return e.tls; });
  const auto files = tls_files();
  if (any_tls && (files->certificate.empty() || files->private_key.empty() || files->ca.empty())) {
    last_error_ = "The TLS monitor endpoints need a client certificate, its private key and the CA bundle";
    status_->setText(last_error_);
    return false;
  }
  entries_ = std::move(parsed).value();
  last_error_.clear();
  running_ = true;
  for (QWidget* field : std::initializer_list<QWidget*>{list_edit_, certificate_edit_, private_key_edit_, ca_edit_}) field->setEnabled(false);
  start_button_->setText("&Stop Monitoring");
  status_->setText(QString("Reading %1 agents...").arg(entries_.size()));
  timer_->start();
  poll();
  return true;
}

void FleetMonitor::stop() {
  timer_->stop();
  running_ = false;
  for (QWidget* field : std::initializer_list<QWidget*>{list_edit_, certificate_edit_, private_key_edit_, ca_edit_}) field->setEnabled(true);
  start_button_->setText("&Start Monitoring");
  status_->setText("Not monitoring");
}

void FleetMonitor::poll() {
  if (polling_ || !running_) return;
  polling_ = true;
  std::vector<AgentTarget> targets;
  for (const auto& entry : entries_) targets.push_back(target_of(entry));
  poll_future_ = run_in_background<std::vector<AgentSnapshot>>(
      this,
      [targets]() {
        // All agents at once: a slow or unreachable one costs its own timeout, not everyone's.
        std::vector<std::future<AgentSnapshot>> reads;
        for (const auto& target : targets) {
          reads.push_back(std::async(std::launch::async, [target] { return read_agent(target, SnapshotRequest{}); }));
        }
        std::vector<AgentSnapshot> out;
        for (auto& read : reads) out.push_back(read.get());
        return out;
      },
      [this](std::vector<AgentSnapshot> snapshots) {
        polling_ = false;
        ++completed_polls_;
        apply(snapshots);
        emit polled();
      });
}

void FleetMonitor::apply(const std::vector<AgentSnapshot>& snapshots) {
  nlohmann::json rows = nlohmann::json::array();
  int failed = 0;
  for (std::size_t i = 0; i < snapshots.size() && i < entries_.size(); ++i) {
    const auto& snapshot = snapshots[i];
    nlohmann::json row{{"agent", entries_[i].name.toStdString()}, {"endpoint", entries_[i].endpoint.toStdString()}};
    if (!snapshot.error.isEmpty()) {
      ++failed;
      row["error"] = snapshot.error.toStdString();
    } else {
      const auto summary = summarize(snapshot.sa, snapshot.policy);
      row["policy"] = summary.policy.toStdString();
      row["policy_state"] = summary.policy_state.toStdString();
      row["main_modes"] = summary.main_modes;
      row["negotiating"] = summary.negotiating;
      row["quick_modes"] = summary.quick_modes;
      row["soft"] = summary.soft;
      row["failures"] = summary.failures;
      row["bytes"] = summary.bytes;
      row["error"] = "";
    }
    rows.push_back(std::move(row));
  }
  fill_table(model_, rows, kFleetColumns);
  for (int row = 0; row < model_->rowCount(); ++row) {
    const int error_column = static_cast<int>(kFleetColumns.indexOf("error"));
    if (auto* item = model_->item(row, error_column); item && !item->text().isEmpty()) item->setForeground(Qt::darkRed);
    const int failures_column = static_cast<int>(kFleetColumns.indexOf("failures"));
    if (auto* item = model_->item(row, failures_column); item && item->data(Qt::DisplayRole).toInt() > 0) item->setForeground(Qt::darkRed);
  }
  if (!sized_ && rows.size() > 0) {
    view_->resizeColumnsToContents();
    sized_ = true;
  }
  last_error_ = failed == 0 ? QString() : QString("%1 of %2 agents could not be read").arg(failed).arg(snapshots.size());
  status_->setText(QString("%1 agents, %2 unreachable — updated %3")
                       .arg(snapshots.size())
                       .arg(failed)
                       .arg(QTime::currentTime().toString("HH:mm:ss")));
}

SecurityMonitor* FleetMonitor::open_monitor(int row) {
  if (row < 0 || row >= static_cast<int>(entries_.size())) return nullptr;
  auto* monitor = new SecurityMonitor(this);
  monitor->setAttribute(Qt::WA_DeleteOnClose);
  monitor->setWindowTitle("Ward Security Monitor — " + entries_[static_cast<std::size_t>(row)].name);
  monitor->show();
  monitor->connect_to_target(target_of(entries_[static_cast<std::size_t>(row)]));
  return monitor;
}

TwoHostView* FleetMonitor::compare(int row_a, int row_b) {
  const int count = static_cast<int>(entries_.size());
  if (row_a < 0 || row_b < 0 || row_a >= count || row_b >= count || row_a == row_b) return nullptr;
  const auto& a = entries_[static_cast<std::size_t>(row_a)];
  const auto& b = entries_[static_cast<std::size_t>(row_b)];
  auto* view = new TwoHostView(this);
  view->setAttribute(Qt::WA_DeleteOnClose);
  view->show();
  view->set_hosts({a.name, a.address, target_of(a)}, {b.name, b.address, target_of(b)});
  return view;
}

}  // namespace ward::gui
