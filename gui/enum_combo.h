// Filling a QComboBox from one of the model's enumerations and reading the choice back.
#pragma once

#include <initializer_list>

#include <QComboBox>

#include "directory/model/names.h"

namespace ward::gui {

template <class E>
QString enum_name(E value) {
  const auto name = model::name_of(value);
  return QString::fromUtf8(name.data(), static_cast<qsizetype>(name.size()));
}

// Every value of E except `hidden` (values that are never offered, such as broken algorithms; a
// loaded policy that uses one still shows it, see set_combo_value).
template <class E>
void fill_enum_combo(QComboBox* combo, std::initializer_list<E> hidden = {}, QString (*text)(E) = nullptr) {
  for (const auto& entry : model::EnumNames<E>::entries) {
    bool skip = false;
    for (const E value : hidden) skip = skip || value == entry.first;
    if (skip) continue;
    combo->addItem(text ? text(entry.first) : enum_name(entry.first), static_cast<int>(entry.first));
  }
}

template <class E>
void set_combo_value(QComboBox* combo, E value) {
  int index = combo->findData(static_cast<int>(value));
  if (index < 0) {
    combo->addItem(enum_name(value), static_cast<int>(value));
    index = combo->count() - 1;
  }
  combo->setCurrentIndex(index);
}

template <class E>
E combo_value(const QComboBox* combo) {
  return static_cast<E>(combo->currentData().toInt());
}

}  // namespace ward::gui
