#include "gui/rules_model.h"

#include "gui/display_text.h"

namespace ward::gui {

void RulesModel::set_policy(const model::Policy& policy) {
  policy_ = policy;
  set_items(policy.rules);
}

QStringList RulesModel::headers() const {
  return {"Active", "Name", "Filter list", "Filter action", "Authentication", "Tunnel"};
}

QString RulesModel::text(const model::Rule& rule, int column) const {
  switch (column) {
    case kActive: return {};
    case kName: return qs(rule.name);
    case kFilterList: {
      if (rule.default_response) return "<Dynamic> default response";
      if (!rule.filter_list) return "(none)";
      const auto* list = policy_.find_filter_list(*rule.filter_list);
      return list ? qs(list->name) : "(missing " + qs(rule.filter_list->to_string()) + ")";
    }
    case kFilterAction: {
      const auto* action = policy_.find_filter_action(rule.filter_action);
      return action ? qs(action->name) : QString("(none)");
    }
    case kAuthentication: return auth_methods_text(rule.auth_methods);
    case kTunnel: return rule.tunnel_endpoint ? qs(rule.tunnel_endpoint->to_string()) : QString("None");
    default: return {};
  }
}

QVariant RulesModel::data(const QModelIndex& index, int role) const {
  if (index.isValid() && index.column() == kActive && role == Qt::CheckStateRole) {
    return items()[static_cast<std::size_t>(index.row())].active ? Qt::Checked : Qt::Unchecked;
  }
  return VectorTableModel::data(index, role);
}

Qt::ItemFlags RulesModel::flags(const QModelIndex& index) const {
  auto flags = VectorTableModel::flags(index);
  if (index.isValid() && index.column() == kActive) flags |= Qt::ItemIsUserCheckable;
  return flags;
}

bool RulesModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() || index.column() != kActive || role != Qt::CheckStateRole) return false;
  if (toggled_) toggled_(index.row(), value.toInt() == Qt::Checked);
  return true;
}

}  // namespace ward::gui
