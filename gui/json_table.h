// Tables of the agent's JSON rows (show-sa, show-filters ...): one QStandardItemModel column per
// key, numbers kept as numbers (so columns sort numerically), titles for people, the keys in the
// header's Qt::UserRole for code and tests; and the sortable, filterable views over them.
#pragma once

#include <QString>
#include <QStringList>
#include <nlohmann/json.hpp>

class QAbstractItemModel;
class QObject;
class QSortFilterProxyModel;
class QStandardItem;
class QStandardItemModel;
class QTableView;
class QWidget;

namespace ward::gui {

QString text_of(const nlohmann::json& value);
// A table cell: numbers keep their numeric value, so the proxy sorts them as numbers.
QStandardItem* json_cell(const nlohmann::json& value);
// Column titles for the keys the agent sends; other keys show as sent.
QString title_of(const QString& key);
// Rebuilds the rows: `preferred` keys first (those present), then any other keys the rows carry.
void fill_table(QStandardItemModel* model, const nlohmann::json& rows, const QStringList& preferred);
QTableView* make_view(QWidget* parent, const char* name, QAbstractItemModel* model);
QSortFilterProxyModel* make_proxy(QObject* parent, QAbstractItemModel* source);

}  // namespace ward::gui
