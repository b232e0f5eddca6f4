// Test helper: fills a PolicyDialog with the Legal department policy
// (schemas/examples/legal-policy.json) through its widgets and the dialogs its buttons open, as a
// person would. Shared by the dialogs test and the directory test.
#pragma once

#include <QComboBox>
#include <QTest>
#include <QWidget>

#include "directory/model/policy.h"
#include "gui/policy_dialog.h"

namespace ward::gui::testing {

// Selects the item whose data is `value` in the combo box named `combo_name`.
template <class E>
void choose(QWidget* dialog, const char* combo_name, E value) {
  auto* combo = dialog->findChild<QComboBox*>(combo_name);
  QVERIFY2(combo, combo_name);
  const int index = combo->findData(static_cast<int>(value));
  QVERIFY2(index >= 0, combo_name);
  combo->setCurrentIndex(index);
}

// Leaves the dialog with the Legal policy's name, description, key exchange method and both rules;
// the caller presses OK. `expected` is the example (for its name and description).
void fill_legal_policy(PolicyDialog* dialog, const model::Policy& expected);

}  // namespace ward::gui::testing
