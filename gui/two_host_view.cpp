#include "gui/two_host_view.h"

#include <future>

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIntValidator>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTableView>
#include <QTime>
#include <QTimer>
#include <QVBoxLayout>

#include "agent/control/protocol.h"
#include "gui/background.h"
#include "gui/fleet_summary.h"
#include "gui/json_table.h"
#include "gui/port_editor.h"
#include "gui/security_monitor.h"

namespace ward::gui {

namespace {

const QStringList kPairColumns{"kind", "peer", "state", "failure", "direction", "spi", "bytes", "packets", "rule", "protocol",
                               "mode", "cipher", "integrity", "drops", "auth_method", "role", "internal_state"};

}  // namespace

TwoHostView::TwoHostView(QWidget* parent) : QMainWindow(parent), timer_(new QTimer(this)), status_(new QLabel(this)) {
  setWindowTitle("Ward Security Monitor — Two Hosts");
  setObjectName("two_host_view");
  setWindowFlag(Qt::Window);
  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  auto* splitter = new QSplitter(Qt::Horizontal, central);
  auto* left = new QWidget(splitter);
  auto* right = new QWidget(splitter);
  a_ = build_side(left, "a");
  b_ = build_side(right, "b");
  layout->addWidget(splitter, 1);

  auto* flow = new QHBoxLayout;
  source_ = new QLineEdit(central);
  source_->setObjectName("flow_source");
  destination_ = new QLineEdit(central);
  destination_->setObjectName("flow_destination");
  protocol_ = new QComboBox(central);
  protocol_->setObjectName("flow_protocol");
  protocol_->setEditable(true);
  protocol_->addItems({"any", "tcp", "udp", "icmp", "icmpv6"});
  source_port_ = new QLineEdit(central);
  source_port_->setObjectName("flow_source_port");
  destination_port_ = new QLineEdit(central);
  destination_port_->setObjectName("flow_destination_port");
  for (auto* port : {source_port_, destination_port_}) {
    port->setValidator(new QIntValidator(0, kMaxPort, port));
    port->setPlaceholderText("any");
    port->setMaximumWidth(80);
  }
  const auto add = [&](const QString& text, QWidget* field, int stretch) {
    auto* label = new QLabel(text, central);
    label->setBuddy(field);
    flow->addWidget(label);
    flow->addWidget(field, stretch);
  };
  add("Flow: s&ource", source_, 2);
  add("&destination", destination_, 2);
  add("p&rotocol", protocol_, 1);
  add("so&urce port", source_port_, 0);
  add("destination por&t", destination_port_, 0);
  explain_button_ = new QPushButton("&Explain on Both", central);
  explain_button_->setObjectName("explain");
  flow->addWidget(explain_button_);
  layout->addLayout(flow);
  connect(explain_button_, &QPushButton::clicked, this, &TwoHostView::explain_now);

  setCentralWidget(central);
  statusBar()->addWidget(status_, 1);
  timer_->setInterval(kPollInterval);
  connect(timer_, &QTimer::timeout, this, &TwoHostView::poll);
  resize(1400, 800);
}

TwoHostView::~TwoHostView() {
  // An address field losing focus as the window goes emits editingFinished: no poll from here on.
  for (auto* edit : {a_.address, b_.address}) disconnect(edit, nullptr, this, nullptr);
  timer_->stop();
  poll_future_.waitForFinished();
  explain_future_.waitForFinished();
}

TwoHostView::Side TwoHostView::build_side(QWidget* parent, const char* name) {
  Side side{};
  auto* layout = new QVBoxLayout(parent);
  side.title = new QLabel(parent);
  side.title->setObjectName(QString(name) + "_title");
  QFont bold = side.title->font();
  bold.setBold(true);
  side.title->setFont(bold);
  side.policy = new QLabel(parent);
  side.policy->setObjectName(QString(name) + "_policy");
  side.policy->setWordWrap(true);
  side.address = new QLineEdit(parent);
  side.address->setObjectName(QString(name) + "_address");
  side.address->setPlaceholderText("this host's IPsec address (the other side's SAs are those with it)");
  connect(side.address, &QLineEdit::editingFinished, this, &TwoHostView::poll);
  auto* form = new QFormLayout;
  auto* address_label = new QLabel(QString("IPsec &address (%1):").arg(QString(name).toUpper()), parent);
  address_label->setBuddy(side.address);
  form->addRow(address_label, side.address);
  side.model = new QStandardItemModel(this);
  side.view = make_view(parent, (std::string(name) + "_sas").c_str(), make_proxy(this, side.model));
  side.explanation = new QPlainTextEdit(parent);
  side.explanation->setObjectName(QString(name) + "_explanation");
  side.explanation->setReadOnly(true);
  side.explanation->setFont(QFont("monospace"));
  side.explanation->setPlaceholderText("Explain a flow below: this agent's answer appears here");
  layout->addWidget(side.title);
  layout->addWidget(side.policy);
  layout->addLayout(form);
  layout->addWidget(side.view, 3);
  layout->addWidget(side.explanation, 2);
  return side;
}

void TwoHostView::set_hosts(const Host& a, const Host& b) {
  host_a_ = a;
  host_b_ = b;
  hosts_set_ = true;
  a_.title->setText("A: " + a.name + " (" + a.target.address + ")");
  b_.title->setText("B: " + b.name + " (" + b.target.address + ")");
  a_.address->setText(a.address);
  b_.address->setText(b.address);
  if (source_->text().isEmpty()) source_->setText(a.address);
  if (destination_->text().isEmpty()) destination_->setText(b.address);
  setWindowTitle("Ward Security Monitor — " + a.name + " and " + b.name);
  timer_->start();
  poll();
}

void TwoHostView::poll() {
  if (polling_ || !hosts_set_) return;
  polling_ = true;
  const auto a = host_a_.target;
  const auto b = host_b_.target;
  poll_future_ = run_in_background<std::pair<AgentSnapshot, AgentSnapshot>>(
      this,
      [a, b]() {
        auto read_b = std::async(std::launch::async, [b] { return read_agent(b, SnapshotRequest{}); });
        auto read_a = read_agent(a, SnapshotRequest{});
        return std::pair{std::move(read_a), read_b.get()};
      },
      [this](std::pair<AgentSnapshot, AgentSnapshot> snapshots) {
        polling_ = false;
        ++completed_polls_;
        // Each side lists its rows with the other side's address.
        fill(a_, snapshots.first, b_.address->text());
        fill(b_, snapshots.second, a_.address->text());
        QStringList errors;
        for (const auto* snapshot : {&snapshots.first, &snapshots.second}) {
          if (!snapshot->error.isEmpty()) errors << snapshot->error;
        }
        last_error_ = errors.join("; ");
        status_->setText(last_error_.isEmpty() ? "Updated " + QTime::currentTime().toString("HH:mm:ss") : "Poll failed: " + last_error_);
        emit polled();
      });
}

void TwoHostView::fill(Side& side, const AgentSnapshot& snapshot, const QString& peer) {
  if (!snapshot.error.isEmpty()) {
    side.policy->setText("<font color='darkred'>" + snapshot.error.toHtmlEscaped() + "</font>");
    return;  // the last rows stay
  }
  const auto summary = summarize(snapshot.sa, snapshot.policy);
  side.policy->setText(QString("Policy: %1 (%2) — %3 main mode%4, %5 quick mode SA%6, %7 failed negotiation%8 in all")
                           .arg(summary.policy, summary.policy_state)
                           .arg(summary.main_modes)
                           .arg(summary.main_modes == 1 ? "" : "s")
                           .arg(summary.quick_modes)
                           .arg(summary.quick_modes == 1 ? "" : "s")
                           .arg(summary.failures)
                           .arg(summary.failures == 1 ? "" : "s"));
  fill_table(side.model, rows_with_peer(snapshot.sa, peer), kPairColumns);
  side.view->resizeColumnsToContents();
}

void TwoHostView::explain_now() {
  if (explaining_ || !hosts_set_) return;
  const auto source = IpAddress::parse(source_->text().trimmed().toStdString());
  const auto destination = IpAddress::parse(destination_->text().trimmed().toStdString());
  const auto protocol = agent::control::parse_protocol(protocol_->currentText().trimmed().toStdString());
  QString problem;
  if (!source) problem = "source address '" + source_->text() + "' is not an IP address";
  else if (!destination) problem = "destination address '" + destination_->text() + "' is not an IP address";
  else if (!protocol) problem = "protocol '" + protocol_->currentText() + "' is not a name or 0..255";
  if (!problem.isEmpty()) {
    a_.explanation->setPlainText("Cannot explain: " + problem);
    b_.explanation->setPlainText("Cannot explain: " + problem);
    emit explained();
    return;
  }
  model::PacketTuple packet;
  packet.source = *source;
  packet.destination = *destination;
  packet.protocol = *protocol;
  packet.source_port = static_cast<std::uint16_t>(source_port_->text().toUInt());
  packet.destination_port = static_cast<std::uint16_t>(destination_port_->text().toUInt());
  explaining_ = true;
  explain_button_->setEnabled(false);
  const auto a = host_a_.target;
  const auto b = host_b_.target;
  explain_future_ = run_in_background<std::pair<QString, QString>>(
      this,
      [a, b, packet]() {
        auto on_b = std::async(std::launch::async, [b, packet] { return explain_on_agent(b, packet); });
        auto on_a = explain_on_agent(a, packet);
        return std::pair{on_a, on_b.get()};
      },
      [this](std::pair<QString, QString> texts) {
        explaining_ = false;
        explain_button_->setEnabled(true);
        a_.explanation->setPlainText(texts.first);
        b_.explanation->setPlainText(texts.second);
        emit explained();
      });
}

}  // namespace ward::gui
