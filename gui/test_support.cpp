#include "gui/test_support.h"

#include <map>
#include <stdexcept>

#include <QDir>
#include <QFile>
#include <QPixmap>

#include "directory/model/policy_json.h"

namespace ward::gui::testing {

int& modal_misses() {
  static int misses = 0;
  return misses;
}

void press_ok(QWidget* dialog) {
  auto* box = dialog->findChild<QDialogButtonBox*>();
  if (!box) throw std::runtime_error("dialog has no button box");
  for (auto* button : box->buttons()) {
    if (box->buttonRole(button) == QDialogButtonBox::AcceptRole) {
      static_cast<QPushButton*>(button)->click();
      return;
    }
  }
  throw std::runtime_error("dialog has no OK button");
}

model::Policy load_example(const QString& file) {
  const QString dir = qEnvironmentVariable("WARD_SOURCE_DIR", ".");
  QFile in(dir + "/schemas/examples/" + file);
  if (!in.open(QIODevice::ReadOnly)) throw std::runtime_error("cannot read example " + file.toStdString());
  auto policy = model::policy_from_json(in.readAll().toStdString());
  if (!policy) throw std::runtime_error("example does not import: " + policy.error().front().to_string());
  return std::move(policy).value();
}

void align_ids(model::Policy& actual, const model::Policy& expected) {
  std::map<model::Guid, model::Guid> renamed;
  auto take = [&](model::Guid& id, const model::Guid& wanted) {
    renamed[id] = wanted;
    id = wanted;
  };
  take(actual.id, expected.id);
  take(actual.key_exchange.id, expected.key_exchange.id);
  for (std::size_t i = 0; i < std::min(actual.filter_lists.size(), expected.filter_lists.size()); ++i) {
    take(actual.filter_lists[i].id, expected.filter_lists[i].id);
    auto& filters = actual.filter_lists[i].filters;
    const auto& wanted = expected.filter_lists[i].filters;
    for (std::size_t j = 0; j < std::min(filters.size(), wanted.size()); ++j) take(filters[j].id, wanted[j].id);
  }
  for (std::size_t i = 0; i < std::min(actual.filter_actions.size(), expected.filter_actions.size()); ++i) {
    take(actual.filter_actions[i].id, expected.filter_actions[i].id);
  }
  for (std::size_t i = 0; i < std::min(actual.rules.size(), expected.rules.size()); ++i) {
    take(actual.rules[i].id, expected.rules[i].id);
  }
  for (auto& rule : actual.rules) {
    if (rule.filter_list && renamed.count(*rule.filter_list)) rule.filter_list = renamed[*rule.filter_list];
    if (renamed.count(rule.filter_action)) rule.filter_action = renamed[rule.filter_action];
  }
}

QString save_screenshot(QWidget* widget, const QString& name) {
  const QString dir = qEnvironmentVariable("WARD_SCREENSHOT_DIR", QDir::tempPath() + "/ward-screenshots");
  QDir().mkpath(dir);
  const QString path = dir + "/" + name + ".png";
  if (!widget->grab().save(path)) throw std::runtime_error("cannot save screenshot " + path.toStdString());
  return path;
}

}  // namespace ward::gui::testing
