// FunctionCommand: a QUndoCommand that runs one function to apply a change and another to take it
// back. The editors use it with before/after snapshots of what the change touched.
#pragma once

#include <functional>

#include <QUndoCommand>

namespace ward::gui {

class FunctionCommand final : public QUndoCommand {
 public:
  FunctionCommand(const QString& text, std::function<void()> redo, std::function<void()> undo)
      : QUndoCommand(text), redo_(std::move(redo)), undo_(std::move(undo)) {}

  void redo() override { redo_(); }
  void undo() override { undo_(); }

 private:
  std::function<void()> redo_;
  std::function<void()> undo_;
};

}  // namespace ward::gui
