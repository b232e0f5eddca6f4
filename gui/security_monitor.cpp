#include "gui/security_monitor.h"

#include <map>
#include <optional>

#include <QApplication>
#include <QComboBox>
#include <QDateTime>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIntValidator>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include "agent/control/protocol.h"
#include "gui/agent_link.h"
#include "gui/background.h"
#include "gui/json_table.h"
#include "gui/monitor_charts.h"
#include "gui/port_editor.h"
#include "gui/traffic_history.h"

namespace ward::gui {

namespace {

namespace control = agent::control;

constexpr int kMonitorBusyBarWidth = 100;
constexpr int kStatusMessageMs = 10000;

// The helpdesk's state words first; the state machines' names (internal_state) come last.
const QStringList kQuickModeColumns{"peer", "state", "direction", "spi", "protocol", "mode", "cipher", "integrity", "rule",
                                    "filter_id", "bytes", "packets", "drops", "age_seconds", "expires_in_seconds"};
const QStringList kMainModeColumns{"peer", "state", "failure", "role", "auth_method", "cipher", "hash", "integrity", "dh_group",
                                   "lifetime_left", "age_seconds", "expires_in_seconds"};
const QStringList kFilterColumns{"id", "rule", "weight", "action", "specific", "mirror"};

}  // namespace


SecurityMonitor::SecurityMonitor(QWidget* parent)
    : QMainWindow(parent), timer_(new QTimer(this)), status_(new QLabel(this)), busy_bar_(new QProgressBar(this)),
      tabs_(new QTabWidget(this)), history_(std::make_unique<TrafficHistory>()) {
  setWindowTitle("Ward Security Monitor");
  setObjectName("security_monitor");
  setWindowFlag(Qt::Window);
  main_mode_model_ = new QStandardItemModel(this);
  main_mode_proxy_ = make_proxy(this, main_mode_model_);
  main_mode_view_ = make_view(this, "main_mode", main_mode_proxy_);
  main_mode_note_ = new QLabel(this);
  main_mode_note_->setObjectName("main_mode_note");
  quick_mode_model_ = new QStandardItemModel(this);
  quick_mode_proxy_ = make_proxy(this, quick_mode_model_);
  quick_mode_view_ = make_view(this, "quick_mode", quick_mode_proxy_);
  statistics_model_ = new QStandardItemModel(this);
  statistics_proxy_ = make_proxy(this, statistics_model_);
  statistics_view_ = make_view(this, "statistics", statistics_proxy_);
  filters_model_ = new QStandardItemModel(this);
  filters_view_ = make_view(this, "policy_filters", make_proxy(this, filters_model_));

  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  build_connection_bar();
  auto* bar = new QHBoxLayout;
  auto* endpoint_label = new QLabel("&Agent:", this);
  endpoint_label->setBuddy(endpoint_);
  bar->addWidget(endpoint_label);
  bar->addWidget(endpoint_);
  bar->addWidget(socket_label_);
  bar->addWidget(socket_edit_, 1);
  bar->addWidget(connect_button_);
  layout->addLayout(bar);
  layout->addWidget(tls_row_);

  sa_filter_ = new QLineEdit(this);
  sa_filter_->setObjectName("sa_filter");
  sa_filter_->setPlaceholderText("peer, SPI, rule...");
  sa_filter_->setClearButtonEnabled(true);
  auto* filter_bar = new QHBoxLayout;
  auto* filter_label = new QLabel("&Filter SAs:", this);
  filter_label->setBuddy(sa_filter_);
  filter_bar->addWidget(filter_label);
  filter_bar->addWidget(sa_filter_, 1);
  layout->addLayout(filter_bar);
  connect(sa_filter_, &QLineEdit::textChanged, this, [this](const QString& text) {
    main_mode_proxy_->setFilterFixedString(text);
    quick_mode_proxy_->setFilterFixedString(text);
    statistics_proxy_->setFilterFixedString(text);
  });

  tabs_->setObjectName("tabs");
  tabs_->addTab(build_sa_tab(main_mode_view_, main_mode_note_), "&Main Mode");
  tabs_->addTab(build_sa_tab(quick_mode_view_, nullptr), "&Quick Mode");
  tabs_->addTab(build_statistics_tab(), "Stat&istics");
  tabs_->addTab(build_policy_tab(), "Active &Policy");
  tabs_->addTab(build_explain_tab(), "E&xplain");
  charts_ = new MonitorCharts(this);
  charts_->setObjectName("charts");
  tabs_->addTab(charts_, "C&harts");
  tabs_->setCurrentIndex(kQuickModeTab);
  layout->addWidget(tabs_, 1);
  setCentralWidget(central);

  busy_bar_->setRange(0, 0);
  busy_bar_->setMaximumWidth(kMonitorBusyBarWidth);
  busy_bar_->hide();
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(busy_bar_);
  status_->setText("Not connected");

  timer_->setInterval(kPollInterval);
  connect(timer_, &QTimer::timeout, this, &SecurityMonitor::poll);
  setTabOrder(endpoint_, socket_edit_);
  setTabOrder(socket_edit_, certificate_edit_);
  setTabOrder(certificate_edit_, private_key_edit_);
  setTabOrder(private_key_edit_, ca_edit_);
  setTabOrder(ca_edit_, connect_button_);
  setTabOrder(connect_button_, sa_filter_);
  setTabOrder(sa_filter_, tabs_);
  resize(1100, 600);
}

SecurityMonitor::~SecurityMonitor() {
  timer_->stop();
  poll_future_.waitForFinished();
  explain_future_.waitForFinished();
}

void SecurityMonitor::build_connection_bar() {
  endpoint_ = new QComboBox(this);
  endpoint_->setObjectName("endpoint");
  endpoint_->addItem("Local control socket");
  endpoint_->addItem("TLS monitor endpoint (remote agent)");
  endpoint_->setItemData(kTlsMonitor,
                         "The agent's read-only monitor endpoint (ward.conf [monitor]): host:port, this side's client "
                         "certificate and key, and the CA the agent's certificate must chain to",
                         Qt::ToolTipRole);
  socket_edit_ = new QLineEdit("/run/ward/control.sock", this);
  socket_edit_->setObjectName("socket");
  socket_label_ = new QLabel("&Socket:", this);
  socket_label_->setBuddy(socket_edit_);
  connect_button_ = new QPushButton("&Connect", this);
  connect_button_->setObjectName("connect");
  connect(connect_button_, &QPushButton::clicked, this, [this] {
    if (connected()) disconnect_agent();
    else connect_to_target(typed_target());
  });
  connect(socket_edit_, &QLineEdit::returnPressed, connect_button_, &QPushButton::click);

  // The TLS files of the monitor endpoint, each with a file chooser.
  tls_row_ = new QWidget(this);
  auto* tls = new QHBoxLayout(tls_row_);
  tls->setContentsMargins(0, 0, 0, 0);
  auto add_file = [&](const QString& label_text, const QString& name, const QString& placeholder, const QString& title) {
    auto* edit = new QLineEdit(tls_row_);
    edit->setObjectName(name);
    edit->setPlaceholderText(placeholder);
    auto* label = new QLabel(label_text, tls_row_);
    label->setBuddy(edit);
    auto* browse = new QPushButton("...", tls_row_);
    browse->setObjectName(name + "_browse");
    browse->setToolTip(title);
    browse->setAccessibleName(title);
    connect(browse, &QPushButton::clicked, this, [this, edit, title] { choose_file(edit, title); });
    connect(edit, &QLineEdit::returnPressed, connect_button_, &QPushButton::click);
    tls->addWidget(label);
    tls->addWidget(edit, 1);
    tls->addWidget(browse);
    return edit;
  };
  certificate_edit_ = add_file("Clie&nt certificate:", "certificate", "helpdesk.pem", "Choose the client certificate (PEM)");
  private_key_edit_ = add_file("Client &key:", "private_key", "helpdesk.key", "Choose the client private key (PEM)");
  ca_edit_ = add_file("CA &bundle:", "ca", "ward-monitor-ca.pem", "Choose the CA bundle the agent's certificate must chain to (PEM)");
  connect(endpoint_, &QComboBox::currentIndexChanged, this, &SecurityMonitor::update_endpoint_fields);
  update_endpoint_fields();
}

void SecurityMonitor::update_endpoint_fields() {
  const bool remote = endpoint_->currentIndex() == kTlsMonitor;
  tls_row_->setVisible(remote);
  socket_label_->setText(remote ? "&Socket (host:port):" : "&Socket:");
  socket_edit_->setPlaceholderText(remote ? "agent.example.com:4443" : "/run/ward/control.sock");
  if (remote && socket_edit_->text() == "/run/ward/control.sock") socket_edit_->clear();
  if (!remote && socket_edit_->text().isEmpty()) socket_edit_->setText("/run/ward/control.sock");
}

void SecurityMonitor::choose_file(QLineEdit* edit, const QString& title) {
  const auto file = QFileDialog::getOpenFileName(this, title, edit->text().trimmed(), "PEM files (*.pem *.crt *.key);;All files (*)");
  if (!file.isEmpty()) edit->setText(file);
}

AgentTarget SecurityMonitor::typed_target() const {
  AgentTarget target{socket_edit_->text().trimmed(), std::nullopt};
  if (endpoint_->currentIndex() == kTlsMonitor) {
    target.tls = agent::monitor::TlsFiles{certificate_edit_->text().trimmed().toStdString(),
                                          private_key_edit_->text().trimmed().toStdString(),
                                          ca_edit_->text().trimmed().toStdString()};
  }
  return target;
}

QWidget* SecurityMonitor::build_sa_tab(QTableView* view, QLabel* note) {
  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  if (note) {
    note->setWordWrap(true);
    layout->addWidget(note);
  }
  layout->addWidget(view, 1);
  return page;
}

QWidget* SecurityMonitor::build_statistics_tab() {
  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  layout->addWidget(new QLabel("Counters per filter, summed over its SAs (the agent's driver counts per SA):", page));
  layout->addWidget(statistics_view_, 1);
  return page;
}

QWidget* SecurityMonitor::build_policy_tab() {
  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  auto* form = new QFormLayout;
  policy_name_ = new QLabel(page);
  policy_name_->setObjectName("policy_name");
  policy_state_ = new QLabel(page);
  policy_source_ = new QLabel(page);
  policy_source_->setObjectName("policy_source");
  policy_dn_ = new QLabel(page);
  policy_fetched_ = new QLabel(page);
  for (auto* label : {policy_name_, policy_state_, policy_source_, policy_dn_, policy_fetched_}) {
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    label->setWordWrap(true);
  }
  form->addRow("Policy:", policy_name_);
  form->addRow("State:", policy_state_);
  form->addRow("Assigned by:", policy_source_);
  form->addRow("Policy DN:", policy_dn_);
  form->addRow("Fetched:", policy_fetched_);
  layout->addLayout(form);
  auto* label = new QLabel("Filters in force (most specific first):", page);
  label->setBuddy(filters_view_);
  layout->addWidget(label);
  layout->addWidget(filters_view_, 1);
  return page;
}

QWidget* SecurityMonitor::build_explain_tab() {
  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  auto* form = new QFormLayout;
  explain_source_ = new QLineEdit(page);
  explain_source_->setObjectName("explain_source");
  explain_source_->setPlaceholderText("10.20.1.5");
  explain_destination_ = new QLineEdit(page);
  explain_destination_->setObjectName("explain_destination");
  explain_destination_->setPlaceholderText("10.20.1.7");
  explain_protocol_ = new QComboBox(page);
  explain_protocol_->setObjectName("explain_protocol");
  explain_protocol_->setEditable(true);  // a protocol number can be typed in
  explain_protocol_->addItems({"any", "tcp", "udp", "icmp", "icmpv6"});
  explain_source_port_ = new QLineEdit(page);
  explain_source_port_->setObjectName("explain_source_port");
  explain_destination_port_ = new QLineEdit(page);
  explain_destination_port_->setObjectName("explain_destination_port");
  for (auto* port : {explain_source_port_, explain_destination_port_}) {
    port->setValidator(new QIntValidator(0, kMaxPort, port));
    port->setPlaceholderText("any");
  }
  const auto add = [&](const QString& text, QWidget* field) {
    auto* label = new QLabel(text, page);
    label->setBuddy(field);
    form->addRow(label, field);
  };
  add("S&ource address:", explain_source_);
  add("&Destination address:", explain_destination_);
  add("P&rotocol:", explain_protocol_);
  add("So&urce port:", explain_source_port_);
  add("Destination por&t:", explain_destination_port_);
  layout->addLayout(form);
  explain_button_ = new QPushButton("&Explain", page);
  explain_button_->setObjectName("explain");
  explain_button_->setDefault(true);
  layout->addWidget(explain_button_, 0, Qt::AlignLeft);
  explain_output_ = new QPlainTextEdit(page);
  explain_output_->setObjectName("explain_output");
  explain_output_->setReadOnly(true);
  explain_output_->setFont(QFont("monospace"));
  layout->addWidget(explain_output_, 1);
  connect(explain_button_, &QPushButton::clicked, this, &SecurityMonitor::explain_now);
  for (auto* edit : {explain_source_, explain_destination_, explain_source_port_, explain_destination_port_}) {
    connect(edit, &QLineEdit::returnPressed, this, &SecurityMonitor::explain_now);
  }
  return page;
}

void SecurityMonitor::connect_to(const QString& socket_path) { connect_to_target(AgentTarget{socket_path, std::nullopt}); }

void SecurityMonitor::connect_to_remote(const QString& endpoint, const agent::monitor::TlsFiles& tls) {
  connect_to_target(AgentTarget{endpoint, tls});
}

void SecurityMonitor::connect_to_target(const AgentTarget& target) {
  if (target.address.isEmpty()) {
    status_->setText(target.tls ? "Type the monitor endpoint as host:port" : "Type the agent's control socket path");
    return;
  }
  if (target.tls && (target.tls->certificate.empty() || target.tls->private_key.empty() || target.tls->ca.empty())) {
    status_->setText("The TLS monitor endpoint needs a client certificate, its private key and the CA bundle");
    return;
  }
  target_ = target;
  *history_ = TrafficHistory();
  endpoint_->setCurrentIndex(target.tls ? kTlsMonitor : kLocalSocket);
  socket_edit_->setText(target.address);
  if (target.tls) {
    certificate_edit_->setText(QString::fromStdString(target.tls->certificate.string()));
    private_key_edit_->setText(QString::fromStdString(target.tls->private_key.string()));
    ca_edit_->setText(QString::fromStdString(target.tls->ca.string()));
  }
  for (QWidget* field : std::initializer_list<QWidget*>{endpoint_, socket_edit_, tls_row_}) field->setEnabled(false);
  connect_button_->setText("Dis&connect");
  status_->setText("Connecting to " + target.address + "...");
  timer_->start();
  poll();
}

void SecurityMonitor::disconnect_agent() {
  timer_->stop();
  target_.reset();
  for (QWidget* field : std::initializer_list<QWidget*>{endpoint_, socket_edit_, tls_row_}) field->setEnabled(true);
  connect_button_->setText("&Connect");
  status_->setText("Not connected");
}

void SecurityMonitor::set_busy(bool busy) { busy_bar_->setVisible(busy || explaining_ || polling_); }

void SecurityMonitor::poll() {
  if (polling_ || !target_) return;
  polling_ = true;
  set_busy(true);
  const auto target = *target_;
  // Events from the newest one already counted (show-events returns those at or after it; the
  // history counts each once), or the chart's whole window on the first poll.
  const std::int64_t since = history_->newest_event() != 0
                                 ? history_->newest_event()
                                 : QDateTime::currentSecsSinceEpoch() - MonitorCharts::kEventMinutes * 60;
  poll_future_ = run_in_background<AgentSnapshot>(
      this, [target, since]() { return read_agent(target, SnapshotRequest{true, since}); },
      [this](AgentSnapshot snapshot) {
        polling_ = false;
        set_busy(false);
        ++completed_polls_;
        apply(snapshot);
        emit polled();
      });
}

void SecurityMonitor::apply(const AgentSnapshot& snapshot) {
  if (!snapshot.error.isEmpty()) {
    last_error_ = snapshot.error;
    status_->setText("Last poll failed: " + snapshot.error);
    statusBar()->showMessage("Agent poll failed", kStatusMessageMs);
    return;
  }
  last_error_.clear();
  // The quick mode tab lists soft associations beside the SAs (state "soft (no IPsec: ...)"), the
  // main mode tab the failed negotiations beside the main modes (state "failed" and why).
  const auto array = [&](const char* key) {
    return snapshot.sa.is_object() && snapshot.sa.contains(key) && snapshot.sa[key].is_array() ? snapshot.sa[key]
                                                                                               : nlohmann::json::array();
  };
  const nlohmann::json sas = array("sas");
  nlohmann::json quick = sas;
  for (const auto& soft : array("soft_associations")) quick.push_back(soft);
  // null: the agent does not report main mode SAs (wardd without IKE running)
  nlohmann::json main = snapshot.sa.is_object() && snapshot.sa.contains("main_modes") ? snapshot.sa["main_modes"] : nlohmann::json();
  if (main.is_array()) {
    for (const auto& failure : array("failures")) main.push_back(failure);
  }
  fill_sas(quick, main);
  fill_statistics(sas);
  fill_policy(snapshot.policy, snapshot.filters);
  history_->add_sample(QDateTime::currentMSecsSinceEpoch(), sas);
  history_->add_events(snapshot.events);
  charts_->show_history(*history_, QDateTime::currentSecsSinceEpoch());
  if (!sized_) {
    for (auto* view : {main_mode_view_, quick_mode_view_, statistics_view_, filters_view_}) view->resizeColumnsToContents();
    sized_ = true;
  }
  status_->setText(QString("%1 — %2 quick mode SA%3 — updated %4")
                       .arg(target_ ? target_->address : QString())
                       .arg(sas.size())
                       .arg(sas.size() == 1 ? "" : "s")
                       .arg(QTime::currentTime().toString("HH:mm:ss")));
}

void SecurityMonitor::fill_sas(const nlohmann::json& sas, const nlohmann::json& main_mode) {
  // Keep the user's sort across refreshes: the proxy re-sorts the new rows by the same column.
  fill_table(quick_mode_model_, sas, kQuickModeColumns);
  if (main_mode.is_array()) {
    main_mode_note_->hide();
    fill_table(main_mode_model_, main_mode, kMainModeColumns);
  } else {
    main_mode_note_->setText("This agent does not report main mode SAs: its show-sa answer lists quick mode (ESP/AH) "
                             "SAs only. The peers with quick mode SAs are on the Quick Mode tab.");
    main_mode_note_->show();
    fill_table(main_mode_model_, nlohmann::json::array(), kMainModeColumns);
  }
}

void SecurityMonitor::fill_statistics(const nlohmann::json& sas) {
  struct Totals {
    std::string rule;
    std::uint64_t sas = 0;
    std::uint64_t bytes = 0;
    std::uint64_t packets = 0;
    std::uint64_t drops = 0;
  };
  const auto number = [](const nlohmann::json& sa, const char* key) -> std::uint64_t {
    return sa.contains(key) && sa[key].is_number_unsigned() ? sa[key].get<std::uint64_t>() : 0;
  };
  std::map<std::string, Totals> by_filter;  // filter id (or rule name when the agent gives no id)
  for (const auto& sa : sas) {
    if (!sa.is_object()) continue;
    const std::string rule = sa.value("rule", std::string());
    const std::string key = sa.contains("filter_id") ? text_of(sa["filter_id"]).toStdString() : rule;
    auto& totals = by_filter[key];
    totals.rule = rule;
    ++totals.sas;
    totals.bytes += number(sa, "bytes");
    totals.packets += number(sa, "packets");
    totals.drops += number(sa, "drops");
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [filter, totals] : by_filter) {
    rows.push_back({{"filter", filter}, {"rule", totals.rule}, {"sas", totals.sas}, {"bytes", totals.bytes},
                    {"packets", totals.packets}, {"drops", totals.drops}});
  }
  fill_table(statistics_model_, rows, {"filter", "rule", "sas", "bytes", "packets", "drops"});
}

void SecurityMonitor::fill_policy(const nlohmann::json& result, const nlohmann::json& filters) {
  const auto policy = result.value("policy", nlohmann::json::object());
  const auto source = result.value("source", nlohmann::json::object());
  const auto field = [](const nlohmann::json& object, const char* key) {
    return object.is_object() && object.contains(key) ? text_of(object[key]) : QString();
  };
  const QString name = field(policy, "name");
  policy_name_->setText(name.isEmpty() ? "(none)" : name + (field(policy, "description").isEmpty() ? "" : " — " + field(policy, "description")));
  policy_state_->setText(field(result, "state") + (field(source, "origin").isEmpty() ? "" : " (" + field(source, "origin") + ")"));
  QString by = field(source, "gpo_name");
  if (by.isEmpty()) by = field(source, "gpo_dn");
  if (!field(source, "som_dn").isEmpty()) by += " linked to " + field(source, "som_dn");
  policy_source_->setText(by.isEmpty() ? "(not from Group Policy)" : by);
  policy_source_->setToolTip(field(source, "gpo_dn"));
  policy_dn_->setText(field(source, "policy_dn"));
  QString fetched = field(source, "change_stamp");
  if (source.is_object() && source.contains("fetched_at") && source["fetched_at"].is_number_integer()) {
    fetched += "  (fetched " + QDateTime::fromSecsSinceEpoch(source["fetched_at"].get<std::int64_t>()).toString(Qt::ISODate) + ")";
  }
  policy_fetched_->setText(fetched);
  fill_table(filters_model_, filters, kFilterColumns);
}

void SecurityMonitor::explain_now() {
  if (explaining_ || !target_) {
    if (!target_) explain_output_->setPlainText("Not connected to an agent.");
    return;
  }
  model::PacketTuple packet;
  const auto source = IpAddress::parse(explain_source_->text().trimmed().toStdString());
  const auto destination = IpAddress::parse(explain_destination_->text().trimmed().toStdString());
  const auto protocol = control::parse_protocol(explain_protocol_->currentText().trimmed().toStdString());
  QString problem;
  if (!source) problem = "source address '" + explain_source_->text() + "' is not an IP address";
  else if (!destination) problem = "destination address '" + explain_destination_->text() + "' is not an IP address";
  else if (!protocol) problem = "protocol '" + explain_protocol_->currentText() + "' is not a name or 0..255";
  if (!problem.isEmpty()) {
    explain_output_->setPlainText("Cannot explain: " + problem);
    emit explained();
    return;
  }
  packet.source = *source;
  packet.destination = *destination;
  packet.protocol = *protocol;
  packet.source_port = static_cast<std::uint16_t>(explain_source_port_->text().toUInt());
  packet.destination_port = static_cast<std::uint16_t>(explain_destination_port_->text().toUInt());
  explaining_ = true;
  set_busy(true);
  explain_button_->setEnabled(false);
  const auto target = *target_;
  explain_future_ = run_in_background<QString>(
      this,
      [target, packet]() { return explain_on_agent(target, packet); },
      [this](QString text) {
        explaining_ = false;
        set_busy(false);
        explain_button_->setEnabled(true);
        explain_output_->setPlainText(text);
        emit explained();
      });
}

}  // namespace ward::gui
