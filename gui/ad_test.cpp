// The editor against Active Directory: one Samba AD DC for the binary (tests/harness
// shared_samba_ad; the process runs in the DC's network, entered before Qt starts threads), the
// administrator's own Kerberos ticket from kinit in a private credential cache, as an admin works.
//
// - Connect with "Kerberos with my ticket" (the dialog names the ticket's principal);
// - list Windows' default policies, edit one in the policy dialog and check that the directory
//   changed only what the edit changed, byte for byte (tests/directory/ipsec_snapshot.h);
// - import, duplicate and delete a policy; assign it to a new GPO (its GPT.INI written over SMB
//   with the ticket), link, enforce, block inheritance, remove the assignment, unlink; GPT.INI's
//   Version follows versionNumber;
// - a password bind reaches SYSVOL only through a SysVol folder, and says so otherwise;
// - Policy Results for a computer: security filtering, the site from its DNS name's subnet, the
//   same GPO list as wardd's directory source computes for it; "what if" in another OU and site.
#include <cstdlib>
#include <fstream>

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QRadioButton>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>

#include "agent/daemon/directory_source.h"
#include "directory/gpo/dn.h"
#include "directory/gpo/gplink.h"
#include "directory/store/gpo_admin.h"
#include "directory/store/ip_security_access.h"
#include "directory/store/policy_store.h"
#include "gui/connect_dialog.h"
#include "gui/gpo_dialog.h"
#include "gui/json_folder_store.h"
#include "gui/ldap_policy_store.h"
#include "gui/main_window.h"
#include "gui/policy_dialog.h"
#include "gui/policy_list_model.h"
#include "gui/policy_results_window.h"
#include "gui/rules_model.h"
#include "gui/test_support.h"
#include "tests/directory/ipsec_snapshot.h"
#include "tests/harness/samba_ad_instance.h"

using namespace ward;
using namespace ward::gui;
using namespace ward::gui::testing;

namespace {

constexpr int kWaitMs = 60000;
constexpr const char* kSecureServer = "Secure Server (Require Security)";
constexpr const char* kSecureServerDn = "ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}";

test::SambaAdInstance* g_dc = nullptr;  // set by main() before Qt starts
QString g_ccache;                       // the administrator's credential cache (kinit)

QString source_dir() { return qEnvironmentVariable("WARD_SOURCE_DIR", "."); }

int row_of(const MainWindow& window, const QString& name) {
  const auto& items = window.policies()->items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int index_of_dn(const QComboBox* combo, const QString& dn, int role = Qt::UserRole) {
  for (int i = 0; i < combo->count(); ++i) {
    if (gpo::normalize_dn(combo->itemData(i, role).toString().toStdString()) == gpo::normalize_dn(dn.toStdString())) return i;
  }
  return -1;
}

}  // namespace

class AdTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(g_dc != nullptr);
    auto keytab = g_dc->admin_keytab();
    QVERIFY2(keytab, keytab ? "" : keytab.error().to_string().c_str());
    keytab_ = *keytab;
    ldap::SessionOptions options;
    options.uris = {g_dc->ldap_uri()};
    options.bind = ldap::GssapiBind{keytab_.string(), g_dc->admin_principal()};
    auto session = ldap::Session::connect(options);
    QVERIFY2(session, session ? "" : session.error().to_string().c_str());
    checker_ = std::move(session).value();
    domain_ = g_dc->domain_dn();
  }

  void init() { modal_misses() = 0; }
  void cleanup() { QCOMPARE(modal_misses(), 0); }

  // First, while Windows' default objects are as Samba provisioned them.
  void edits_a_windows_default_policy_byte_exact() {
    MainWindow window(std::make_unique<JsonFolderStore>(folder_.path()));
    window.show();
    connect_with_my_ticket(window);
    QTRY_VERIFY_WITH_TIMEOUT(row_of(window, kSecureServer) >= 0 && !window.busy(), kWaitMs);
    for (const char* name : {"Client (Respond Only)", "Server (Request Security)"}) QVERIFY(row_of(window, name) >= 0);
    QCOMPARE(window.policies()->items().at(static_cast<std::size_t>(row_of(window, kSecureServer))).rule_count, 3);
    save_screenshot(&window, "main_window_active_directory");

    std::string error;
    const auto original = test::try_snapshot(*checker_, domain_, &error);
    QVERIFY2(original, error.c_str());
    QCOMPARE(original->size(), std::size_t{22});
    const auto policy = QString::fromStdString(adblob::normalized_dn(test::ip_security_dn(kSecureServerDn, domain_)));

    // 1. The description, in the General tab: one attribute of one object changes.
    window.view()->selectRow(row_of(window, kSecureServer));
    when_modal<PolicyDialog>([](PolicyDialog* dialog) {
      dialog->description_edit()->setPlainText("Edited in ward-editor");
      press_ok(dialog);
    });
    window.edit_selected();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && window.policies()->items().at(static_cast<std::size_t>(row_of(window, kSecureServer)))
                                                   .description == "Edited in ward-editor",
                             kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    auto after_description = test::try_snapshot(*checker_, domain_);
    QVERIFY(after_description);
    QCOMPARE(test::differences(*original, *after_description), (std::set<std::string>{policy.toStdString() + "|description"}));

    // 2. A rule made inactive, in the Rules tab: that rule's ipsecData, and in it the IsActive field.
    window.view()->selectRow(row_of(window, kSecureServer));
    std::string rule_dn;
    when_modal<PolicyDialog>([&rule_dn](PolicyDialog* dialog) {
      auto* rules = dialog->rules_model();
      int row = -1;
      for (int i = 0; i < rules->rowCount(); ++i) {
        if (dialog->policy().rules[static_cast<std::size_t>(i)].active && !dialog->policy().rules[static_cast<std::size_t>(i)].default_response) row = i;
      }
      QVERIFY(row >= 0);
      rule_dn = "ipsecNFA" + dialog->policy().rules[static_cast<std::size_t>(row)].id.to_string();
      rules->setData(rules->index(row, RulesModel::kActive), Qt::Unchecked, Qt::CheckStateRole);
      press_ok(dialog);
    });
    window.edit_selected();
    QTRY_VERIFY_WITH_TIMEOUT(!rule_dn.empty() && !window.busy(), kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    auto after_rule = test::try_snapshot(*checker_, domain_);
    QVERIFY(after_rule);
    const std::string nfa = adblob::normalized_dn(test::ip_security_dn(rule_dn, domain_));
    QCOMPARE(test::differences(*after_description, *after_rule), (std::set<std::string>{nfa + "|ipsecdata"}));
    const auto old_blob = test::blob(*after_description, nfa);
    const auto new_blob = test::blob(*after_rule, nfa);
    QCOMPARE(old_blob.size(), new_blob.size());
    int changed = 0;
    for (std::size_t at = 0; at < old_blob.size(); ++at) changed += old_blob[at] != new_blob[at] ? 1 : 0;
    QCOMPARE(changed, 1);  // IsActive 1 -> 0, one byte of the little-endian field
  }

  void connects_with_the_admins_ticket_and_administers_gpos() {
    MainWindow window(std::make_unique<JsonFolderStore>(folder_.path()));
    window.show();
    connect_with_my_ticket(window);
    QTRY_VERIFY_WITH_TIMEOUT(window.store()->group_policy() != nullptr && !window.busy(), kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));

    // Import the Legal policy (a new policy on AD: MS-GPIPSEC's write order), then duplicate and
    // delete the copy.
    window.import_file(source_dir() + "/schemas/examples/legal-policy.json");
    const QString legal = "Communication for the Legal Department";
    QTRY_VERIFY_WITH_TIMEOUT(row_of(window, legal) >= 0 && !window.busy(), kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    window.view()->selectRow(row_of(window, legal));
    window.duplicate_selected();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && row_of(window, "Copy of " + legal) >= 0, kWaitMs);
    window.view()->selectRow(row_of(window, "Copy of " + legal));
    when_modal<QMessageBox>([](QMessageBox* box) { box->button(QMessageBox::Yes)->click(); });
    window.delete_selected();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && row_of(window, "Copy of " + legal) < 0, kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));

    // Assign it to a new GPO: both halves, GPT.INI over SMB with the administrator's ticket.
    const QString ou = "OU=Editor GPOs," + QString::fromStdString(domain_);
    QVERIFY(g_dc->create_ou(ou.toStdString()));
    window.view()->selectRow(row_of(window, legal));
    when_modal<GpoDialog>([](GpoDialog* dialog) {
      dialog->new_button()->setChecked(true);
      QTest::keyClicks(dialog->new_name_edit(), "Editor Legal IPsec");
      press_ok(dialog);
    });
    window.assign_selected();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && window.policies()->items().at(static_cast<std::size_t>(row_of(window, legal)))
                                                   .assignment.contains("Editor Legal IPsec"),
                             kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    const std::string gpo = gpo_named("Editor Legal IPsec");
    QVERIFY(!gpo.empty());
    QCOMPARE(gpt_ini(gpo), std::string("[General]\r\nVersion=1\r\n"));
    QCOMPARE(attribute(gpo, "versionNumber"), std::string("1"));
    auto assigned = store::find_assignments(*checker_, domain_, store::policy_dn(load_example("legal-policy.json"), domain_));
    QVERIFY(assigned);
    QCOMPARE(assigned->size(), std::size_t{1});

    // Link to the OU, enforce the link, block inheritance on the OU.
    when_modal<GpoDialog>([ou](GpoDialog* dialog) {
      dialog->gpo_combo()->setCurrentIndex(dialog->gpo_combo()->findText("Editor Legal IPsec", Qt::MatchStartsWith));
      dialog->container_combo()->setCurrentText(ou);
      press_ok(dialog);
    });
    window.link_gpo();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && attribute(ou.toStdString(), "gPLink") == "[LDAP://" + gpo + ";0]", kWaitMs);
    when_modal<GpoDialog>([ou](GpoDialog* dialog) {
      const int row = dialog->link_combo()->findText("Editor Legal IPsec  →  " + ou, Qt::MatchStartsWith);
      QVERIFY(row >= 0);
      dialog->link_combo()->setCurrentIndex(row);
      QVERIFY(!dialog->enforced_check()->isChecked());
      QVERIFY(dialog->link_enabled_check()->isChecked());
      dialog->enforced_check()->setChecked(true);
      press_ok(dialog);
    });
    window.set_link_options();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && attribute(ou.toStdString(), "gPLink") == "[LDAP://" + gpo + ";2]", kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    when_modal<GpoDialog>([ou](GpoDialog* dialog) {
      const int row = index_of_dn(dialog->container_combo(), ou);
      QVERIFY(row >= 0);
      dialog->container_combo()->setCurrentIndex(row);
      QVERIFY(!dialog->block_check()->isChecked());
      dialog->block_check()->setChecked(true);
      press_ok(dialog);
    });
    window.block_inheritance();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && attribute(ou.toStdString(), "gPOptions") == "1", kWaitMs);
    QVERIFY2(window.policies()->items().at(static_cast<std::size_t>(row_of(window, legal))).assignment.contains("(enforced)"),
             qPrintable(window.policies()->items().at(static_cast<std::size_t>(row_of(window, legal))).assignment));
    save_screenshot(&window, "main_window_active_directory_gpo");

    // Remove the assignment: the IPSEC object goes, both halves' versions go up.
    when_modal<GpoDialog>([](GpoDialog* dialog) {
      const int row = dialog->gpo_combo()->findText("Editor Legal IPsec", Qt::MatchStartsWith);
      QVERIFY(row >= 0);
      dialog->gpo_combo()->setCurrentIndex(row);
      press_ok(dialog);
    });
    window.unassign_gpo();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && window.policies()->items().at(static_cast<std::size_t>(row_of(window, legal)))
                                                   .assignment.isEmpty(),
                             kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
    QCOMPARE(gpt_ini(gpo), std::string("[General]\r\nVersion=2\r\n"));
    QCOMPARE(attribute(gpo, "versionNumber"), std::string("2"));
    QCOMPARE(attribute(store::assignment_dn(gpo), "cn"), std::string());

    // Unblock and unlink.
    when_modal<GpoDialog>([ou](GpoDialog* dialog) {
      dialog->container_combo()->setCurrentIndex(index_of_dn(dialog->container_combo(), ou));
      QVERIFY(dialog->block_check()->isChecked());
      dialog->block_check()->setChecked(false);
      press_ok(dialog);
    });
    window.block_inheritance();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && attribute(ou.toStdString(), "gPOptions") == "0", kWaitMs);
    when_modal<GpoDialog>([ou](GpoDialog* dialog) {
      const int row = dialog->link_combo()->findText("Editor Legal IPsec  →  " + ou, Qt::MatchStartsWith);
      QVERIFY(row >= 0);
      dialog->link_combo()->setCurrentIndex(row);
      press_ok(dialog);
    });
    window.unlink_gpo();
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy() && attribute(ou.toStdString(), "gPLink").find(gpo) == std::string::npos, kWaitMs);
    QVERIFY2(window.last_error().isEmpty(), qPrintable(window.last_error()));
  }

  // A password bind cannot use Kerberos for SMB: the GPO's files need the SysVol folder.
  void a_password_bind_reaches_sysvol_only_through_a_folder() {
    for (const bool with_folder : {false, true}) {
      MainWindow window(std::make_unique<JsonFolderStore>(folder_.path()));
      window.show();
      QTRY_VERIFY_WITH_TIMEOUT(!window.busy(), kWaitMs);
      ldap::SessionOptions options;
      options.uris = {g_dc->ldaps_uri()};
      options.ca_file = g_dc->ca_certificate().string();
      options.bind = ldap::SimpleBind{g_dc->admin_dn(), model::Secret(g_dc->admin_password())};
      window.connect_with(std::move(options), QString::fromStdString(domain_),
                          with_folder ? QString::fromStdString(g_dc->sysvol_dir().string()) : QString());
      QTRY_VERIFY_WITH_TIMEOUT(window.store()->group_policy() != nullptr && !window.busy(), kWaitMs);
      const QString name = with_folder ? "Editor Folder GPO" : "Editor No Sysvol GPO";
      auto created = window.store()->group_policy()->create_gpo(name);
      if (with_folder) {
        QVERIFY2(created, created ? "" : qPrintable(created.error().to_text()));
        QCOMPARE(gpt_ini(created->toStdString()), std::string("[General]\r\nVersion=0\r\n"));
      } else {
        QVERIFY(!created);
        QVERIFY2(created.error().to_text().contains("SysVol folder"), qPrintable(created.error().to_text()));
        QCOMPARE(gpo_named(name), std::string());  // nothing written
      }
    }
  }

  // Policy Results for a computer of an OU whose GPO security filtering leaves out, in a site
  // found from its DNS name's subnet: the site's GPO wins; wardd's directory source, run as that
  // computer, lists the same GPOs with the same verdicts.
  void policy_results_match_the_agent() {
    const std::string ou = "OU=Results," + domain_;
    QVERIFY(g_dc->create_ou(ou));
    auto computer = g_dc->create_computer("results-pc", "Results-Pc-Computer-Pa55", ou);
    QVERIFY2(computer, computer ? "" : computer.error().to_string().c_str());
    // Its DNS name, as adcli join sets it, resolving to 10.77.0.5 (the hosts file the process uses).
    const std::string dns_name = "results-pc." + g_dc->dns_domain();
    QVERIFY(checker_->modify(*computer, {{ldap::Modification::Op::kReplace, "dNSHostName", {dns_name}}}));
    std::ofstream(g_dc->hosts_file(), std::ios::app) << "10.77.0.5 " << dns_name << "\n";
    auto grant = store::grant_ip_security_read(*checker_, domain_, store::ReadGrantee::kAuthenticatedUsers);
    QVERIFY2(grant, grant ? "" : grant.error().to_string().c_str());
    auto local = store::local_sysvol(g_dc->sysvol_dir());
    const std::string secure_server = test::ip_security_dn(kSecureServerDn, domain_);
    const std::string request_security = test::ip_security_dn("ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}", domain_);
    auto ou_gpo = store::create_gpo(*checker_, domain_, "Results OU IPsec", local.get());
    QVERIFY(ou_gpo);
    QVERIFY(store::assign_policy(*checker_, *ou_gpo, secure_server, local.get()));
    QVERIFY(store::link_gpo(*checker_, ou, *ou_gpo, {}));
    QVERIFY(g_dc->samba_tool({"sites", "create", "Results-Branch"}));
    QVERIFY(g_dc->samba_tool({"sites", "subnet", "create", "10.77.0.0/16", "Results-Branch"}));
    const std::string site = "CN=Results-Branch,CN=Sites,CN=Configuration," + domain_;
    auto site_gpo = store::create_gpo(*checker_, domain_, "Results Site IPsec", local.get());
    QVERIFY(site_gpo);
    QVERIFY(store::assign_policy(*checker_, *site_gpo, request_security, local.get()));
    QVERIFY(store::link_gpo(*checker_, site, *site_gpo, {}));
    QVERIFY(g_dc->samba_tool({"group", "add", "Results Exempt"}));
    QVERIFY(g_dc->samba_tool({"group", "addmembers", "Results Exempt", "results-pc$"}));
    auto shown = g_dc->samba_tool({"group", "show", "Results Exempt", "--attributes=objectSid"});
    QVERIFY(shown);
    const auto at = shown->find("S-1-5-21-");
    QVERIFY(at != std::string::npos);
    const std::string exempt = shown->substr(at, shown->find_first_of("\r\n", at) - at);
    QVERIFY(g_dc->samba_tool({"dsacl", "set", "--objectdn=" + *ou_gpo, "-H", g_dc->ldap_uri(), "-U",
                              "Administrator%" + g_dc->admin_password(),
                              "--sddl=(OD;;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;" + exempt + ")"}));

    MainWindow window(std::make_unique<JsonFolderStore>(folder_.path()));
    window.show();
    connect_with_my_ticket(window);
    QTRY_VERIFY_WITH_TIMEOUT(window.store()->group_policy() != nullptr && !window.busy(), kWaitMs);
    window.open_policy_results();
    auto* results = window.policy_results();
    QVERIFY(results);
    QSignalSpy loaded(results, &PolicyResultsWindow::loaded);
    QSignalSpy answered(results, &PolicyResultsWindow::answered);
    QTRY_VERIFY_WITH_TIMEOUT(loaded.count() == 1, kWaitMs);
    QVERIFY2(results->last_error().isEmpty(), qPrintable(results->last_error()));
    QTest::keyClicks(results->search_edit(), "results-pc");
    QVERIFY(results->select_computer("results-pc"));
    QTest::mouseClick(results->show_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 1, kWaitMs);
    QVERIFY2(results->last_error().isEmpty(), qPrintable(results->last_error()));
    QVERIFY(results->results());
    const auto& editor = results->results()->results;
    QCOMPARE(editor.directory, std::string("Active Directory"));
    QVERIFY(editor.security_filtering);
    QVERIFY2(gpo::normalize_dn(editor.site.dn) == gpo::normalize_dn(site), (editor.site.dn + " from " + editor.site.from).c_str());
    QCOMPARE(editor.site.from, "subnet 10.77.0.0/16 (address of DNS name results-pc." + g_dc->dns_domain() + ")");
    QVERIFY(editor.winner);
    QCOMPARE(editor.winner->gpo_display_name, std::string("Results Site IPsec"));
    QVERIFY2(results->winner_label()->text().contains("Server (Request Security)"), qPrintable(results->winner_label()->text()));
    QString why;
    for (int row = 0; row < results->gpos_view()->model()->rowCount(); ++row) {
      const auto* model = results->gpos_view()->model();
      if (model->index(row, 1).data().toString() == "Results OU IPsec") why = model->index(row, 3).data().toString();
    }
    QVERIFY2(why.contains("security filtering denies Apply Group Policy to WARD\\results-pc$ via group WARD\\Results Exempt"),
             qPrintable(why));
    results->resize(1500, 760);
    save_screenshot(results, "policy_results_active_directory");

    // wardd's directory source, bound as the computer with its keys, at the same address.
    const auto keytab = g_dc->dir() / "results-pc.keytab";
    QVERIFY(g_dc->export_keytab("results-pc$", keytab));
    std::ostringstream log_text;
    agent::daemon::Logger log(log_text);
    agent::daemon::DirectorySourceSettings settings;
    settings.session.uris = {g_dc->ldap_uri()};
    settings.session.bind = ldap::GssapiBind{keytab.string(), "results-pc$@" + g_dc->realm()};
    settings.domain_dn = domain_;
    settings.computer_account = "RESULTS-PC$";
    settings.host_addresses = [] { return std::vector<IpAddress>{*IpAddress::parse("10.77.0.5")}; };
    agent::daemon::DirectorySource source(settings, log);
    auto fetched = source.fetch();
    QVERIFY2(fetched, fetched ? "" : fetched.error().message.c_str());
    QCOMPARE(fetched->source.gpo_name, editor.winner->gpo_display_name);
    QCOMPARE(fetched->report.gpos.size(), editor.gpos.size());
    for (std::size_t i = 0; i < editor.gpos.size(); ++i) {
      QCOMPARE(fetched->report.gpos[i].name, editor.gpos[i].name);
      QCOMPARE(fetched->report.gpos[i].applied, editor.gpos[i].applied);
      QCOMPARE(fetched->report.gpos[i].note, editor.gpos[i].note);
    }
    QCOMPARE(fetched->report.account, editor.account);
    QCOMPARE(fetched->report.site_dn, editor.site.dn);

    // What if it sat at the domain's top, with an address in no site: the OU's GPO and the
    // site's are out of scope; the domain's Default Domain Policy assigns no IPsec policy.
    results->model_check()->setChecked(true);
    const int top = results->placement_combo()->findText(QString::fromStdString(domain_), Qt::MatchFixedString);
    QVERIFY(top >= 0);
    results->placement_combo()->setCurrentIndex(top);
    results->site_combo()->setCurrentIndex(0);
    results->address_edit()->setText("192.0.2.1");
    QTest::mouseClick(results->show_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 2, kWaitMs);
    QVERIFY2(results->last_error().isEmpty(), qPrintable(results->last_error()));
    const auto& modelled = results->results()->results;
    QVERIFY(modelled.modelled);
    QVERIFY(!modelled.winner);
    QCOMPARE(modelled.site.dn, std::string());
    QVERIFY2(results->winner_label()->text().startsWith("No IPsec policy"), qPrintable(results->winner_label()->text()));
    results->address_edit()->clear();
    results->site_combo()->setCurrentIndex(results->site_combo()->findText(QString::fromStdString(site), Qt::MatchFixedString));
    QTest::mouseClick(results->show_button(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 3, kWaitMs);
    QVERIFY(results->results()->results.winner);
    QCOMPARE(results->results()->results.winner->gpo_display_name, std::string("Results Site IPsec"));
    QCOMPARE(results->results()->results.site.from, std::string("modelled"));
  }

 private:
  // File > Connect to Directory, "Kerberos with my ticket": no keytab, no principal.
  void connect_with_my_ticket(MainWindow& window) {
    QTRY_VERIFY_WITH_TIMEOUT(!window.busy(), kWaitMs);  // the folder's first listing
    QString ticket;
    when_modal<ConnectDialog>([&ticket](ConnectDialog* dialog) {
      QTest::keyClicks(dialog->uris_edit(), QString::fromStdString(g_dc->ldap_uri()));
      QTest::keyClicks(dialog->domain_edit(), QString::fromStdString(g_dc->domain_dn()));
      dialog->ticket_button()->setChecked(true);
      ticket = dialog->ticket_label()->text();
      press_ok(dialog);
    });
    window.findChild<QAction*>("connect_directory")->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(!ticket.isEmpty(), kWaitMs);
    QCOMPARE(ticket, "Your ticket: " + QString::fromStdString(g_dc->admin_principal()));
  }

  std::string attribute(const std::string& dn, const char* name) {
    auto entries = checker_->search({dn, ldap::Scope::kBase, "(objectClass=*)", {name}, 0});
    if (!entries || entries->empty()) return {};
    return entries->front().first(name).value_or("");
  }

  std::string gpo_named(const QString& name) {
    auto found = checker_->search({"CN=Policies,CN=System," + domain_, ldap::Scope::kOneLevel,
                                   "(displayName=" + name.toStdString() + ")", {"cn"}, 0});
    return found && found->size() == 1 ? found->front().dn : std::string();
  }

  // The GPT.INI of a GPO on the DC's SysVol share (what SMB wrote).
  std::string gpt_ini(const std::string& gpo_dn) {
    const auto guid = gpo_dn.substr(3, gpo_dn.find(',') - 3);
    return test::read_text(g_dc->sysvol_dir() / g_dc->dns_domain() / "Policies" / guid / "GPT.INI");
  }

  QTemporaryDir folder_;
  std::filesystem::path keytab_;
  std::string domain_;
  std::unique_ptr<ldap::Session> checker_;
};

// The DC is started and its network entered while the process has one thread, before Qt starts
// any; then the administrator's kinit fills a private credential cache (KRB5CCNAME).
int main(int argc, char** argv) {
  auto dc = test::shared_samba_ad();
  if (!dc) {
    std::fprintf(stderr, "no Samba AD DC: %s\n", dc.error().to_string().c_str());
    return 1;
  }
  g_dc = *dc;
  std::fprintf(stderr, "Samba AD DC %s: %s\n", g_dc->dc_fqdn().c_str(), g_dc->timings().describe().c_str());
  auto keytab = g_dc->admin_keytab();
  if (!keytab) {
    std::fprintf(stderr, "no administrator keytab: %s\n", keytab.error().to_string().c_str());
    return 1;
  }
  const std::string ccache = "FILE:" + (g_dc->dir() / "admin.ccache").string();
  ::setenv("KRB5CCNAME", ccache.c_str(), 1);
  const auto kinit = test::run_captured({"/usr/bin/kinit", "-k", "-t", keytab->string(), g_dc->admin_principal()}, g_dc->dir());
  if (kinit.exit_code != 0) {
    std::fprintf(stderr, "kinit failed: %s\n", kinit.describe().c_str());
    return 1;
  }
  QApplication app(argc, argv);
  AdTest test;
  return QTest::qExec(&test, argc, argv);
}

#include "ad_test.moc"
