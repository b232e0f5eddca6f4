// Running a blocking call (a PolicyStore operation) on Qt's thread pool and handing its result
// back on the UI thread, so the window never freezes.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <QFuture>
#include <QFutureWatcher>
#include <QtConcurrent/QtConcurrentRun>

namespace ward::gui {

// `done` runs on `context`'s thread once `work` has returned, unless `context` is gone by then.
// The caller keeps the returned future and waits for it before destroying what `work` uses.
template <class R>
QFuture<void> run_in_background(QObject* context, std::function<R()> work, std::function<void(R)> done) {
  auto result = std::make_shared<std::optional<R>>();
  auto* watcher = new QFutureWatcher<void>(context);
  QObject::connect(watcher, &QFutureWatcher<void>::finished, context, [watcher, result, done = std::move(done)] {
    watcher->deleteLater();
    done(std::move(**result));
  });
  auto future = QtConcurrent::run([result, work = std::move(work)] { result->emplace(work()); });
  watcher->setFuture(future);
  return future;
}

}  // namespace ward::gui
