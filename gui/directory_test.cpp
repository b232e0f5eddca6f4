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
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QRadioButton>
#include <QSignalSpy>
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
#include "gui/policy_results_window.h"
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
constexpr const char* kLab = "OU=Lab,DC=example,DC=test";
constexpr const char* kDomainGpo = "CN={6D2A0F4E-3B1C-4C8D-9E7F-1A2B3C4D5E02},CN=Policies,CN=System,DC=example,DC=test";

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

  // After the test above (the Legal policy assigned to "Legal IPsec"): Policy Results for
  // legal-pc1 and what if it sat in OU=Lab (which blocks inheritance); the domain's link
  // enforced, OU=Sales made to block inheritance, the assignment removed - each through its dialog
  // and checked in the directory and in the results.
  void policy_results_link_options_and_unassign() {
    MainWindow window(std::make_unique<JsonFolderStore>(folder_.path()));
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy(), kWaitMs);
    connect_through_dialog(window, QString::fromStdString(slapd_->options().root_password));
    QTRY_VERIFY_WITH_TIMEOUT(window.store()->group_policy() != nullptr && !window.busy(), kWaitMs);

    window.open_policy_results();
    auto* results = window.policy_results();
    QVERIFY(results);
    QSignalSpy loaded(results, &PolicyResultsWindow::loaded);
    QSignalSpy answered(results, &PolicyResultsWindow::answered);
    QTRY_VERIFY_WITH_TIMEOUT(loaded.count() == 1, kWaitMs);
    QVERIFY2(results->last_error().isEmpty(), qPrintable(results->last_error()));
    QVERIFY(!results->select_computer("nobody-pc"));
    QTest::keyClicks(results->search_edit(), "LEGAL-PC1");
    QVERIFY(results->select_computer("legal-pc1.example.test"));  // by DNS name too
    QTest::mouseClick(results->show_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 1, kWaitMs);
    QVERIFY2(results->last_error().isEmpty(), qPrintable(results->last_error()));
    const auto* found = &results->results()->results;
    QCOMPARE(found->directory, std::string("OpenLDAP"));
    QVERIFY(!found->security_filtering);
    QCOMPARE(found->site.from, std::string("msDS-SiteName"));
    QVERIFY(found->winner);
    QCOMPARE(found->winner->gpo_display_name, std::string("Legal IPsec"));
    QVERIFY2(results->winner_label()->text().contains("Communication for the Legal Department"),
             qPrintable(results->winner_label()->text()));
    QCOMPARE(results->soms_view()->model()->rowCount(), 3);  // site HQ, the domain, OU=Legal
    results->resize(1400, 640);
    save_screenshot(results, "policy_results");

    // What if legal-pc1 were in OU=Lab: Lab blocks inheritance, nothing there assigns IPsec.
    results->model_check()->setChecked(true);
    results->placement_combo()->setCurrentIndex(results->placement_combo()->findText(kLab, Qt::MatchFixedString));
    QTest::mouseClick(results->show_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 2, kWaitMs);
    found = &results->results()->results;
    QVERIFY(found->modelled);
    QVERIFY(!found->winner);
    QCOMPARE(note_of(*found, "Domain IPsec"), "blocked by inheritance: " + lab_dn(*found) + " blocks inheritance");
    save_screenshot(results, "policy_results_modelled");

    // Enforce the domain's link to "Domain IPsec": it applies in OU=Lab now.
    when_modal<GpoDialog>([](GpoDialog* dialog) {
      const int row = dialog->link_combo()->findText("Domain IPsec  →  DC=example,DC=test", Qt::MatchStartsWith);
      QVERIFY(row >= 0);
      dialog->link_combo()->setCurrentIndex(row);
      dialog->enforced_check()->setChecked(true);
      save_screenshot(dialog, "gpo_link_options_dialog_directory");
      press_ok(dialog);
    });
    window.set_link_options();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy(), kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    QCOMPARE(attribute(kDomain, "gPLink"), "[LDAP://" + std::string(kDomainGpo) + ";2]");
    QTest::mouseClick(results->show_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 3, kWaitMs);
    QCOMPARE(note_of(results->results()->results, "Domain IPsec"), std::string("assigns no IPsec policy"));

    // Block inheritance on OU=Sales (on OpenLDAP the OU gets Ward's auxiliary class for it).
    when_modal<GpoDialog>([](GpoDialog* dialog) {
      const int row = index_of_dn(dialog->container_combo(), kSales);
      QVERIFY(row >= 0);
      dialog->container_combo()->setCurrentIndex(row);
      QVERIFY(!dialog->block_check()->isChecked());
      dialog->block_check()->setChecked(true);
      press_ok(dialog);
    });
    window.block_inheritance();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && attribute(kSales, "gPOptions") == "1", kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));

    // Remove Legal IPsec's assignment: legal-pc1 gets no IPsec policy.
    when_modal<GpoDialog>([](GpoDialog* dialog) {
      QCOMPARE(dialog->gpo_combo()->count(), 1);  // only GPOs that assign a policy are offered
      QVERIFY(dialog->gpo_combo()->currentText().startsWith("Legal IPsec"));
      press_ok(dialog);
    });
    window.unassign_gpo();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy(), kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    QVERIFY(window.policies()->items().at(0).assignment.isEmpty());
    results->model_check()->setChecked(false);
    QTest::mouseClick(results->show_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 4, kWaitMs);
    QVERIFY(!results->results()->results.winner);
    QCOMPARE(note_of(results->results()->results, "Legal IPsec"), std::string("assigns no IPsec policy"));
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

  static std::string note_of(const gpo::PolicyResults& results, const std::string& gpo_name) {
    for (const auto& gpo : results.gpos) {
      if (gpo.name == gpo_name) return gpo.note;
    }
    return "<no such GPO>";
  }

  // OU=Lab as the directory spells it in the results.
  static std::string lab_dn(const gpo::PolicyResults& results) {
    for (const auto& som : results.soms) {
      if (gpo::normalize_dn(som.dn) == gpo::normalize_dn(kLab)) return som.dn;
    }
    return "<OU=Lab not in the chain>";
  }

  std::string attribute(const char* dn, const char* name) {
    auto entries = checker_->search({dn, ldap::Scope::kBase, "(objectClass=*)", {name}});
    if (!entries || entries->empty()) return "<unreadable>";
    return entries->front().first(name).value_or("");
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
