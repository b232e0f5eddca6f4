// The Security Monitor's fleet view, two-host view and charts against real agents: the Windows
// defaults lab (tests/agent/windows_lab.h: a real slapd with the AD-layout schema and GPOs, a real
// MIT krb5kdc, eight wardd processes in network namespaces negotiating IKE with Kerberos) with
// every wardd serving its TLS monitor endpoint. Traffic between chosen hosts gives ESP SAs (Secure
// Server s1 -> Respond Only c1), a soft association (Request r1 -> no policy n1) and a failed
// negotiation (Secure s2 -> no policy n2); the views must show exactly those, and save PNGs.
#include <QChart>
#include <QComboBox>
#include <QDateTime>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QTest>

#include <set>

#include "gui/agent_link.h"
#include "gui/fleet_monitor.h"
#include "gui/monitor_charts.h"
#include "gui/security_monitor.h"
#include "gui/test_support.h"
#include "gui/traffic_history.h"
#include "gui/two_host_view.h"
#include "tests/agent/windows_lab.h"
#include "tests/netns/netns.h"

using namespace ward;
using namespace ward::gui;
using namespace ward::gui::testing;
using ward::test::windows::Host;
using ward::test::windows::Lab;
using ward::test::windows::Role;

namespace {

constexpr int kWaitMs = 20000;
constexpr int kFailureWaitMs = 90000;  // IKE retransmits before it gives up on a silent peer
constexpr std::uint16_t kPort = ward::test::windows::kTcpPort;

int column_of(const QAbstractItemModel* model, const QString& name) {
  for (int column = 0; column < model->columnCount(); ++column) {
    if (model->headerData(column, Qt::Horizontal, Qt::UserRole).toString() == name) return column;
  }
  return -1;
}

QString cell(const QAbstractItemModel* model, int row, const QString& column) {
  return model->index(row, column_of(model, column)).data().toString();
}

int row_with(const QAbstractItemModel* model, const QString& column, const QString& value) {
  for (int row = 0; row < model->rowCount(); ++row) {
    if (cell(model, row, column) == value) return row;
  }
  return -1;
}

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

// SPIs of the quick mode rows in one direction.
std::set<QString> spis(const QAbstractItemModel* model, const QString& direction) {
  std::set<QString> out;
  for (int row = 0; row < model->rowCount(); ++row) {
    if (cell(model, row, "kind") == "quick mode SA" && cell(model, row, "direction") == direction) out.insert(cell(model, row, "spi"));
  }
  return out;
}

}  // namespace

class FleetLabTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) QSKIP(why.c_str());
    auto started = Lab::start(ward::test::windows::PolicySet::LookAlikes, source_dir(), {.monitor = true});
    QVERIFY2(started, started ? "" : started.error().c_str());
    lab_ = std::move(started).value();
    for (auto& h : lab_->hosts()) {
      listeners_.push_back(std::make_unique<ward::testing::TcpListeners>(*h.ns, h.address, std::initializer_list<std::uint16_t>{kPort}));
    }
    // The traffic the views must show: ESP (s1 -> c1), fallback to clear (r1 -> n1), and a Secure
    // Server whose peer never answers IKE (s2 -> n2: no connection, a failed negotiation).
    QVERIFY(ward::testing::tcp_connects(*host(Role::Secure, 1).ns, host(Role::RespondOnly, 1).address, kPort) ||
            ward::testing::tcp_connects(*host(Role::Secure, 1).ns, host(Role::RespondOnly, 1).address, kPort));
    (void)ward::testing::tcp_connects(*host(Role::Request, 1).ns, host(Role::NoPolicy, 1).address, kPort);
    (void)ward::testing::tcp_connects(*host(Role::Secure, 2).ns, host(Role::NoPolicy, 2).address, kPort);
    list_ = QString::fromStdString((lab_->host(Role::Secure, 1).dir.parent_path() / "fleet.txt").string());
    QString text = "# the lab's eight agents\n";
    for (const auto& h : lab_->hosts()) {
      text += QString("%1 %2 %3\n").arg(QString::fromStdString(h.monitor_endpoint), QString::fromStdString(h.name),
                                         QString::fromStdString(h.address));
    }
    QFile file(list_);
    QVERIFY(file.open(QIODevice::WriteOnly) && file.write(text.toUtf8()) > 0);
  }
  void cleanupTestCase() {
    listeners_.clear();
    if (lab_) {
      const auto sanitizers = lab_->stop_wardds();
      QVERIFY2(sanitizers.empty(), sanitizers.c_str());
    }
    lab_.reset();
  }

  void fleet_view_shows_every_agent() {
    FleetMonitor fleet;
    fleet.show();
    QSignalSpy polled(&fleet, &FleetMonitor::polled);
    QVERIFY2(fleet.load_list(list_), qPrintable(fleet.last_error()));
    set_tls(fleet);
    QVERIFY2(fleet.start(), qPrintable(fleet.last_error()));
    const auto* rows = fleet.fleet_model();
    const auto number = [&](const char* agent, const char* column) { return cell(rows, row_with(rows, "agent", agent), column).toInt(); };
    // Wait for s2's failed negotiation with n2 (IKE gives up on the silent peer after its retransmits).
    QTRY_VERIFY_WITH_TIMEOUT(polled.count() >= 1 && rows->rowCount() == 8 && number("s2", "failures") >= 1, kFailureWaitMs);
    QVERIFY2(fleet.last_error().isEmpty(), qPrintable(fleet.last_error()));
    for (const auto& h : lab_->hosts()) {
      const int row = row_with(rows, "agent", QString::fromStdString(h.name));
      QVERIFY(row >= 0);
      QCOMPARE(cell(rows, row, "error"), QString());
      QCOMPARE(cell(rows, row, "endpoint"), QString::fromStdString(h.monitor_endpoint));
    }
    QCOMPARE(cell(rows, row_with(rows, "agent", "s1"), "policy"), QString("Secure Server (Require Security)"));
    QCOMPARE(cell(rows, row_with(rows, "agent", "c1"), "policy"), QString("Client (Respond Only)"));
    QCOMPARE(cell(rows, row_with(rows, "agent", "n1"), "policy"), QString("(none)"));
    QVERIFY(number("s1", "main_modes") >= 1);
    QVERIFY(number("s1", "quick_modes") >= 2);  // in and out
    QVERIFY(number("c1", "quick_modes") >= 2);
    QVERIFY(number("s1", "bytes") > 0);
    QVERIFY(number("r1", "soft") >= 1);          // fell back to clear with n1
    QCOMPARE(number("n1", "quick_modes"), 0);
    QCOMPARE(number("s1", "failures"), 0);
    save_screenshot(&fleet, "fleet_monitor");
  }

  void two_host_view_puts_both_sides_of_one_flow_together() {
    FleetMonitor fleet;
    QSignalSpy fleet_polled(&fleet, &FleetMonitor::polled);
    QVERIFY(fleet.load_list(list_));
    set_tls(fleet);
    QVERIFY(fleet.start());
    QTRY_VERIFY_WITH_TIMEOUT(fleet_polled.count() >= 1, kWaitMs);
    const auto* rows = fleet.fleet_model();
    auto* pair = fleet.compare(row_with(rows, "agent", "s1"), row_with(rows, "agent", "c1"));
    QVERIFY(pair);
    QSignalSpy polled(pair, &TwoHostView::polled);
    QTRY_VERIFY_WITH_TIMEOUT(polled.count() >= 1, kWaitMs);
    QVERIFY2(pair->last_error().isEmpty(), qPrintable(pair->last_error()));
    const auto& s1 = host(Role::Secure, 1);
    const auto& c1 = host(Role::RespondOnly, 1);
    const auto* a = pair->side_a().model;
    const auto* b = pair->side_b().model;
    QVERIFY(row_with(a, "kind", "main mode") >= 0);
    QVERIFY(row_with(b, "kind", "main mode") >= 0);
    for (int row = 0; row < a->rowCount(); ++row) QCOMPARE(cell(a, row, "peer"), QString::fromStdString(c1.address));
    for (int row = 0; row < b->rowCount(); ++row) QCOMPARE(cell(b, row, "peer"), QString::fromStdString(s1.address));
    // The same SAs seen from both ends: A's outbound SPIs are B's inbound ones and back.
    QVERIFY(!spis(a, "out").empty());
    QCOMPARE(spis(a, "out"), spis(b, "in"));
    QCOMPARE(spis(a, "in"), spis(b, "out"));
    QVERIFY(pair->side_a().policy->text().contains("Secure Server"));
    QVERIFY(pair->side_b().policy->text().contains("Respond Only"));

    // One flow, s1 -> c1 TCP to the listener, explained by both agents.
    QCOMPARE(pair->flow_source_edit()->text(), QString::fromStdString(s1.address));
    QCOMPARE(pair->flow_destination_edit()->text(), QString::fromStdString(c1.address));
    pair->flow_protocol_combo()->setCurrentText("tcp");
    pair->flow_destination_port_edit()->setText(QString::number(kPort));
    QSignalSpy explained(pair, &TwoHostView::explained);
    QTest::mouseClick(pair->explain_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(explained.count() == 1, kWaitMs);
    const auto on_a = pair->side_a().explanation->toPlainText();
    const auto on_b = pair->side_b().explanation->toPlainText();
    const QString packet = QString("packet: %1 -> %2 tcp").arg(QString::fromStdString(s1.address), QString::fromStdString(c1.address));
    QVERIFY2(on_a.contains(packet) && on_a.contains("rule \"Require Security\"") && on_a.contains("(negotiate)"), qPrintable(on_a));
    QVERIFY2(on_b.contains(packet) && !on_b.contains("Require Security"), qPrintable(on_b));  // B answers from its own policy
    qInfo("%s", qPrintable(on_b));
    pair->resize(1500, 850);
    save_screenshot(pair, "two_host_view");
    pair->close();
  }

  // `ward-editor --monitor HOST:PORT --cert --key --ca` on s1; the Charts tab while s1 talks to c1.
  void charts_show_counters_and_negotiations() {
    const auto& s1 = host(Role::Secure, 1);
    const auto& c1 = host(Role::RespondOnly, 1);
    const auto& tls = *lab_->monitor_credentials();
    auto target = agent_target_from(QString::fromStdString(s1.monitor_endpoint), QString::fromStdString(tls.client.certificate.string()),
                                     QString::fromStdString(tls.client.private_key.string()), QString::fromStdString(tls.ca.string()));
    QVERIFY2(target, target ? "" : qPrintable(target.error()));
    SecurityMonitor monitor;
    monitor.show();
    QSignalSpy polled(&monitor, &SecurityMonitor::polled);
    monitor.connect_to_target(*target);
    for (int round = 1; round <= 3; ++round) {
      for (int i = 0; i < 3 * round; ++i) (void)ward::testing::tcp_connects(*s1.ns, c1.address, kPort);
      const int before = static_cast<int>(polled.count());
      monitor.poll();
      QTRY_VERIFY_WITH_TIMEOUT(polled.count() > before, kWaitMs);
      QVERIFY2(monitor.last_error().isEmpty(), qPrintable(monitor.last_error()));
    }
    // One line per SA with a point per poll, its bytes growing with the connections.
    const auto& history = monitor.history();
    QVERIFY(!history.sas().empty());
    bool grew = false;
    for (const auto& [key, series] : history.sas()) {
      if (series.points.size() >= 3 && series.points.back().bytes > series.points.front().bytes) grew = true;
    }
    QVERIFY2(grew, "no SA's byte counter grew across the polls");
    QCOMPARE(static_cast<std::size_t>(monitor.charts()->bytes_chart()->series().size()), history.sas().size());
    QCOMPARE(static_cast<std::size_t>(monitor.charts()->packets_chart()->series().size()), history.sas().size());
    // s1's event log holds its negotiation with c1 and the failed ones with n1 and n2.
    int negotiated = 0;
    int failed = 0;
    for (const auto& bucket : history.per_minute(QDateTime::currentSecsSinceEpoch(), MonitorCharts::kEventMinutes)) {
      negotiated += bucket.negotiated;
      failed += bucket.failed;
    }
    QVERIFY(negotiated >= 1);
    QCOMPARE(monitor.charts()->events_chart()->series().size(), 1);
    monitor.tabs()->setCurrentIndex(SecurityMonitor::kChartsTab);
    monitor.resize(1200, 800);
    save_screenshot(&monitor, "security_monitor_charts");
    QCOMPARE(failed, 0);  // s1 only talked to c1
  }

  // s2's negotiations with the silent n2 failed: its event log and so its chart show failures.
  void charts_show_failed_negotiations() {
    const auto& s2 = host(Role::Secure, 2);
    const auto& tls = *lab_->monitor_credentials();
    SecurityMonitor monitor;
    monitor.show();
    QSignalSpy polled(&monitor, &SecurityMonitor::polled);
    monitor.connect_to_remote(QString::fromStdString(s2.monitor_endpoint), {tls.client.certificate, tls.client.private_key, tls.ca});
    QTRY_VERIFY_WITH_TIMEOUT(polled.count() >= 1, kWaitMs);
    QVERIFY2(monitor.last_error().isEmpty(), qPrintable(monitor.last_error()));
    int failed = 0;
    for (const auto& bucket : monitor.history().per_minute(QDateTime::currentSecsSinceEpoch(), MonitorCharts::kEventMinutes)) {
      failed += bucket.failed;
    }
    QVERIFY(failed >= 1);
    const auto* main = monitor.main_mode_view()->model();
    QVERIFY(row_with(main, "peer", QString::fromStdString(host(Role::NoPolicy, 2).address)) >= 0);
    QCOMPARE(cell(main, row_with(main, "peer", QString::fromStdString(host(Role::NoPolicy, 2).address)), "state"), QString("failed"));
    monitor.resize(1200, 800);
    monitor.tabs()->setCurrentIndex(SecurityMonitor::kChartsTab);
    save_screenshot(&monitor, "security_monitor_charts_failures");
    monitor.tabs()->setCurrentIndex(SecurityMonitor::kMainModeTab);
    save_screenshot(&monitor, "security_monitor_lab_main_mode");
  }

 private:
  const Host& host(Role role, int index) { return lab_->host(role, index); }
  void set_tls(FleetMonitor& fleet) {
    const auto& tls = *lab_->monitor_credentials();
    fleet.certificate_edit()->setText(QString::fromStdString(tls.client.certificate.string()));
    fleet.private_key_edit()->setText(QString::fromStdString(tls.client.private_key.string()));
    fleet.ca_edit()->setText(QString::fromStdString(tls.ca.string()));
  }

  std::unique_ptr<Lab> lab_;
  std::vector<std::unique_ptr<ward::testing::TcpListeners>> listeners_;
  QString list_;
};

QTEST_MAIN(FleetLabTest)
#include "fleet_lab_test.moc"
