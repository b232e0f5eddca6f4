// Renders the main window and each editor offscreen with the Legal department policy and saves
// PNGs (WARD_SCREENSHOT_DIR, set by ctest to <build>/gui/screenshots) for a person to look at.
#include <QFileInfo>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include "gui/filter_action_dialog.h"
#include "gui/filter_dialog.h"
#include "gui/filter_list_dialog.h"
#include "gui/json_folder_store.h"
#include "gui/list_editor.h"
#include "gui/main_window.h"
#include "gui/policy_dialog.h"
#include "gui/policy_list_model.h"
#include "gui/rule_dialog.h"
#include "gui/security_method_dialog.h"
#include "gui/test_support.h"
#include "gui/usage.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QPlainTextEdit>

#include "gui/connect_dialog.h"
#include "gui/gpo_dialog.h"

using namespace ward;
using namespace ward::gui;
using namespace ward::gui::testing;

namespace {
void shoot(QWidget* widget, const QString& name) {
  widget->show();
  QVERIFY(QTest::qWaitForWindowExposed(widget));
  const QString path = save_screenshot(widget, name);
  QVERIFY(QFileInfo(path).size() > 0);
  qInfo("screenshot: %s (%dx%d)", qPrintable(path), widget->width(), widget->height());
}
}  // namespace

class ScreenshotsTest : public QObject {
  Q_OBJECT

 private slots:
  void main_window() {
    QTemporaryDir dir;
    JsonFolderStore seed(dir.path());
    auto policy = load_example("legal-policy.json");
    QVERIFY(!seed.save(policy));
    MainWindow window(std::make_unique<JsonFolderStore>(dir.path()));
    QTRY_COMPARE(window.policies()->rowCount(), 1);
    QTRY_VERIFY(!window.busy());
    window.view()->selectRow(0);
    shoot(&window, "main_window");
  }

  void policy_dialog() {
    auto policy = load_example("legal-policy.json");
    policy.rules[1].auth_methods.clear();  // shows one error in the problems panel
    PolicyDialog dialog(policy);
    dialog.tabs()->setCurrentIndex(PolicyDialog::kRulesTab);
    shoot(&dialog, "policy_dialog_rules");
    dialog.tabs()->setCurrentIndex(PolicyDialog::kGeneralTab);
    shoot(&dialog, "policy_dialog_general");
    dialog.tabs()->setCurrentIndex(PolicyDialog::kKeyExchangeTab);
    shoot(&dialog, "policy_dialog_key_exchange");
  }

  void rule_dialog() {
    RuleDialog dialog(load_example("legal-policy.json"), 0);
    shoot(&dialog, "rule_dialog_filter_list");
    dialog.tabs()->setCurrentIndex(RuleDialog::kAuthenticationTab);
    shoot(&dialog, "rule_dialog_authentication");
  }

  void directory_dialogs() {
    ConnectDialog connect;
    connect.uris_edit()->setPlainText("ldap://dc1.example.test\nldap://dc2.example.test");
    connect.domain_edit()->setText("DC=example,DC=test");
    connect.bind_dn_edit()->setText("CN=IPsec Admin,CN=Users,DC=example,DC=test");
    connect.start_tls_check()->setChecked(true);
    shoot(&connect, "connect_dialog");
    std::vector<GpoSummary> gpos{
        {"CN={6D2A0F4E-3B1C-4C8D-9E7F-1A2B3C4D5E02},CN=Policies,CN=System,DC=example,DC=test", "Domain IPsec",
         "Domain isolation", {"DC=example,DC=test"}, {{"DC=example,DC=test", false, true}}},
        {"CN={6D2A0F4E-3B1C-4C8D-9E7F-1A2B3C4D5E01},CN=Policies,CN=System,DC=example,DC=test", "Legal IPsec", {},
         {"OU=Legal,DC=example,DC=test (enforced)"}, {{"OU=Legal,DC=example,DC=test", true, true}}}};
    const std::vector<ContainerSummary> containers{
        {"DC=example,DC=test", ContainerSummary::Kind::kDomain, false},
        {"OU=Legal,DC=example,DC=test", ContainerSummary::Kind::kOrganizationalUnit, false},
        {"OU=Lab,DC=example,DC=test", ContainerSummary::Kind::kOrganizationalUnit, true},
        {"CN=HQ,CN=Sites,CN=Configuration,DC=example,DC=test", ContainerSummary::Kind::kSite, false}};
    GpoDialog assign(GpoDialog::Mode::Assign, gpos, {}, "Communication for the Legal Department");
    shoot(&assign, "gpo_assign_dialog");
    GpoDialog link(GpoDialog::Mode::Link, gpos, containers, {});
    shoot(&link, "gpo_link_dialog");
    GpoDialog unassign(GpoDialog::Mode::Unassign, gpos, {}, {});
    shoot(&unassign, "gpo_unassign_dialog");
    GpoDialog options(GpoDialog::Mode::LinkOptions, gpos, {}, {});
    options.link_combo()->setCurrentIndex(1);
    QVERIFY(options.enforced_check()->isChecked());  // the Legal link's state, shown
    shoot(&options, "gpo_link_options_dialog");
    GpoDialog block(GpoDialog::Mode::BlockInheritance, gpos, containers, {});
    block.container_combo()->setCurrentIndex(2);
    QVERIFY(block.block_check()->isChecked());
    QCOMPARE(block.container_combo()->count(), 3);  // sites do not block inheritance
    shoot(&block, "gpo_block_inheritance_dialog");
  }

  void filter_editors() {
    const auto policy = load_example("legal-policy.json");
    FilterListDialog list(policy.filter_lists[0], rules_using_filter_list(policy, policy.filter_lists[0].id));
    shoot(&list, "filter_list_dialog");
    FilterDialog filter(policy.filter_lists[0].filters[0]);
    shoot(&filter, "filter_dialog");
    FilterActionDialog action(policy.filter_actions[0], rules_using_filter_action(policy, policy.filter_actions[0].id));
    shoot(&action, "filter_action_dialog");
    SecurityMethodDialog method(policy.filter_actions[1].security_methods[1]);
    shoot(&method, "security_method_dialog");
  }
};

QTEST_MAIN(ScreenshotsTest)
#include "screenshots_test.moc"
