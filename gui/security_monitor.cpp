#include "gui/security_monitor.h"

#include <map>
#include <optional>
#include <variant>

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

#include "agent/control/client.h"
#include "agent/explain/explain.h"
#include "agent/monitor/monitor_client.h"
#include "gui/background.h"

namespace ward::gui {

namespace {

namespace control = agent::control;

constexpr int kBusyBarWidth = 100;
constexpr int kMaxPort = 65535;
constexpr int kStatusMessageMs = 10000;

// One open connection to an agent: its local control socket or its TLS monitor endpoint.
class AgentLink {
 public:
  explicit AgentLink(control::ControlClient client) : client_(std::move(client)) {}
  explicit AgentLink(agent::monitor::MonitorClient client) : client_(std::move(client)) {}
  Expected<control::Response, control::ClientError> call(const control::Request& request) {
    return std::visit([&](auto& client) { return client.call(request); }, client_);
  }

 private:
  std::variant<control::ControlClient, agent::monitor::MonitorClient> client_;
};

QString connect_error(const QString& path, const control::ClientError& error);

// Opens a connection to `target` (on a worker thread); the error names the socket or endpoint.
Expected<AgentLink, QString> open_agent(const SecurityMonitor::Target& target) {
  if (target.tls) {
    auto client = agent::monitor::MonitorClient::connect(target.address.toStdString(), *target.tls, kAgentTimeout);
    if (!client) {
      return unexpected(target.address + ": cannot reach the TLS monitor endpoint: " +
                        QString::fromStdString(client.error().message));
    }
    return AgentLink(std::move(client).value());
  }
  auto client = control::ControlClient::connect(target.address.toStdString(), kAgentTimeout);
  if (!client) return unexpected(connect_error(target.address, client.error()));
  return AgentLink(std::move(client).value());
}

// One agent call over an open client; the error names the command.
Expected<nlohmann::json, QString> call(AgentLink& client, const control::Request& request) {
  const auto command = QString::fromUtf8(control::name_of(control::command_of(request)));
  auto response = client.call(request);
  if (!response) return unexpected(command + ": " + QString::fromStdString(response.error().message));
  if (!response->ok) {
    return unexpected(command + " refused (" + QString::fromUtf8(control::name_of(response->code)) +
                      "): " + QString::fromStdString(response->error));
  }
  return std::move(response->result);
}

QString connect_error(const QString& path, const control::ClientError& error) {
  QString why;
  switch (error.kind) {
    case control::ClientError::Kind::NoSocket: why = "no agent socket (is wardd running?)"; break;
    case control::ClientError::Kind::PermissionDenied: why = "permission denied (are you in the ward group?)"; break;
    default: why = "cannot connect"; break;
  }
  return path + ": " + why + ": " + QString::fromStdString(error.message);
}

QString text_of(const nlohmann::json& value) {
  if (value.is_string()) return QString::fromStdString(value.get<std::string>());
  if (value.is_null()) return {};
  return QString::fromStdString(value.dump());
}

// A table cell: numbers keep their numeric value, so the proxy sorts them as numbers.
QStandardItem* cell(const nlohmann::json& value) {
  auto* item = new QStandardItem;
  if (value.is_number_unsigned()) item->setData(QVariant::fromValue<qulonglong>(value.get<std::uint64_t>()), Qt::DisplayRole);
  else if (value.is_number_integer()) item->setData(QVariant::fromValue<qlonglong>(value.get<std::int64_t>()), Qt::DisplayRole);
  else item->setText(text_of(value));
  if (value.is_number()) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  item->setEditable(false);
  return item;
}

// Columns: `preferred` first (those present), then any other keys the rows carry.
QStringList columns_of(const nlohmann::json& rows, const QStringList& preferred) {
  QStringList present;
  QStringList extra;
  for (const auto& row : rows) {
    if (!row.is_object()) continue;
    for (auto it = row.begin(); it != row.end(); ++it) {
      const auto key = QString::fromStdString(it.key());
      if (preferred.contains(key)) {
        if (!present.contains(key)) present.append(key);
      } else if (!extra.contains(key)) {
        extra.append(key);
      }
    }
  }
  QStringList out;
  for (const auto& key : preferred) {
    if (present.contains(key)) out.append(key);
  }
  return out + extra;
}

// Column titles for the keys the agent sends; other keys show as sent.
QString title_of(const QString& key) {
  static const std::map<QString, QString> kTitles{
      {"peer", "Peer"},         {"direction", "Direction"},     {"spi", "SPI"},
      {"protocol", "Protocol"}, {"mode", "Mode"},               {"cipher", "Cipher"},
      {"integrity", "Integrity"}, {"rule", "Rule"},             {"filter_id", "Filter"},
      {"filter", "Filter"},     {"bytes", "Bytes"},             {"packets", "Packets"},
      {"drops", "Drops"},       {"age_seconds", "Age (s)"},     {"expires_in_seconds", "Expires in (s)"},
      {"auth_method", "Authentication"}, {"dh_group", "DH group"}, {"sas", "SAs"},
      {"id", "Id"},             {"weight", "Weight"},           {"action", "Action"},
      {"specific", "Specific filter"}, {"mirror", "Mirrored"}, {"state", "State"}, {"role", "Role"},
      {"failure", "Failure"},   {"internal_state", "Internal state"}, {"hash", "Hash"},
      {"lifetime_left", "Lifetime left (s)"}, {"quick_modes", "Quick modes"}, {"reason", "Reason"}};
  const auto found = kTitles.find(key);
  return found == kTitles.end() ? key : found->second;
}

// Rebuilds the rows; the column keys stay in the header's Qt::UserRole (tests and code look
// columns up by key), the titles are for people. Column widths fit the first contents only, so
// the user's own widths survive refreshes.
void fill_table(QStandardItemModel* model, const nlohmann::json& rows, const QStringList& preferred) {
  const auto columns = columns_of(rows, preferred);
  model->removeRows(0, model->rowCount());
  model->setColumnCount(static_cast<int>(columns.size()));
  for (int column = 0; column < columns.size(); ++column) {
    model->setHeaderData(column, Qt::Horizontal, title_of(columns[column]), Qt::DisplayRole);
    model->setHeaderData(column, Qt::Horizontal, columns[column], Qt::UserRole);
  }
  if (!rows.is_array()) return;
  for (const auto& row : rows) {
    QList<QStandardItem*> items;
    for (const auto& column : columns) {
      const auto key = column.toStdString();
      items.append(cell(row.is_object() && row.contains(key) ? row[key] : nlohmann::json()));
    }
    model->appendRow(items);
  }
}

QTableView* make_view(QWidget* parent, const char* name, QAbstractItemModel* model) {
  auto* view = new QTableView(parent);
  view->setObjectName(name);
  view->setModel(model);
  view->setSortingEnabled(true);
  view->setSelectionBehavior(QAbstractItemView::SelectRows);
  view->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view->setTabKeyNavigation(false);
  view->setAlternatingRowColors(true);
  view->verticalHeader()->hide();
  view->horizontalHeader()->setStretchLastSection(true);
  return view;
}

QSortFilterProxyModel* make_proxy(QObject* parent, QAbstractItemModel* source) {
  auto* proxy = new QSortFilterProxyModel(parent);
  proxy->setSourceModel(source);
  proxy->setFilterKeyColumn(-1);  // any column
  proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
  proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
  return proxy;
}

// The helpdesk's state words first; the state machines' names (internal_state) come last.
const QStringList kQuickModeColumns{"peer", "state", "direction", "spi", "protocol", "mode", "cipher", "integrity", "rule",
                                    "filter_id", "bytes", "packets", "drops", "age_seconds", "expires_in_seconds"};
const QStringList kMainModeColumns{"peer", "state", "failure", "role", "auth_method", "cipher", "hash", "integrity", "dh_group",
                                   "lifetime_left", "age_seconds", "expires_in_seconds"};
const QStringList kFilterColumns{"id", "rule", "weight", "action", "specific", "mirror"};

}  // namespace

struct SecurityMonitor::Snapshot {
  QString error;  // not empty: the poll failed
  nlohmann::json sas = nlohmann::json::array();
  nlohmann::json main_mode;  // null: the agent does not report main mode SAs
  nlohmann::json soft_associations = nlohmann::json::array();  // no IPsec: the peer did not answer IKE
  nlohmann::json failures = nlohmann::json::array();           // failed negotiations
  nlohmann::json policy;
  nlohmann::json filters = nlohmann::json::array();
};

SecurityMonitor::SecurityMonitor(QWidget* parent)
    : QMainWindow(parent), timer_(new QTimer(this)), status_(new QLabel(this)), busy_bar_(new QProgressBar(this)),
      tabs_(new QTabWidget(this)) {
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
  tabs_->setCurrentIndex(kQuickModeTab);
  layout->addWidget(tabs_, 1);
  setCentralWidget(central);

  busy_bar_->setRange(0, 0);
  busy_bar_->setMaximumWidth(kBusyBarWidth);
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

SecurityMonitor::Target SecurityMonitor::typed_target() const {
  Target target{socket_edit_->text().trimmed(), std::nullopt};
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

void SecurityMonitor::connect_to(const QString& socket_path) { connect_to_target(Target{socket_path, std::nullopt}); }

void SecurityMonitor::connect_to_remote(const QString& endpoint, const agent::monitor::TlsFiles& tls) {
  connect_to_target(Target{endpoint, tls});
}

void SecurityMonitor::connect_to_target(const Target& target) {
  if (target.address.isEmpty()) {
    status_->setText(target.tls ? "Type the monitor endpoint as host:port" : "Type the agent's control socket path");
    return;
  }
  if (target.tls && (target.tls->certificate.empty() || target.tls->private_key.empty() || target.tls->ca.empty())) {
    status_->setText("The TLS monitor endpoint needs a client certificate, its private key and the CA bundle");
    return;
  }
  target_ = target;
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
  poll_future_ = run_in_background<Snapshot>(
      this,
      [target]() {
        Snapshot snapshot;
        const auto& path = target.address;
        auto client = open_agent(target);
        if (!client) {
          snapshot.error = client.error();
          return snapshot;
        }
        auto sas = call(*client, control::ShowSaRequest{});
        if (!sas) {
          snapshot.error = path + ": " + sas.error();
          return snapshot;
        }
        auto policy = call(*client, control::ShowPolicyRequest{});
        if (!policy) {
          snapshot.error = path + ": " + policy.error();
          return snapshot;
        }
        auto filters = call(*client, control::ShowFiltersRequest{control::FilterView::Specific});
        if (!filters) {
          snapshot.error = path + ": " + filters.error();
          return snapshot;
        }
        snapshot.sas = sas->value("sas", nlohmann::json::array());
        if (sas->contains("main_modes")) snapshot.main_mode = (*sas)["main_modes"];  // wardd with IKE running
        if (sas->contains("soft_associations")) snapshot.soft_associations = (*sas)["soft_associations"];
        if (sas->contains("failures")) snapshot.failures = (*sas)["failures"];
        snapshot.policy = std::move(policy).value();
        snapshot.filters = filters->value("filters", nlohmann::json::array());
        return snapshot;
      },
      [this](Snapshot snapshot) {
        polling_ = false;
        set_busy(false);
        ++completed_polls_;
        apply(snapshot);
        emit polled();
      });
}

void SecurityMonitor::apply(const Snapshot& snapshot) {
  if (!snapshot.error.isEmpty()) {
    last_error_ = snapshot.error;
    status_->setText("Last poll failed: " + snapshot.error);
    statusBar()->showMessage("Agent poll failed", kStatusMessageMs);
    return;
  }
  last_error_.clear();
  // The quick mode tab lists soft associations beside the SAs (state "soft (no IPsec: ...)"), the
  // main mode tab the failed negotiations beside the main modes (state "failed" and why).
  nlohmann::json quick = snapshot.sas;
  for (const auto& soft : snapshot.soft_associations) quick.push_back(soft);
  nlohmann::json main = snapshot.main_mode;
  if (main.is_array()) {
    for (const auto& failure : snapshot.failures) main.push_back(failure);
  }
  fill_sas(quick, main);
  fill_statistics(snapshot.sas);
  fill_policy(snapshot.policy, snapshot.filters);
  if (!sized_) {
    for (auto* view : {main_mode_view_, quick_mode_view_, statistics_view_, filters_view_}) view->resizeColumnsToContents();
    sized_ = true;
  }
  status_->setText(QString("%1 — %2 quick mode SA%3 — updated %4")
                       .arg(target_ ? target_->address : QString())
                       .arg(snapshot.sas.size())
                       .arg(snapshot.sas.size() == 1 ? "" : "s")
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
      [target, packet]() -> QString {
        auto client = open_agent(target);
        if (!client) return "Cannot explain: " + client.error();
        auto result = call(*client, control::ExplainRequest{packet});
        if (!result) return "Cannot explain: " + result.error();
        try {
          return QString::fromStdString(agent::explain::render_explanation_text(nlohmann::ordered_json::parse(result->dump())));
        } catch (const nlohmann::json::exception& error) {
          return "Cannot explain: the agent's answer is not an explanation (" + QString::fromUtf8(error.what()) + ")";
        }
      },
      [this](QString text) {
        explaining_ = false;
        set_busy(false);
        explain_button_->setEnabled(true);
        explain_output_->setPlainText(text);
        emit explained();
      });
}

}  // namespace ward::gui
