// The dialogs, driven through their widgets as a person would: the Legal department policy built
// from scratch, validation blocking OK, the unsaved-changes prompt, undo, shared-object usage.
#include <QCheckBox>
#include <QComboBox>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTest>
#include <QUndoStack>

#include "directory/model/policy_json.h"
#include "gui/address_editor.h"
#include "gui/auth_method_dialog.h"
#include "gui/enum_combo.h"
#include "gui/filter_action_dialog.h"
#include "gui/filter_dialog.h"
#include "gui/filter_list_dialog.h"
#include "gui/key_exchange_method_dialog.h"
#include "gui/list_editor.h"
#include "gui/policy_dialog.h"
#include "gui/policy_ids.h"
#include "gui/port_editor.h"
#include "gui/problems_panel.h"
#include "gui/rule_dialog.h"
#include "gui/rules_model.h"
#include "gui/security_method_dialog.h"
#include "gui/shared_object_picker.h"
#include "gui/legal_dialog_steps.h"
#include "gui/test_support.h"

using namespace ward;
using namespace ward::gui;
using namespace ward::gui::testing;
using model::AddressKind;
using model::Cipher;
using model::Integrity;

namespace {

void set_address(AddressEditor* editor, AddressKind kind, const QString& value = {}) {
  editor->type_combo()->setCurrentIndex(editor->type_combo()->findData(static_cast<int>(kind)));
  editor->value_edit()->setText(value);
}

int error_count(const ProblemsPanel* panel) {
  return static_cast<int>(std::count_if(panel->problems().begin(), panel->problems().end(),
                                        [](const model::Problem& p) { return p.severity == model::Severity::Error; }));
}

}  // namespace

class DialogsTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { modal_misses() = 0; }
  void cleanup() { QCOMPARE(modal_misses(), 0); }

  void builds_the_legal_policy_from_scratch() {
    const auto expected = load_example("legal-policy.json");
    PolicyDialog dialog(new_policy());
    dialog.show();
    QVERIFY(!dialog.ok_button()->isEnabled());  // a new policy has no name and no rules yet

    fill_legal_policy(&dialog, expected);
    QVERIFY2(dialog.ok_button()->isEnabled(), qPrintable(dialog.problems_panel()->summary()));
    press_ok(&dialog);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));

    auto actual = dialog.policy();
    align_ids(actual, expected);
    QCOMPARE(QString::fromStdString(model::policy_to_json(actual)), QString::fromStdString(model::policy_to_json(expected)));
    QVERIFY(actual == expected);
  }

  void validation_errors_keep_ok_disabled() {
    auto broken = load_example("legal-policy.json");
    broken.filter_actions[1].security_methods[1].esp->integrity = Integrity::None;  // CBC without integrity
    broken.rules[0].auth_methods.clear();
    broken.key_exchange.lifetime_minutes = 1;
    PolicyDialog dialog(broken);
    dialog.show();

    const auto* panel = dialog.problems_panel();
    QCOMPARE(error_count(panel), 3);
    QVERIFY(!dialog.ok_button()->isEnabled());
    const auto has = [&](const std::string& object, const std::string& field) {
      return std::any_of(panel->problems().begin(), panel->problems().end(),
                         [&](const model::Problem& p) { return p.object == object && p.field == field; });
    };
    QVERIFY(has("filter action \"Secure traffic outside the Legal department\"", "security_methods[1].esp.integrity"));
    QVERIFY(has("rule \"Legal intra-department communications\"", "auth_methods"));
    QVERIFY(has("key exchange settings of policy \"Communication for the Legal Department\"", "lifetime_minutes"));
    QCOMPARE(panel->topLevelItemCount(), 3);
    QStringList fields;
    for (int i = 0; i < panel->topLevelItemCount(); ++i) fields << panel->topLevelItem(i)->text(2);
    QVERIFY2(fields.contains("security_methods[1].esp.integrity"), qPrintable(fields.join(", ")));

    dialog.accept();  // refused
    QVERIFY(dialog.isVisible());
    QVERIFY(dialog.result() != QDialog::Accepted);

    // Fixing the lifetime on the Key Exchange tab removes that error; OK still waits for the rest.
    dialog.lifetime_spin()->setValue(480);
    QCOMPARE(error_count(panel), 2);
    QVERIFY(!dialog.ok_button()->isEnabled());
  }

  // Weak offers (DES, and 3DES without the legacy option) are warnings in the panel, named by
  // offer; the policy can be saved; an unnamed default response rule (Windows') is valid and its
  // problems open it.
  void weak_offers_are_warnings_and_the_policy_can_be_saved() {
    auto policy = load_example("legal-policy.json");
    policy.key_exchange.methods.push_back({Cipher::Des, Integrity::Sha1, model::DhGroup::Modp768});
    policy.filter_actions[1].security_methods.push_back({std::nullopt, model::EspTransform{Cipher::TripleDes, Integrity::Md5}, 100000, 900});
    model::FilterAction response = policy.filter_actions[1];
    response.id = model::Guid::random();
    response.name.clear();
    response.security_methods = {{std::nullopt, model::EspTransform{Cipher::Des, Integrity::Md5}, 100000, 900}};
    model::Rule dynamic;
    dynamic.id = model::Guid::random();
    dynamic.default_response = true;
    dynamic.filter_action = response.id;
    dynamic.auth_methods = {model::AuthMethod::kerberos()};
    policy.filter_actions.push_back(response);
    policy.rules.push_back(dynamic);
    PolicyDialog dialog(policy);
    dialog.show();

    auto* panel = dialog.problems_panel();
    QCOMPARE(error_count(panel), 0);
    QVERIFY2(dialog.ok_button()->isEnabled(), qPrintable(panel->summary()));
    QStringList messages;
    for (int i = 0; i < panel->topLevelItemCount(); ++i) messages << panel->topLevelItem(i)->text(0);
    const auto joined = messages.join("\n");
    QVERIFY2(joined.contains("key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken"), qPrintable(joined));
    QVERIFY2(joined.contains("security method 3 (ESP 3DES/MD5) skipped: 3DES is legacy"), qPrintable(joined));
    QVERIFY2(joined.contains("no usable security method is left"), qPrintable(joined));
    QVERIFY2(panel->summary().contains("warning"), qPrintable(panel->summary()));

    // The unnamed default response action's warning opens that action.
    int row = -1;
    for (int i = 0; i < panel->topLevelItemCount(); ++i) {
      if (panel->topLevelItem(i)->text(1).contains("<default response>")) row = i;
    }
    QVERIFY(row >= 0);
    bool opened = false;
    when_modal<FilterActionDialog>([&](FilterActionDialog* action) {
      opened = action->name_edit()->text().isEmpty();
      action->reject();
    });
    emit panel->itemActivated(panel->topLevelItem(row), 0);
    QVERIFY(opened);
    press_ok(&dialog);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
  }

  void double_clicking_a_problem_opens_its_object() {
    auto broken = load_example("legal-policy.json");
    broken.rules[1].auth_methods.clear();
    PolicyDialog dialog(broken);
    dialog.show();
    auto* panel = dialog.problems_panel();
    QCOMPARE(panel->topLevelItemCount(), 1);

    QString opened;
    when_modal<RuleDialog>([&](RuleDialog* rule) {
      opened = rule->name_edit()->text();
      rule->reject();
    });
    emit panel->itemActivated(panel->topLevelItem(0), 0);
    QCOMPARE(opened, QString("Inter-department communications"));
    QCOMPARE(dialog.tabs()->currentIndex(), int(PolicyDialog::kRulesTab));
  }

  void problem_in_a_filter_action_opens_the_action_editor() {
    auto broken = load_example("legal-policy.json");
    broken.filter_actions[0].security_methods[0].lifetime_seconds = 5;
    PolicyDialog dialog(broken);
    dialog.show();
    QString opened;
    when_modal<FilterActionDialog>([&](FilterActionDialog* action) {
      opened = action->name_edit()->text() + " / " + action->used_by_label()->text();
      action->reject();
    });
    emit dialog.problems_panel()->itemActivated(dialog.problems_panel()->topLevelItem(0), 0);
    QCOMPARE(opened, QString("Secure traffic within the Legal department / Used by rules: Legal intra-department communications"));
  }

  void closing_with_changes_asks_first() {
    PolicyDialog dialog(load_example("legal-policy.json"));
    dialog.show();
    dialog.reject();  // unchanged: closes without a prompt
    QCOMPARE(dialog.result(), int(QDialog::Rejected));
    QVERIFY(!dialog.isVisible());

    dialog.show();
    dialog.name_edit()->setText("Legal, renamed");
    QVERIFY(dialog.has_unsaved_changes());
    QString asked;
    when_modal<QMessageBox>([&](QMessageBox* box) {
      asked = box->objectName();
      box->button(QMessageBox::Cancel)->click();
    });
    dialog.reject();
    QCOMPARE(asked, QString("unsaved_changes"));
    QVERIFY(dialog.isVisible());  // Cancel goes back to editing

    when_modal<QMessageBox>([](QMessageBox* box) { box->button(QMessageBox::Discard)->click(); });
    dialog.close();  // the window's close button takes the same path
    QVERIFY(!dialog.isVisible());
    QCOMPARE(dialog.result(), int(QDialog::Rejected));
  }

  void removing_a_rule_with_the_delete_key_can_be_undone() {
    const auto original = load_example("legal-policy.json");
    PolicyDialog dialog(original);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowActive(&dialog));
    dialog.tabs()->setCurrentIndex(PolicyDialog::kRulesTab);
    auto* view = dialog.rules_editor()->view();
    dialog.rules_editor()->select_row(0);
    view->setFocus();
    QTest::keyClick(view, Qt::Key_Delete);
    QCOMPARE(dialog.policy().rules.size(), std::size_t{1});
    QCOMPARE(dialog.policy().rules[0].name, std::string("Inter-department communications"));
    QVERIFY(dialog.has_unsaved_changes());

    dialog.undo_stack()->undo();
    QVERIFY(dialog.policy() == original);
    QVERIFY(!dialog.has_unsaved_changes());
    dialog.undo_stack()->redo();
    QCOMPARE(dialog.policy().rules.size(), std::size_t{1});
  }

  void unchecking_active_is_an_undoable_change() {
    const auto original = load_example("legal-policy.json");
    PolicyDialog dialog(original);
    auto* model = dialog.rules_model();
    QVERIFY(model->setData(model->index(1, RulesModel::kActive), Qt::Unchecked, Qt::CheckStateRole));
    QVERIFY(!dialog.policy().rules[1].active);
    QCOMPARE(model->data(model->index(1, RulesModel::kActive), Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
    dialog.undo_stack()->undo();
    QVERIFY(dialog.policy() == original);
  }

  void filter_removal_can_be_undone() {
    auto list = load_example("legal-policy.json").filter_lists[0];
    list.filters.push_back(list.filters[0]);
    list.filters[1].id = model::Guid::random();
    list.filters[1].description = "second";
    FilterListDialog dialog(list, {"Rule A", "Rule B"});
    QCOMPARE(dialog.used_by_label()->text(), QString("Used by rules: Rule A, Rule B"));
    dialog.filters_editor()->select_row(0);
    dialog.filters_editor()->remove_button()->click();
    QCOMPARE(dialog.filters_editor()->view()->model()->rowCount(), 1);
    dialog.undo_stack()->undo();
    press_ok(&dialog);
    QVERIFY(dialog.filter_list() == list);
  }

  void a_shared_filter_list_shows_every_rule_that_uses_it() {
    auto policy = load_example("legal-policy.json");
    policy.rules[1].filter_list = policy.filter_lists[0].id;
    RuleDialog dialog(policy, 0);
    QString used_by;
    when_modal<FilterListDialog>([&](FilterListDialog* list) {
      used_by = list->used_by_label()->text();
      list->reject();
    });
    dialog.filter_lists()->edit_button()->click();
    QCOMPARE(used_by, QString("Used by rules: this rule, Inter-department communications"));

    // The list is in use by another rule: removing it is refused with a message.
    QString refusal;
    when_modal<QMessageBox>([&](QMessageBox* box) {
      refusal = box->text();
      box->accept();
    });
    dialog.filter_lists()->remove_button()->click();
    QVERIFY2(refusal.contains("Inter-department communications"), qPrintable(refusal));
    QCOMPARE(dialog.policy().filter_lists.size(), std::size_t{2});
  }

  void rule_dialog_edits_tunnel_connection_type_and_auth_methods() {
    auto policy = load_example("legal-policy.json");
    policy.filter_lists[0].filters[0].mirrored = false;
    RuleDialog dialog(policy, 0);
    dialog.tunnel_button()->setChecked(true);
    dialog.tunnel_edit()->setText("not an address");
    dialog.accept();
    QVERIFY(dialog.result() != QDialog::Accepted);
    QCOMPARE(dialog.tabs()->currentIndex(), int(RuleDialog::kTunnelTab));
    dialog.tunnel_edit()->setText("10.20.1.1");
    dialog.connection_button(model::ConnectionType::Lan)->setChecked(true);

    when_modal<AuthMethodDialog>([](AuthMethodDialog* auth) {
      auth->preshared_button()->setChecked(true);
      QCOMPARE(auth->key_edit()->echoMode(), QLineEdit::Password);
      auth->key_edit()->setText("a long enough preshared key");
      press_ok(auth);
    });
    dialog.auth_editor()->add_button()->click();
    dialog.auth_editor()->select_row(1);
    dialog.auth_editor()->up_button()->click();
    press_ok(&dialog);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));

    const auto& rule = dialog.policy().rules[0];
    QCOMPARE(QString::fromStdString(rule.tunnel_endpoint->to_string()), QString("10.20.1.1"));
    QVERIFY(rule.connection_type == model::ConnectionType::Lan);
    QCOMPARE(rule.auth_methods.size(), std::size_t{2});
    QVERIFY(rule.auth_methods[0] == model::AuthMethod::preshared("a long enough preshared key"));
    QVERIFY(rule.auth_methods[1] == model::AuthMethod::kerberos());
    QVERIFY(!model::has_errors(model::validate(dialog.policy())));
  }

  void certificate_method_needs_a_ca_name() {
    AuthMethodDialog dialog(model::AuthMethod::kerberos());
    dialog.certificate_button()->setChecked(true);
    dialog.accept();
    QVERIFY(dialog.result() != QDialog::Accepted);
    dialog.ca_edit()->setText("CN=Contoso Root CA");
    dialog.accept();
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QVERIFY(dialog.method() == model::AuthMethod::certificate("CN=Contoso Root CA"));
  }

  void filter_dialog_refuses_addresses_that_do_not_parse() {
    FilterDialog dialog(model::Filter{});
    set_address(dialog.source_editor(), AddressKind::Host, "10.1.2");
    dialog.accept();
    QVERIFY(dialog.result() != QDialog::Accepted);
    set_address(dialog.source_editor(), AddressKind::Host, "10.1.2.3");
    set_address(dialog.destination_editor(), AddressKind::DnsName, "files.legal.example");
    dialog.protocol_combo()->setCurrentIndex(dialog.protocol_combo()->findData(int{model::ip_protocol::kTcp}));
    dialog.destination_ports()->set_ports(model::PortRange::single(445));
    dialog.mirrored_check()->setChecked(false);
    dialog.accept();
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    const auto& filter = dialog.filter();
    QVERIFY(!filter.id.is_nil());
    QVERIFY(filter.source == model::AddressSpec::host(*model::IpAddress::parse("10.1.2.3")));
    QVERIFY(filter.destination == model::AddressSpec::dns("files.legal.example"));
    QCOMPARE(int{filter.protocol}, int{model::ip_protocol::kTcp});
    QVERIFY(filter.destination_ports == model::PortRange::single(445));
    QVERIFY(!filter.mirrored);
  }

  void ports_reset_to_any_for_protocols_without_ports() {
    model::Filter filter;
    filter.protocol = model::ip_protocol::kUdp;
    filter.source_ports = {1000, 2000};
    FilterDialog dialog(filter);
    dialog.protocol_combo()->setCurrentIndex(dialog.protocol_combo()->findData(int{model::ip_protocol::kIcmp}));
    QVERIFY(!dialog.source_ports()->isEnabled());
    dialog.accept();
    QVERIFY(dialog.filter().source_ports.is_any());
  }

  void permit_action_drops_negotiation_settings() {
    auto action = load_example("legal-policy.json").filter_actions[0];
    action.quick_mode_pfs = true;
    FilterActionDialog dialog(action, {});
    QCOMPARE(dialog.used_by_label()->text(), QString("Used by no rule"));
    dialog.permit_button()->setChecked(true);
    QVERIFY(!dialog.methods_editor()->isEnabled());
    dialog.accept();
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QVERIFY(dialog.filter_action().kind == model::ActionKind::Permit);
    QVERIFY(dialog.filter_action().security_methods.empty());
    QVERIFY(!dialog.filter_action().quick_mode_pfs);
  }
};

QTEST_MAIN(DialogsTest)
#include "dialogs_test.moc"
