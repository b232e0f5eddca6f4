// The table models, over the Legal department example.
#include <QTest>

#include "gui/auth_methods_model.h"
#include "gui/filters_model.h"
#include "gui/key_exchange_methods_model.h"
#include "gui/policy_list_model.h"
#include "gui/rules_model.h"
#include "gui/security_methods_model.h"
#include "gui/test_support.h"

using namespace ward;
using namespace ward::gui;

namespace {
QString cell(const QAbstractItemModel& model, int row, int column) {
  return model.data(model.index(row, column), Qt::DisplayRole).toString();
}
}  // namespace

class ModelsTest : public QObject {
  Q_OBJECT

 private slots:
  void rules_model_names_lists_and_actions() {
    const auto policy = testing::load_example("legal-policy.json");
    RulesModel model;
    model.set_policy(policy);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.columnCount(), 6);
    QCOMPARE(model.headerData(RulesModel::kFilterList, Qt::Horizontal, Qt::DisplayRole).toString(), QString("Filter list"));
    QCOMPARE(cell(model, 0, RulesModel::kName), QString("Legal intra-department communications"));
    QCOMPARE(cell(model, 0, RulesModel::kFilterList), QString("Legal intra-department traffic"));
    QCOMPARE(cell(model, 1, RulesModel::kFilterAction), QString("Secure traffic outside the Legal department"));
    QCOMPARE(cell(model, 1, RulesModel::kAuthentication), QString("Kerberos"));
    QCOMPARE(cell(model, 1, RulesModel::kTunnel), QString("None"));
    QCOMPARE(model.data(model.index(0, RulesModel::kActive), Qt::CheckStateRole).toInt(), int(Qt::Checked));
    QVERIFY(model.flags(model.index(0, RulesModel::kActive)) & Qt::ItemIsUserCheckable);
    QVERIFY(!(model.flags(model.index(0, RulesModel::kName)) & Qt::ItemIsUserCheckable));
  }

  void rules_model_reports_toggles_without_applying_them() {
    const auto policy = testing::load_example("legal-policy.json");
    RulesModel model;
    model.set_policy(policy);
    std::pair<int, bool> toggled{-1, true};
    model.on_active_toggled([&](int row, bool active) { toggled = {row, active}; });
    QVERIFY(model.setData(model.index(1, RulesModel::kActive), Qt::Unchecked, Qt::CheckStateRole));
    QCOMPARE(toggled.first, 1);
    QCOMPARE(toggled.second, false);
    QVERIFY(!model.setData(model.index(1, RulesModel::kName), "x", Qt::EditRole));
  }

  void rules_model_shows_missing_and_default_response() {
    auto policy = testing::load_example("legal-policy.json");
    policy.rules[0].filter_list = model::Guid::random();
    policy.rules[1].filter_list.reset();
    policy.rules[1].default_response = true;
    RulesModel model;
    model.set_policy(policy);
    QVERIFY(cell(model, 0, RulesModel::kFilterList).startsWith("(missing {"));
    QCOMPARE(cell(model, 1, RulesModel::kFilterList), QString("<Dynamic> default response"));
  }

  void filters_model_shows_addresses_protocol_ports() {
    auto list = testing::load_example("legal-policy.json").filter_lists[0];
    model::Filter web;
    web.source = model::AddressSpec::my_address();
    web.destination = model::AddressSpec::host(*model::IpAddress::parse("10.20.1.80"));
    web.protocol = model::ip_protocol::kTcp;
    web.destination_ports = model::PortRange::single(443);
    web.source_ports = {1024, 65535};
    web.mirrored = false;
    list.filters.push_back(web);
    FiltersModel model;
    model.set_items(list.filters);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(cell(model, 0, FiltersModel::kSource), QString("10.20.1.0/24"));
    QCOMPARE(cell(model, 0, FiltersModel::kProtocol), QString("any"));
    QCOMPARE(cell(model, 0, FiltersModel::kMirrored), QString("Yes"));
    QCOMPARE(cell(model, 1, FiltersModel::kSource), QString("my address"));
    QCOMPARE(cell(model, 1, FiltersModel::kDestination), QString("10.20.1.80"));
    QCOMPARE(cell(model, 1, FiltersModel::kProtocol), QString("tcp"));
    QCOMPARE(cell(model, 1, FiltersModel::kSourcePorts), QString("1024-65535"));
    QCOMPARE(cell(model, 1, FiltersModel::kDestinationPorts), QString("443"));
    QCOMPARE(cell(model, 1, FiltersModel::kMirrored), QString("No"));
  }

  void method_models_use_the_model_names() {
    const auto policy = testing::load_example("legal-policy.json");
    KeyExchangeMethodsModel key_exchange;
    key_exchange.set_items(policy.key_exchange.methods);
    QCOMPARE(cell(key_exchange, 0, KeyExchangeMethodsModel::kCipher), QString("aes256-cbc"));
    QCOMPARE(cell(key_exchange, 1, KeyExchangeMethodsModel::kDhGroup), QString("modp2048 (group 14)"));

    SecurityMethodsModel security;
    security.set_items(policy.filter_actions[0].security_methods);
    QCOMPARE(cell(security, 0, SecurityMethodsModel::kType), QString("ESP"));
    QCOMPARE(cell(security, 0, SecurityMethodsModel::kEspCipher), QString("null"));
    QCOMPARE(cell(security, 0, SecurityMethodsModel::kAhIntegrity), QString("-"));
    QCOMPARE(cell(security, 1, SecurityMethodsModel::kType), QString("AH"));
    QCOMPARE(cell(security, 1, SecurityMethodsModel::kAhIntegrity), QString("sha256"));
    QCOMPARE(cell(security, 1, SecurityMethodsModel::kLifetimeSeconds), QString("3600"));
  }

  void auth_model_never_shows_a_preshared_key() {
    AuthMethodsModel model;
    model.set_items({model::AuthMethod::preshared("correct horse battery staple"), model::AuthMethod::certificate("CN=Root")});
    for (int column = 0; column < model.columnCount(); ++column) {
      for (int role : {int(Qt::DisplayRole), int(Qt::ToolTipRole)}) {
        QVERIFY(!model.data(model.index(0, column), role).toString().contains("horse"));
      }
    }
    QCOMPARE(cell(model, 0, AuthMethodsModel::kMethod), QString("Preshared key"));
    QCOMPARE(cell(model, 1, AuthMethodsModel::kDetails), QString("CA: CN=Root"));
  }

  void policy_list_model_marks_unreadable_entries() {
    PolicyListModel model;
    PolicySummary good{model::Guid::random(), "Legal", "desc", 2, {}, {}};
    PolicySummary bad{{}, "broken.json", {}, 0, {}, "JSON, field /rules: missing"};
    model.set_items({good, bad});
    QCOMPARE(cell(model, 0, PolicyListModel::kRules), QString("2"));
    QCOMPARE(cell(model, 0, PolicyListModel::kAssignment), QString());
    QCOMPARE(cell(model, 1, PolicyListModel::kDescription), QString("Cannot be read: JSON, field /rules: missing"));
    QVERIFY(model.data(model.index(1, 0), Qt::ForegroundRole).isValid());
    QVERIFY(!model.data(model.index(0, 0), Qt::ForegroundRole).isValid());
  }
};

QTEST_MAIN(ModelsTest)
#include "models_test.moc"
