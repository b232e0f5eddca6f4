// The security monitor against a control socket server speaking the agent's protocol:
// agent/control's ControlServer (the daemon's own server code) over agent/control's FakeHandler
// (the Legal policy compiled for 10.20.1.5, canned SAs). Checks the SA tables, filtering and
// sorting, per-filter counters, the policy's source, explain, a failed poll, and the TLS endpoint
// shown as unavailable; saves a screenshot.
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
#include "gui/security_monitor.h"
#include "gui/test_support.h"

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
    // The TLS endpoint is listed but cannot be chosen yet.
    auto* endpoints = qobject_cast<QStandardItemModel*>(monitor.endpoint_combo()->model());
    QVERIFY(endpoints);
    QVERIFY(!endpoints->item(1)->isEnabled());
    QVERIFY(endpoints->item(1)->text().contains("not available"));

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

 private:
  QTemporaryDir dir_;
  agent::control::testing::FakeHandler handler_;
  std::unique_ptr<agent::control::ControlServer> server_;
};

QTEST_MAIN(MonitorTest)
#include "monitor_test.moc"
