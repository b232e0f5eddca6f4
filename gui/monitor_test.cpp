// The security monitor against a control socket server speaking the agent's protocol:
// agent/control's ControlServer (the daemon's own server code) over agent/control's FakeHandler
// (the Legal policy compiled for 10.20.1.5, canned SAs). Checks the SA tables, filtering and
// sorting, per-filter counters, the policy's source, explain, a failed poll; then the same agent
// through a real agent/monitor MonitorServer (TLS with client certificates from a test CA) chosen
// as the TLS monitor endpoint; saves a screenshot.
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include "agent/control/fake_handler.h"
#include "agent/control/server.h"
#include "agent/monitor/monitor_server.h"
#include "gui/security_monitor.h"
#include "gui/test_support.h"
#include "tests/harness/test_ca.h"

using namespace ward;
using namespace ward::gui;
using namespace ward::gui::testing;

namespace {

constexpr int kWaitMs = 10000;

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

}  // namespace

class MonitorTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    agent::control::ControlServerOptions options;
    options.socket_path = (dir_.path() + "/run/control.sock").toStdString();
    options.authorize = [](const agent::control::PeerCredentials&) -> Expected<void, std::string> { return {}; };
    options.warn = [](std::string_view) {};
    auto server = agent::control::ControlServer::start(options, handler_);
    QVERIFY2(server, server ? "" : server.error().c_str());
    server_ = std::move(server).value();
  }
  void cleanupTestCase() { server_.reset(); }

  void shows_sas_statistics_policy_and_explains() {
    SecurityMonitor monitor;
    monitor.show();
    QSignalSpy polled(&monitor, &SecurityMonitor::polled);
    // The local socket is the default; the TLS files are only shown for the remote endpoint.
    QCOMPARE(monitor.endpoint_combo()->currentIndex(), static_cast<int>(SecurityMonitor::kLocalSocket));
    QVERIFY(!monitor.certificate_edit()->isVisible());

    monitor.socket_edit()->clear();
    QTest::keyClicks(monitor.socket_edit(), QString::fromStdString(server_->socket_path().string()));
    QTest::keyClick(monitor.socket_edit(), Qt::Key_Return);
    QTRY_VERIFY_WITH_TIMEOUT(polled.count() >= 1, kWaitMs);
    QVERIFY2(monitor.last_error().isEmpty(), qPrintable(monitor.last_error()));

    // Quick mode SAs, sortable and filterable.
    const auto* quick = monitor.quick_mode_view()->model();
    QCOMPARE(quick->rowCount(), 2);
    monitor.quick_mode_view()->sortByColumn(column_of(quick, "spi"), Qt::DescendingOrder);
    QCOMPARE(cell(quick, 0, "spi"), QString("0xc0ffee02"));
    QCOMPARE(cell(quick, 0, "direction"), QString("in"));
    QCOMPARE(cell(quick, 0, "bytes"), QString("123456"));
    QTest::keyClicks(monitor.sa_filter_edit(), "ee01");
    QCOMPARE(quick->rowCount(), 1);
    QCOMPARE(cell(quick, 0, "direction"), QString("out"));
    monitor.sa_filter_edit()->clear();
    QCOMPARE(quick->rowCount(), 2);
    // The agent reports no main mode SAs: the tab says so instead of showing an empty table as if none existed.
    QVERIFY(monitor.findChild<QLabel*>("main_mode_note")->text().contains("does not report main mode"));

    // Counters per filter: both SAs belong to the same rule.
    const auto* statistics = monitor.statistics_view()->model();
    QCOMPARE(statistics->rowCount(), 1);
    QCOMPARE(cell(statistics, 0, "rule"), QString("Legal intra-department communications"));
    QCOMPARE(cell(statistics, 0, "sas"), QString("2"));
    QCOMPARE(cell(statistics, 0, "bytes"), QString("246912"));
    QCOMPARE(cell(statistics, 0, "packets"), QString("642"));

    // The active policy and where it came from.
    QVERIFY(monitor.policy_name_label()->text().startsWith("Communication for the Legal Department"));
    QCOMPARE(monitor.policy_source_label()->text(), QString("Legal IPsec linked to OU=Legal,DC=example,DC=com"));
    QVERIFY(monitor.policy_filters_view()->model()->rowCount() > 0);

    // Explain a typed 5-tuple.
    monitor.tabs()->setCurrentIndex(SecurityMonitor::kExplainTab);
    QSignalSpy explained(&monitor, &SecurityMonitor::explained);
    QTest::keyClicks(monitor.explain_source_edit(), "10.20.1.5");
    QTest::keyClicks(monitor.explain_destination_edit(), "10.20.1.7");
    monitor.explain_protocol_combo()->setCurrentText("tcp");
    QTest::keyClicks(monitor.explain_destination_port_edit(), "445");
    QTest::mouseClick(monitor.explain_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(explained.count() == 1, kWaitMs);
    const auto text = monitor.explain_output()->toPlainText();
    QVERIFY2(text.contains("Legal intra-department"), qPrintable(text));
    QVERIFY2(!text.contains(agent::control::testing::kFakePresharedKey), "explain shows a preshared key");

    // A typo is caught before anything is sent.
    monitor.explain_source_edit()->setText("10.20.1");
    monitor.explain_now();
    QVERIFY(monitor.explain_output()->toPlainText().contains("source address '10.20.1' is not an IP address"));

    monitor.tabs()->setCurrentIndex(SecurityMonitor::kQuickModeTab);
    save_screenshot(&monitor, "security_monitor");
    monitor.tabs()->setCurrentIndex(SecurityMonitor::kExplainTab);
    monitor.explain_source_edit()->setText("10.20.1.5");
    monitor.explain_now();
    QTRY_VERIFY_WITH_TIMEOUT(explained.count() == 3, kWaitMs);
    save_screenshot(&monitor, "security_monitor_explain");

    // Polls repeat on their own.
    const int before = monitor.completed_polls();
    QTRY_VERIFY_WITH_TIMEOUT(monitor.completed_polls() > before, 2 * static_cast<int>(kPollInterval.count()));
  }

  // wardd with IKE running: the helpdesk's states ("established", "negotiating", "failed" and why),
  // soft associations beside the SAs; the state machines' names only in their own column.
  void shows_states_soft_associations_and_failures_in_the_helpdesks_words() {
    handler_.with_ike = true;
    SecurityMonitor monitor;
    monitor.show();
    QSignalSpy polled(&monitor, &SecurityMonitor::polled);
    monitor.connect_to(QString::fromStdString(server_->socket_path().string()));
    QTRY_VERIFY_WITH_TIMEOUT(polled.count() >= 1, kWaitMs);
    handler_.with_ike = false;
    QVERIFY2(monitor.last_error().isEmpty(), qPrintable(monitor.last_error()));

    const auto* main = monitor.main_mode_view()->model();
    QCOMPARE(main->rowCount(), 3);  // two main modes, one failed negotiation
    QVERIFY(column_of(main, "state") < column_of(main, "internal_state"));
    const int established = row_with(main, "peer", "10.20.1.7");
    const int negotiating = row_with(main, "peer", "10.20.1.8");
    const int failed = row_with(main, "peer", "10.30.4.10");
    QVERIFY(established >= 0 && negotiating >= 0 && failed >= 0);
    QCOMPARE(cell(main, established, "state"), QString("established"));
    QCOMPARE(cell(main, established, "internal_state"), QString("MainMode6Received"));
    QCOMPARE(cell(main, negotiating, "state"), QString("negotiating"));
    QCOMPARE(cell(main, failed, "state"), QString("failed"));
    QCOMPARE(cell(main, failed, "failure"), QString("no response from peer"));

    const auto* quick = monitor.quick_mode_view()->model();
    QCOMPARE(quick->rowCount(), 3);  // two SAs and the soft association
    bool soft = false;
    for (int row = 0; row < quick->rowCount(); ++row) {
      if (cell(quick, row, "state") == "soft (no IPsec: peer did not answer IKE)") {
        soft = true;
        QCOMPARE(cell(quick, row, "peer"), QString("10.30.4.9"));
        QCOMPARE(cell(quick, row, "protocol"), QString("none (clear)"));
      }
    }
    QVERIFY2(soft, "no soft association row on the quick mode tab");
    monitor.tabs()->setCurrentIndex(SecurityMonitor::kMainModeTab);
    save_screenshot(&monitor, "security_monitor_main_mode");
  }

  void a_missing_socket_is_reported_and_the_window_stays_usable() {
    SecurityMonitor monitor;
    monitor.show();
    QSignalSpy polled(&monitor, &SecurityMonitor::polled);
    monitor.connect_to(dir_.path() + "/no-such.sock");
    QTRY_VERIFY_WITH_TIMEOUT(polled.count() >= 1, kWaitMs);
    QVERIFY2(monitor.last_error().contains("no agent socket"), qPrintable(monitor.last_error()));
    monitor.disconnect_agent();
    QVERIFY(monitor.socket_edit()->isEnabled());
  }

  // The remote endpoint: agent/monitor's MonitorServer over the same FakeHandler, TLS both ways.
  void fills_the_tables_through_the_tls_monitor_endpoint() {
    const std::filesystem::path d = dir_.path().toStdString();
    auto ca = test::make_test_ca(d, "helpdesk");
    auto other_ca = test::make_test_ca(d, "other");
    QVERIFY(ca && other_ca);
    auto server_cert = test::issue_server_certificate(*ca, d, "agent", "agent.example.test", {"IP:127.0.0.1"});
    auto client_cert = test::issue_client_certificate(*ca, d, "helpdesk-1", "helpdesk-1");
    QVERIFY(server_cert && client_cert);
    agent::monitor::MonitorOptions options;
    options.listen = "127.0.0.1:0";
    options.tls = {server_cert->certificate, server_cert->private_key, ca->certificate};
    options.log = [](std::string_view) {};
    auto server = agent::monitor::MonitorServer::start(options, handler_);
    QVERIFY2(server, server ? "" : server.error().c_str());
    const auto endpoint = QString("127.0.0.1:%1").arg((*server)->port());

    SecurityMonitor monitor;
    monitor.show();
    QSignalSpy polled(&monitor, &SecurityMonitor::polled);
    monitor.endpoint_combo()->setCurrentIndex(SecurityMonitor::kTlsMonitor);
    QVERIFY(monitor.certificate_edit()->isVisible());
    QVERIFY(monitor.socket_edit()->text().isEmpty());
    QTest::keyClicks(monitor.socket_edit(), endpoint);
    // Without the TLS files nothing is attempted.
    QTest::mouseClick(monitor.connect_button(), Qt::LeftButton);
    QVERIFY(!monitor.connected());
    QTest::keyClicks(monitor.certificate_edit(), QString::fromStdString(client_cert->certificate.string()));
    QTest::keyClicks(monitor.private_key_edit(), QString::fromStdString(client_cert->private_key.string()));
    QTest::keyClicks(monitor.ca_edit(), QString::fromStdString(ca->certificate.string()));
    QTest::mouseClick(monitor.connect_button(), Qt::LeftButton);
    QVERIFY(monitor.connected());
    QVERIFY(!monitor.certificate_edit()->isEnabled());
    QTRY_VERIFY_WITH_TIMEOUT(polled.count() >= 1, kWaitMs);
    QVERIFY2(monitor.last_error().isEmpty(), qPrintable(monitor.last_error()));
    const auto* quick = monitor.quick_mode_view()->model();
    QCOMPARE(quick->rowCount(), 2);
    QCOMPARE(monitor.statistics_view()->model()->rowCount(), 1);
    QVERIFY(monitor.policy_name_label()->text().startsWith("Communication for the Legal Department"));
    QVERIFY(monitor.policy_filters_view()->model()->rowCount() > 0);
    QVERIFY((*server)->counters().requests.load() >= 3);

    // Explain goes through the endpoint too.
    QSignalSpy explained(&monitor, &SecurityMonitor::explained);
    QTest::keyClicks(monitor.explain_source_edit(), "10.20.1.5");
    QTest::keyClicks(monitor.explain_destination_edit(), "10.20.1.7");
    monitor.explain_protocol_combo()->setCurrentText("tcp");
    QTest::keyClicks(monitor.explain_destination_port_edit(), "445");
    monitor.explain_now();
    QTRY_VERIFY_WITH_TIMEOUT(explained.count() == 1, kWaitMs);
    QVERIFY2(monitor.explain_output()->toPlainText().contains("Legal intra-department"),
             qPrintable(monitor.explain_output()->toPlainText()));
    monitor.disconnect_agent();
    QVERIFY(monitor.certificate_edit()->isEnabled());

    // A CA that did not sign the agent's certificate: the poll fails and says where.
    SecurityMonitor distrustful;
    QSignalSpy distrust_polled(&distrustful, &SecurityMonitor::polled);
    distrustful.connect_to_remote(endpoint, {client_cert->certificate, client_cert->private_key, other_ca->certificate});
    QTRY_VERIFY_WITH_TIMEOUT(distrust_polled.count() >= 1, kWaitMs);
    QVERIFY2(distrustful.last_error().contains(endpoint + ": cannot reach the TLS monitor endpoint"),
             qPrintable(distrustful.last_error()));
  }

 private:
  QTemporaryDir dir_;
  agent::control::testing::FakeHandler handler_;
  std::unique_ptr<agent::control::ControlServer> server_;
};

QTEST_MAIN(MonitorTest)
#include "monitor_test.moc"
