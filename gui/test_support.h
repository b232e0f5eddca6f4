// Helpers for the GUI tests: answering modal dialogs, loading the shipped examples, aligning the
// GUIDs a test cannot predict, and saving screenshots.
#pragma once

#include <functional>
#include <memory>

#include <QApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QPushButton>
#include <QString>
#include <QTimer>

#include "directory/model/policy.h"

namespace ward::gui::testing {

// How many when_modal() calls found no dialog of the expected type (a test failure).
int& modal_misses();

// Runs `answer` on the next modal dialog of type T once it is open. Call it just before the click
// that opens the dialog: the dialog's own event loop runs `answer`, which must close it.
template <class T>
void when_modal(std::function<void(T*)> answer) {
  constexpr int kPollMs = 10;
  constexpr int kMaxPolls = 500;
  auto* timer = new QTimer;
  auto polls = std::make_shared<int>(0);
  timer->setInterval(kPollMs);
  QObject::connect(timer, &QTimer::timeout, timer, [timer, polls, answer = std::move(answer)] {
    auto* dialog = qobject_cast<T*>(QApplication::activeModalWidget());
    if (!dialog && ++*polls < kMaxPolls) return;
    timer->stop();
    timer->deleteLater();
    if (!dialog) {
      ++modal_misses();
      if (auto* other = qobject_cast<QDialog*>(QApplication::activeModalWidget())) other->reject();
      return;
    }
    answer(dialog);
  });
  timer->start();
}

// Presses the dialog's OK button (the first QDialogButtonBox's accept button).
void press_ok(QWidget* dialog);

model::Policy load_example(const QString& file);

// Gives `actual`'s objects the ids of their counterparts in `expected`, by position, and updates
// the rules' references to match: the ids a dialog generates are random.
void align_ids(model::Policy& actual, const model::Policy& expected);

// Saves widget->grab() as <WARD_SCREENSHOT_DIR>/<name>.png; returns the path written.
QString save_screenshot(QWidget* widget, const QString& name);

}  // namespace ward::gui::testing
