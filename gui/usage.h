// Which rules use a shared filter list or filter action ("Used by rules: ...").
#pragma once

#include <optional>

#include <QStringList>

#include "directory/model/policy.h"

namespace ward::gui {

// Names of the rules of `policy` that use the object, except the rule at `skip_rule` (the one
// being edited, which the caller adds itself if it uses the object).
QStringList rules_using_filter_list(const model::Policy& policy, const model::Guid& list,
                                    std::optional<std::size_t> skip_rule = std::nullopt);
QStringList rules_using_filter_action(const model::Policy& policy, const model::Guid& action,
                                      std::optional<std::size_t> skip_rule = std::nullopt);
QString used_by_text(const QStringList& rules);  // "Used by rules: a, b" or "Used by no rule"

}  // namespace ward::gui
