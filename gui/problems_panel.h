// The policy dialog's problems panel: every problem validate() found, with severity, object,
// field and message. Activating one (double-click or Enter) asks the dialog to show its object.
#pragma once

#include <vector>

#include <QTreeWidget>

#include "directory/model/validation.h"

namespace ward::gui {

class ProblemsPanel : public QTreeWidget {
  Q_OBJECT

 public:
  explicit ProblemsPanel(QWidget* parent = nullptr);

  void set_problems(const std::vector<model::Problem>& problems);
  const std::vector<model::Problem>& problems() const { return problems_; }
  QString summary() const;  // "2 errors, 1 warning" or "No problems"

 signals:
  void problem_activated(const ward::model::Problem& problem);

 private:
  std::vector<model::Problem> problems_;
};

}  // namespace ward::gui
