// The main window over a real JsonFolderStore: listing, errors, duplicate, delete, import, export,
// and a UI that keeps running while a store call blocks.
#include <sys/stat.h>

#include <QAction>
#include <QFile>
#include <QMessageBox>
#include <QProgressBar>
#include <QSemaphore>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include "directory/model/policy_json.h"
#include "gui/json_folder_store.h"
#include "gui/main_window.h"
#include "gui/policy_list_model.h"
#include "gui/test_support.h"

using namespace ward;
using namespace ward::gui;
using namespace ward::gui::testing;

namespace {

constexpr int kWaitMs = 10000;

// Wraps the real store and holds list() until the test releases it: a decorator that only adds a
// gate, so the test can watch the window while a store call is in flight.
class GatedStore final : public PolicyStore {
 public:
  GatedStore(std::unique_ptr<PolicyStore> inner, QSemaphore& gate) : inner_(std::move(inner)), gate_(gate) {}
  QString location() const override { return inner_->location(); }
  Expected<std::vector<PolicySummary>, StoreError> list() override {
    gate_.acquire();
    return inner_->list();
  }
  Expected<model::Policy, StoreError> load(const model::Guid& id) override { return inner_->load(id); }
  std::optional<StoreError> save(const model::Policy& policy) override { return inner_->save(policy); }
  std::optional<StoreError> remove(const model::Guid& id) override { return inner_->remove(id); }

 private:
  std::unique_ptr<PolicyStore> inner_;
  QSemaphore& gate_;
};

QStringList names(const MainWindow& window) {
  QStringList result;
  for (const auto& summary : window.policies()->items()) result << summary.name;
  return result;
}

}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT

 private slots:
  void init() {
    modal_misses() = 0;
    QVERIFY(dir_.isValid());
    for (const auto& file : QDir(dir_.path()).entryList(QDir::Files)) QFile::remove(dir_.filePath(file));
    JsonFolderStore seed(dir_.path());
    QVERIFY(!seed.save(load_example("legal-policy.json")));
  }
  void cleanup() { QCOMPARE(modal_misses(), 0); }

  void lists_the_folder() {
    MainWindow window(std::make_unique<JsonFolderStore>(dir_.path()));
    window.show();
    QTRY_COMPARE_WITH_TIMEOUT(window.policies()->rowCount(), 1, kWaitMs);
    QTRY_VERIFY(!window.busy());
    const auto& summary = window.policies()->items().front();
    QCOMPARE(summary.name, QString("Communication for the Legal Department"));
    QCOMPARE(summary.rule_count, 2);
    QVERIFY(summary.assignment.isEmpty());
    QCOMPARE(window.policies()->headerData(PolicyListModel::kAssignment, Qt::Horizontal, Qt::DisplayRole).toString(),
             QString("Assignment"));
  }

  void stays_responsive_while_the_store_works() {
    QSemaphore gate;
    MainWindow window(std::make_unique<GatedStore>(std::make_unique<JsonFolderStore>(dir_.path()), gate));
    window.show();
    QVERIFY(window.busy());
    int ticks = 0;
    QTimer ticker;
    connect(&ticker, &QTimer::timeout, [&] { ++ticks; });
    ticker.start(5);
    QTRY_VERIFY(ticks >= 5);  // the event loop runs while list() is blocked
    const auto actions = window.findChildren<QAction*>();
    const auto new_action = std::find_if(actions.begin(), actions.end(), [](QAction* a) { return a->text() == "&New Policy..."; });
    QVERIFY(new_action != actions.end());
    QVERIFY(!(*new_action)->isEnabled());
    QVERIFY(window.findChild<QProgressBar*>()->isVisible());
    gate.release();
    QTRY_COMPARE_WITH_TIMEOUT(window.policies()->rowCount(), 1, kWaitMs);
    QVERIFY(!window.busy());
    QVERIFY((*new_action)->isEnabled());
    QVERIFY(!window.findChild<QProgressBar*>()->isVisible());
  }

  void a_store_failure_opens_an_error_dialog() {
    const QString missing = dir_.filePath("no-such-folder");
    MainWindow window(std::make_unique<JsonFolderStore>(missing));
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(window.findChild<QMessageBox*>("error") != nullptr, kWaitMs);
    auto* box = window.findChild<QMessageBox*>("error");
    QCOMPARE(box->text(), QString("cannot list policies"));
    QVERIFY2(box->informativeText().contains(missing), qPrintable(box->informativeText()));
    QVERIFY(!window.busy());
    box->accept();
  }

  void duplicates_and_deletes() {
    MainWindow window(std::make_unique<JsonFolderStore>(dir_.path()));
    window.show();
    QTRY_COMPARE_WITH_TIMEOUT(window.policies()->rowCount(), 1, kWaitMs);
    window.view()->selectRow(0);
    window.duplicate_selected();
    QTRY_COMPARE_WITH_TIMEOUT(window.policies()->rowCount(), 2, kWaitMs);
    QTRY_VERIFY(!window.busy());
    QVERIFY(names(window).contains("Copy of Communication for the Legal Department"));

    const int copy_row = static_cast<int>(names(window).indexOf("Copy of Communication for the Legal Department"));
    window.view()->selectRow(copy_row);
    when_modal<QMessageBox>([](QMessageBox* box) {
      QCOMPARE(box->objectName(), QString("confirm_delete"));
      box->button(QMessageBox::Yes)->click();
    });
    window.delete_selected();
    QTRY_COMPARE_WITH_TIMEOUT(window.policies()->rowCount(), 1, kWaitMs);
    QCOMPARE(names(window), QStringList{"Communication for the Legal Department"});
  }

  void imports_and_exports_json() {
    QTemporaryDir elsewhere;
    auto policy = load_example("legal-policy.json");
    policy.id = model::Guid::random();
    policy.name = "Imported legal policy";
    QFile file(elsewhere.filePath("in.json"));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromStdString(model::policy_to_json(policy)));
    file.close();

    MainWindow window(std::make_unique<JsonFolderStore>(dir_.path()));
    window.show();
    QTRY_COMPARE_WITH_TIMEOUT(window.policies()->rowCount(), 1, kWaitMs);
    window.import_file(file.fileName());
    QTRY_COMPARE_WITH_TIMEOUT(window.policies()->rowCount(), 2, kWaitMs);
    QTRY_VERIFY(!window.busy());

    window.view()->selectRow(static_cast<int>(names(window).indexOf("Imported legal policy")));
    const QString out = elsewhere.filePath("out.json");
    window.export_selected(out);
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && QFile::exists(out), kWaitMs);
    struct stat info {};
    QCOMPARE(::stat(out.toLocal8Bit().constData(), &info), 0);
    QCOMPARE(info.st_mode & 0777U, 0600U);
    QFile exported(out);
    QVERIFY(exported.open(QIODevice::ReadOnly));
    const auto reread = model::policy_from_json(exported.readAll().toStdString());
    QVERIFY(reread);
    QVERIFY(*reread == policy);
  }

  void import_of_a_broken_file_says_why() {
    QTemporaryDir elsewhere;
    QFile file(elsewhere.filePath("bad.json"));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"format": "ward-policy/1", "name": 5})");
    file.close();
    MainWindow window(std::make_unique<JsonFolderStore>(dir_.path()));
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy(), kWaitMs);
    window.import_file(file.fileName());
    QTRY_VERIFY_WITH_TIMEOUT(window.findChild<QMessageBox*>("error") != nullptr, kWaitMs);
    QVERIFY(window.last_error().startsWith("Cannot import " + file.fileName()));
    window.findChild<QMessageBox*>("error")->accept();
  }

 private:
  QTemporaryDir dir_;
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
