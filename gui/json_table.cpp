#include "gui/json_table.h"

#include <map>

#include <QHeaderView>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTableView>

namespace ward::gui {

namespace {

// Columns: `preferred` first (those present), then any other keys the rows carry.
QStringList columns_of(const nlohmann::json& rows, const QStringList& preferred) {
  QStringList present;
  QStringList extra;
  for (const auto& row : rows) {
    if (!row.is_object()) continue;
    for (auto it = row.begin(); it != row.end(); ++it) {
      const auto key = QString::fromStdString(it.key());
      if (preferred.contains(key)) {
        if (!present.contains(key)) present.append(key);
      } else if (!extra.contains(key)) {
        extra.append(key);
      }
    }
  }
  QStringList out;
  for (const auto& key : preferred) {
    if (present.contains(key)) out.append(key);
  }
  return out + extra;
}

}  // namespace

QString text_of(const nlohmann::json& value) {
  if (value.is_string()) return QString::fromStdString(value.get<std::string>());
  if (value.is_null()) return {};
  return QString::fromStdString(value.dump());
}

QStandardItem* json_cell(const nlohmann::json& value) {
  auto* item = new QStandardItem;
  if (value.is_number_unsigned()) item->setData(QVariant::fromValue<qulonglong>(value.get<std::uint64_t>()), Qt::DisplayRole);
  else if (value.is_number_integer()) item->setData(QVariant::fromValue<qlonglong>(value.get<std::int64_t>()), Qt::DisplayRole);
  else item->setText(text_of(value));
  if (value.is_number()) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  item->setEditable(false);
  return item;
}

QString title_of(const QString& key) {
  static const std::map<QString, QString> kTitles{
      {"peer", "Peer"},         {"direction", "Direction"},     {"spi", "SPI"},
      {"protocol", "Protocol"}, {"mode", "Mode"},               {"cipher", "Cipher"},
      {"integrity", "Integrity"}, {"rule", "Rule"},             {"filter_id", "Filter"},
      {"filter", "Filter"},     {"bytes", "Bytes"},             {"packets", "Packets"},
      {"drops", "Drops"},       {"age_seconds", "Age (s)"},     {"expires_in_seconds", "Expires in (s)"},
      {"auth_method", "Authentication"}, {"dh_group", "DH group"}, {"sas", "SAs"},
      {"id", "Id"},             {"weight", "Weight"},           {"action", "Action"},
      {"specific", "Specific filter"}, {"mirror", "Mirrored"}, {"state", "State"}, {"role", "Role"},
      {"failure", "Failure"},   {"internal_state", "Internal state"}, {"hash", "Hash"},
      {"lifetime_left", "Lifetime left (s)"}, {"quick_modes", "Quick modes"}, {"reason", "Reason"},
      {"kind", "Kind"},         {"agent", "Agent"},             {"endpoint", "Endpoint"},
      {"policy", "Policy"},     {"policy_state", "Policy state"}, {"main_modes", "Main modes"},
      {"negotiating", "Negotiating"}, {"soft", "Soft (clear)"}, {"failures", "Failures"}, {"error", "Error"},
      {"failure_kind", "Failure kind"}, {"what", "What failed"}};
  const auto found = kTitles.find(key);
  return found == kTitles.end() ? key : found->second;
}

// Rebuilds the rows; the column keys stay in the header's Qt::UserRole (tests and code look
// columns up by key), the titles are for people. Column widths fit the first contents only, so
// the user's own widths survive refreshes.
void fill_table(QStandardItemModel* model, const nlohmann::json& rows, const QStringList& preferred) {
  const auto columns = columns_of(rows, preferred);
  model->removeRows(0, model->rowCount());
  model->setColumnCount(static_cast<int>(columns.size()));
  for (int column = 0; column < columns.size(); ++column) {
    model->setHeaderData(column, Qt::Horizontal, title_of(columns[column]), Qt::DisplayRole);
    model->setHeaderData(column, Qt::Horizontal, columns[column], Qt::UserRole);
  }
  if (!rows.is_array()) return;
  for (const auto& row : rows) {
    QList<QStandardItem*> items;
    for (const auto& column : columns) {
      const auto key = column.toStdString();
      items.append(json_cell(row.is_object() && row.contains(key) ? row[key] : nlohmann::json()));
    }
    model->appendRow(items);
  }
}

QTableView* make_view(QWidget* parent, const char* name, QAbstractItemModel* model) {
  auto* view = new QTableView(parent);
  view->setObjectName(name);
  view->setModel(model);
  view->setSortingEnabled(true);
  view->setSelectionBehavior(QAbstractItemView::SelectRows);
  view->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view->setTabKeyNavigation(false);
  view->setAlternatingRowColors(true);
  view->verticalHeader()->hide();
  view->horizontalHeader()->setStretchLastSection(true);
  return view;
}

QSortFilterProxyModel* make_proxy(QObject* parent, QAbstractItemModel* source) {
  auto* proxy = new QSortFilterProxyModel(parent);
  proxy->setSourceModel(source);
  proxy->setFilterKeyColumn(-1);  // any column
  proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
  proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
  return proxy;
}

}  // namespace ward::gui
