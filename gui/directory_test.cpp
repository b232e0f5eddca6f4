// The editor against a real slapd (tests/harness SlapdInstance with the Ward AD schema and the
// Legal scenario's domain, OUs, computers, sites and GPOs, without its IPsec policies): connect
// through the Connect dialog, build the Legal policy through the dialogs, save it to the
// directory, read it back with directory/store, assign it to a GPO and link and unlink the GPO
// through the Group Policy dialogs, and check the directory after each step.
#include <QAction>
#include <QComboBox>
#include <QCheckBox>
#include <QDialogButtonBox>
#include <QPushButton>
#include <QFile>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QRadioButton>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include "directory/gpo/dn.h"
#include "directory/gpo/gplink.h"
#include "directory/model/policy_json.h"
#include "directory/store/policy_store.h"
#include "gui/connect_dialog.h"
#include "gui/gpo_dialog.h"
#include "gui/json_folder_store.h"
#include "gui/legal_dialog_steps.h"
#include "gui/main_window.h"
#include "gui/policy_dialog.h"
#include "gui/policy_ids.h"
#include "gui/policy_list_model.h"
#include "gui/test_support.h"
#include "tests/harness/slapd_instance.h"

using namespace ward;
using namespace ward::gui;
using namespace ward::gui::testing;

namespace {

constexpr int kWaitMs = 30000;
constexpr const char* kDomain = "DC=example,DC=test";
constexpr const char* kLegalGpo = "CN={6D2A0F4E-3B1C-4C8D-9E7F-1A2B3C4D5E01},CN=Policies,CN=System,DC=example,DC=test";
constexpr const char* kSales = "OU=Sales,DC=example,DC=test";

QString source_dir() { return qEnvironmentVariable("WARD_SOURCE_DIR", "."); }

// legal.ldif without the IPsec objects: every record before the generated policies, except the
// GPOs' CN=IPSEC assignment objects (they would name policies that are not there).
QByteArray base_ldif() {
  QFile in(source_dir() + "/schemas/examples/legal.ldif");
  if (!in.open(QIODevice::ReadOnly)) return {};
  const auto records = QString::fromUtf8(in.readAll()).split("\n\n");
  QStringList kept;
  for (const auto& record : records) {
    if (record.contains("dn: CN=ipsec", Qt::CaseSensitive)) break;  // the generated IPsec objects start here
    if (record.contains("\ndn: CN=IPSEC,") || record.startsWith("dn: CN=IPSEC,")) continue;
    kept.append(record);
  }
  return kept.join("\n\n").toUtf8() + "\n";
}

// The combo item whose data is `dn`, compared as DNs (slapd returns attribute types in lower case).
int index_of_dn(const QComboBox* combo, const char* dn) {
  for (int i = 0; i < combo->count(); ++i) {
    if (gpo::normalize_dn(combo->itemData(i).toString().toStdString()) == gpo::normalize_dn(dn)) return i;
  }
  return -1;
}

int row_of(const MainWindow& window, const QString& name) {
  const auto& items = window.policies()->items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

class DirectoryTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(ldif_dir_.isValid());
    const auto ldif = base_ldif();
    QVERIFY(ldif.contains("OU=Legal"));
    QVERIFY(!ldif.contains("ipsecPolicy{"));
    const QString path = ldif_dir_.filePath("legal-base.ldif");
    QFile out(path);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(ldif);
    out.close();

    test::SlapdOptions options;
    options.suffix = "dc=example,dc=test";
    options.root_dn = "cn=admin,dc=example,dc=test";
    options.create_suffix_entry = false;
    options.extra_schemas = {(source_dir() + "/schemas/openldap/ward-ad-ipsec.ldif").toStdString()};
    options.initial_ldif = {path.toStdString()};
    auto slapd = test::SlapdInstance::start(options);
    QVERIFY2(slapd, slapd ? "" : slapd.error().to_string().c_str());
    slapd_ = std::move(slapd).value();

    ldap::SessionOptions session_options;
    session_options.uris = {slapd_->ldap_uri()};
    session_options.bind = ldap::SimpleBind{slapd_->options().root_dn, model::Secret(slapd_->options().root_password)};
    auto session = ldap::Session::connect(session_options);
    QVERIFY2(session, session ? "" : session.error().to_string().c_str());
    checker_ = std::move(session).value();
  }

  void cleanupTestCase() {
    checker_.reset();
    slapd_.reset();
  }

  void init() { modal_misses() = 0; }
  void cleanup() { QCOMPARE(modal_misses(), 0); }

  void the_connect_dialog_hands_over_the_password_and_forgets_it() {
    ConnectDialog dialog;
    auto* ok = dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
    QVERIFY(!ok->isEnabled());
    QTest::keyClicks(dialog.uris_edit(), "ldap://dc1.example.test ldap://dc2.example.test");
    QTest::keyClicks(dialog.domain_edit(), kDomain);
    QTest::keyClicks(dialog.bind_dn_edit(), "cn=admin,dc=example,dc=test");
    QVERIFY(!ok->isEnabled());  // no password yet
    QTest::keyClicks(dialog.password_edit(), "secret-1");
    QVERIFY(ok->isEnabled());
    dialog.start_tls_check()->setChecked(true);
    QVERIFY(!ok->isEnabled());  // StartTLS needs the CA bundle
    QTest::keyClicks(dialog.ca_file_edit(), "/tmp/ca.pem");
    QVERIFY(ok->isEnabled());
    const auto options = dialog.take_options();
    QVERIFY(dialog.password_edit()->text().isEmpty());
    QCOMPARE(options.uris, (std::vector<std::string>{"ldap://dc1.example.test", "ldap://dc2.example.test"}));
    QCOMPARE(options.tls, ldap::TlsMode::kStartTls);
    QCOMPARE(options.ca_file, std::string("/tmp/ca.pem"));
    const auto* simple = std::get_if<ldap::SimpleBind>(&options.bind);
    QVERIFY(simple);
    QCOMPARE(simple->password.reveal(), std::string_view("secret-1"));
    dialog.kerberos_button()->setChecked(true);
    QVERIFY(!dialog.password_edit()->isEnabled());
    QVERIFY(!ok->isEnabled());
    QTest::keyClicks(dialog.keytab_edit(), "FILE:/tmp/admin.keytab");
    QTest::keyClicks(dialog.principal_edit(), "admin@EXAMPLE.TEST");
    QVERIFY(ok->isEnabled());
    const auto keytab_options = dialog.take_options();
    const auto* keytab = std::get_if<ldap::GssapiBind>(&keytab_options.bind);
    QVERIFY(keytab);
    QCOMPARE(keytab->keytab, std::string("FILE:/tmp/admin.keytab"));
    QCOMPARE(keytab->client_principal, std::string("admin@EXAMPLE.TEST"));

    // Kerberos with my ticket: no keytab (the default ccache), the principal is optional.
    dialog.ticket_button()->setChecked(true);
    QVERIFY(!dialog.keytab_edit()->isEnabled());
    QVERIFY(dialog.principal_edit()->isEnabled());
    QVERIFY(!dialog.password_edit()->isEnabled());
    QVERIFY(ok->isEnabled());
    auto ticket_options = dialog.take_options();
    const auto* ticket = std::get_if<ldap::GssapiBind>(&ticket_options.bind);
    QVERIFY(ticket);
    QVERIFY(ticket->keytab.empty());
    QCOMPARE(ticket->client_principal, std::string("admin@EXAMPLE.TEST"));
    dialog.principal_edit()->clear();
    QVERIFY(ok->isEnabled());
    ticket_options = dialog.take_options();
    ticket = std::get_if<ldap::GssapiBind>(&ticket_options.bind);
    QVERIFY(ticket);
    QVERIFY(ticket->keytab.empty());
    QVERIFY(ticket->client_principal.empty());
    dialog.kerberos_button()->setChecked(true);
    QVERIFY(!ok->isEnabled());  // the keytab choice needs its principal again
  }

  void a_wrong_password_shows_an_error_without_the_password() {
    MainWindow window(std::make_unique<JsonFolderStore>(folder_.path()));
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy(), kWaitMs);
    const QString wrong = "not-the-password-5e1b";
    connect_through_dialog(window, wrong);
    QTRY_VERIFY_WITH_TIMEOUT(!window.last_error().isEmpty(), kWaitMs);
    QVERIFY2(window.last_error().contains("Invalid credentials", Qt::CaseInsensitive), qPrintable(window.last_error()));
    QVERIFY(!window.last_error().contains(wrong));
    auto* box = window.findChild<QMessageBox*>("error");
    QVERIFY(box);
    QVERIFY(!box->informativeText().contains(wrong));
    QVERIFY(window.store()->group_policy() == nullptr);  // still the folder
    box->close();
  }

  void creates_assigns_and_links_the_legal_policy_through_the_ui() {
    const auto expected = load_example("legal-policy.json");
    MainWindow window(std::make_unique<JsonFolderStore>(folder_.path()));
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy(), kWaitMs);

    connect_through_dialog(window, QString::fromStdString(slapd_->options().root_password));
    QTRY_VERIFY_WITH_TIMEOUT(window.store()->group_policy() != nullptr && !window.busy(), kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    QVERIFY(window.windowTitle().contains("directory ldap://127.0.0.1"));
    QCOMPARE(window.policies()->rowCount(), 0);

    // New Policy: the Legal policy, built in the dialogs and saved into the directory.
    when_modal<PolicyDialog>([&expected](PolicyDialog* dialog) {
      fill_legal_policy(dialog, expected);
      press_ok(dialog);
    });
    window.new_policy();
    const QString name = QString::fromStdString(expected.name);
    QTRY_VERIFY_WITH_TIMEOUT(row_of(window, name) >= 0 && !window.busy(), kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));

    // Read back with directory/store, independently of the editor.
    auto listed = store::list_policies(*checker_, kDomain);
    QVERIFY2(listed, listed ? "" : listed.error().to_string().c_str());
    QCOMPARE(listed->size(), std::size_t{1});
    const std::string policy_dn = listed->front().dn;
    auto stored = store::read_policy(*checker_, policy_dn);
    QVERIFY2(stored, stored ? "" : stored.error().to_string().c_str());
    auto actual = stored->policy;
    align_ids(actual, expected);
    QCOMPARE(QString::fromStdString(model::policy_to_json(actual)), QString::fromStdString(model::policy_to_json(expected)));

    // Assign it to the "Legal IPsec" GPO.
    window.view()->selectRow(row_of(window, name));
    when_modal<GpoDialog>([](GpoDialog* dialog) {
      QVERIFY(dialog->existing_button()->isChecked());
      const int index = index_of_dn(dialog->gpo_combo(), kLegalGpo);
      QVERIFY(index >= 0);
      dialog->gpo_combo()->setCurrentIndex(index);
      press_ok(dialog);
    });
    window.assign_selected();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && window.policies()->items().at(0).assignment.contains("Legal IPsec"), kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    QVERIFY2(window.policies()->items().at(0).assignment.contains("linked to OU=Legal,DC=example,DC=test", Qt::CaseInsensitive),
             qPrintable(window.policies()->items().at(0).assignment));
    auto assignments = store::find_assignments(*checker_, kDomain, policy_dn);
    QVERIFY(assignments);
    QCOMPARE(assignments->size(), std::size_t{1});
    QCOMPARE(gpo::normalize_dn(assignments->front().gpo_dn), gpo::normalize_dn(kLegalGpo));
    QCOMPARE(assignments->front().gpo_display_name, std::string("Legal IPsec"));

    // Link the GPO to OU=Sales, then unlink it again.
    when_modal<GpoDialog>([](GpoDialog* dialog) {
      dialog->gpo_combo()->setCurrentIndex(index_of_dn(dialog->gpo_combo(), kLegalGpo));
      const int sales = dialog->container_combo()->findText(kSales, Qt::MatchFixedString);  // DNs compare case-insensitively
      QVERIFY(sales >= 0);  // listed from the directory
      dialog->container_combo()->setCurrentIndex(sales);
      press_ok(dialog);
    });
    window.link_gpo();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && window.policies()->items().at(0).assignment.contains(kSales, Qt::CaseInsensitive), kWaitMs);
    QCOMPARE(gplink_of(kSales), QStringList{gpo::normalize_dn(kLegalGpo).c_str()});

    save_screenshot(&window, "main_window_directory");

    when_modal<GpoDialog>([](GpoDialog* dialog) {
      const int index = dialog->link_combo()->findText("Legal IPsec  →  " + QString(kSales), Qt::MatchFixedString);
      QVERIFY(index >= 0);
      dialog->link_combo()->setCurrentIndex(index);
      press_ok(dialog);
    });
    window.unlink_gpo();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && !window.policies()->items().at(0).assignment.contains(kSales, Qt::CaseInsensitive), kWaitMs);
    QVERIFY(gplink_of(kSales).isEmpty());
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));

    // Duplicate and delete work on the directory too; the assigned original cannot be deleted.
    window.duplicate_selected();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && row_of(window, "Copy of " + name) >= 0, kWaitMs);
    window.view()->selectRow(row_of(window, "Copy of " + name));
    when_modal<QMessageBox>([](QMessageBox* box) { box->button(QMessageBox::Yes)->click(); });
    window.delete_selected();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && row_of(window, "Copy of " + name) < 0, kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    auto after = store::list_policies(*checker_, kDomain);
    QVERIFY(after);
    QCOMPARE(after->size(), std::size_t{1});
  }

 private:
  void connect_through_dialog(MainWindow& window, const QString& password) {
    when_modal<ConnectDialog>([this, password](ConnectDialog* dialog) {
      QTest::keyClicks(dialog->uris_edit(), QString::fromStdString(slapd_->ldap_uri()));
      QTest::keyClicks(dialog->domain_edit(), kDomain);
      QVERIFY(dialog->simple_button()->isChecked());
      QTest::keyClicks(dialog->bind_dn_edit(), QString::fromStdString(slapd_->options().root_dn));
      QTest::keyClicks(dialog->password_edit(), password);
      press_ok(dialog);
    });
    window.findChild<QAction*>("connect_directory")->trigger();
  }

  QStringList gplink_of(const char* container) {
    auto entries = checker_->search({container, ldap::Scope::kBase, "(objectClass=*)", {"gPLink"}});
    if (!entries || entries->empty()) return {"<unreadable>"};
    const auto value = entries->front().first("gPLink");
    if (!value) return {};
    auto links = gpo::parse_gplink(*value, container);
    if (!links) return {"<bad gPLink>"};
    QStringList dns;
    for (const auto& link : *links) dns.append(QString::fromStdString(gpo::normalize_dn(link.gpo_dn)));
    return dns;
  }

  QTemporaryDir ldif_dir_;
  QTemporaryDir folder_;
  std::unique_ptr<test::SlapdInstance> slapd_;
  std::unique_ptr<ldap::Session> checker_;
};

QTEST_MAIN(DirectoryTest)
#include "directory_test.moc"
