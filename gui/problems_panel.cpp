#include "gui/problems_panel.h"

#include <algorithm>

#include <QHeaderView>
#include <QStyle>

#include "gui/display_text.h"

namespace ward::gui {

ProblemsPanel::ProblemsPanel(QWidget* parent) : QTreeWidget(parent) {
  setColumnCount(3);
  setHeaderLabels({"Problem", "Object", "Field"});
  setRootIsDecorated(false);
  setAlternatingRowColors(true);
  setUniformRowHeights(true);
  header()->setStretchLastSection(false);
  header()->setSectionResizeMode(0, QHeaderView::Stretch);
  header()->setSectionResizeMode(1, QHeaderView::Interactive);
  header()->setSectionResizeMode(2, QHeaderView::ResizeToContents);
  header()->resizeSection(1, 260);
  connect(this, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem* item) {
    const auto index = static_cast<std::size_t>(indexOfTopLevelItem(item));
    if (index < problems_.size()) emit problem_activated(problems_[index]);
  });
}

void ProblemsPanel::set_problems(const std::vector<model::Problem>& problems) {
  problems_ = problems;
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const model::Problem& a, const model::Problem& b) { return a.severity < b.severity; });
  clear();
  for (const auto& problem : problems_) {
    auto* item = new QTreeWidgetItem(this, {qs(problem.message), qs(problem.object), qs(problem.field)});
    const bool error = problem.severity == model::Severity::Error;
    item->setIcon(0, style()->standardIcon(error ? QStyle::SP_MessageBoxCritical : QStyle::SP_MessageBoxWarning));
    item->setToolTip(0, qs(problem.to_string()));
  }
}

QString ProblemsPanel::summary() const {
  const auto errors = std::count_if(problems_.begin(), problems_.end(),
                                    [](const model::Problem& p) { return p.severity == model::Severity::Error; });
  const auto warnings = static_cast<long>(problems_.size()) - errors;
  if (problems_.empty()) return "No problems";
  return QString("%1 error%2, %3 warning%4").arg(errors).arg(errors == 1 ? "" : "s").arg(warnings).arg(warnings == 1 ? "" : "s");
}

}  // namespace ward::gui
