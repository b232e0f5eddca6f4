#include "gui/legal_dialog_steps.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QTabWidget>
#include <QTableView>
#include <QTest>

#include "gui/address_editor.h"
#include "gui/filter_action_dialog.h"
#include "gui/filter_dialog.h"
#include "gui/filter_list_dialog.h"
#include "gui/key_exchange_method_dialog.h"
#include "gui/list_editor.h"
#include "gui/rule_dialog.h"
#include "gui/security_method_dialog.h"
#include "gui/shared_object_picker.h"
#include "gui/test_support.h"

namespace ward::gui::testing {

using model::AddressKind;
using model::Cipher;
using model::Integrity;

namespace {

void set_address(AddressEditor* editor, AddressKind kind, const QString& value = {}) {
  editor->type_combo()->setCurrentIndex(editor->type_combo()->findData(static_cast<int>(kind)));
  editor->value_edit()->setText(value);
}

// Answers the filter dialog that the next click opens.
void expect_filter(const QString& description, AddressKind source, const QString& source_value, AddressKind destination,
                   const QString& destination_value) {
  when_modal<FilterDialog>([=](FilterDialog* dialog) {
    dialog->description_edit()->setText(description);
    set_address(dialog->source_editor(), source, source_value);
    set_address(dialog->destination_editor(), destination, destination_value);
    QCOMPARE(dialog->protocol_combo()->currentData().toInt(), int{model::ip_protocol::kAny});
    QVERIFY(dialog->mirrored_check()->isChecked());
    press_ok(dialog);
  });
}

void expect_filter_list(const QString& name, const QString& description, std::function<void()> add_filters_answer) {
  when_modal<FilterListDialog>([=](FilterListDialog* dialog) {
    dialog->name_edit()->setText(name);
    dialog->description_edit()->setText(description);
    add_filters_answer();
    dialog->filters_editor()->add_button()->click();
    QCOMPARE(dialog->filters_editor()->view()->model()->rowCount(), 1);
    press_ok(dialog);
  });
}

void answer_security_method(std::optional<Integrity> ah, std::optional<std::pair<Cipher, Integrity>> esp) {
  when_modal<SecurityMethodDialog>([=](SecurityMethodDialog* dialog) {
    dialog->findChild<QGroupBox*>("ah")->setChecked(ah.has_value());
    if (ah) choose(dialog, "ah_integrity", *ah);
    dialog->findChild<QGroupBox*>("esp")->setChecked(esp.has_value());
    if (esp) {
      choose(dialog, "esp_cipher", esp->first);
      choose(dialog, "esp_integrity", esp->second);
    }
    press_ok(dialog);
  });
}

// A new filter action starts with one method, ESP aes256-gcm; `first` replaces it, `second` is added.
void expect_filter_action(const QString& name, const QString& description, std::function<void()> first,
                          std::function<void()> second) {
  when_modal<FilterActionDialog>([=](FilterActionDialog* dialog) {
    dialog->name_edit()->setText(name);
    dialog->description_edit()->setText(description);
    QVERIFY(dialog->negotiate_button()->isChecked());
    QCOMPARE(dialog->used_by_label()->text(), QString("Used by rules: this rule"));
    if (first) {
      dialog->methods_editor()->select_row(0);
      first();
      dialog->methods_editor()->edit_button()->click();
    }
    second();
    dialog->methods_editor()->add_button()->click();
    QCOMPARE(dialog->methods_editor()->view()->model()->rowCount(), 2);
    press_ok(dialog);
  });
}

void expect_rule(const QString& name, std::function<void()> list_answer, std::function<void()> action_answer) {
  when_modal<RuleDialog>([=](RuleDialog* dialog) {
    dialog->name_edit()->setText(name);
    list_answer();
    dialog->filter_lists()->add_button()->click();
    dialog->tabs()->setCurrentIndex(RuleDialog::kFilterActionTab);
    action_answer();
    dialog->filter_actions()->add_button()->click();
    QCOMPARE(dialog->auth_editor()->view()->model()->rowCount(), 1);  // Kerberos by default
    QVERIFY(dialog->no_tunnel_button()->isChecked());
    QVERIFY(dialog->connection_button(model::ConnectionType::All)->isChecked());
    press_ok(dialog);
  });
}

}  // namespace

void fill_legal_policy(PolicyDialog* dialog, const model::Policy& expected) {
    dialog->name_edit()->setText(QString::fromStdString(expected.name));
    dialog->description_edit()->setPlainText(QString::fromStdString(expected.description));

    dialog->tabs()->setCurrentIndex(PolicyDialog::kKeyExchangeTab);
    when_modal<KeyExchangeMethodDialog>([](KeyExchangeMethodDialog* method) {
      choose(method, "cipher", Cipher::Aes128Cbc);
      choose(method, "integrity", Integrity::Sha1);
      choose(method, "dh_group", model::DhGroup::Modp2048);
      press_ok(method);
    });
    dialog->key_exchange_editor()->add_button()->click();

    dialog->tabs()->setCurrentIndex(PolicyDialog::kRulesTab);
    expect_rule(
        "Legal intra-department communications",
        [] {
          expect_filter_list("Legal intra-department traffic",
                             "Packets whose source and destination are both on the legal department's subnet.", [] {
                               expect_filter("Legal subnet to Legal subnet", AddressKind::Subnet, "10.20.1.0/24",
                                             AddressKind::Subnet, "10.20.1.0/24");
                             });
        },
        [] {
          expect_filter_action(
              "Secure traffic within the Legal department", "Data origin authentication and integrity, no encryption.",
              [] { answer_security_method(std::nullopt, std::pair{Cipher::None, Integrity::Sha256}); },
              [] { answer_security_method(Integrity::Sha256, std::nullopt); });
        });
    dialog->rules_editor()->add_button()->click();

    expect_rule(
        "Inter-department communications",
        [] {
          expect_filter_list("All IP traffic", "Any IP traffic to or from this computer.", [] {
            expect_filter("My address to any address", AddressKind::MyAddress, {}, AddressKind::Any, {});
          });
        },
        [] {
          expect_filter_action("Secure traffic outside the Legal department",
                               "Data origin authentication, integrity and confidentiality.", nullptr,
                               [] { answer_security_method(std::nullopt, std::pair{Cipher::Aes256Cbc, Integrity::Sha256}); });
        });
    dialog->rules_editor()->add_button()->click();

}

}  // namespace ward::gui::testing
