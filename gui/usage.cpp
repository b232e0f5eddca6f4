#include "gui/usage.h"

#include "gui/display_text.h"

namespace ward::gui {

namespace {
template <class Uses>
QStringList rules_where(const model::Policy& policy, std::optional<std::size_t> skip_rule, Uses uses) {
  QStringList names;
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    if (skip_rule && *skip_rule == i) continue;
    if (uses(policy.rules[i])) names << (policy.rules[i].name.empty() ? QString("(unnamed rule)") : qs(policy.rules[i].name));
  }
  return names;
}
}  // namespace

QStringList rules_using_filter_list(const model::Policy& policy, const model::Guid& list, std::optional<std::size_t> skip_rule) {
  return rules_where(policy, skip_rule, [&](const model::Rule& rule) { return rule.filter_list == list; });
}

QStringList rules_using_filter_action(const model::Policy& policy, const model::Guid& action, std::optional<std::size_t> skip_rule) {
  return rules_where(policy, skip_rule, [&](const model::Rule& rule) { return rule.filter_action == action; });
}

QString used_by_text(const QStringList& rules) {
  return rules.isEmpty() ? QString("Used by no rule") : "Used by rules: " + rules.join(", ");
}

}  // namespace ward::gui
