#include "gui/monitor_charts.h"

#include <algorithm>

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QGridLayout>
#include <QLabel>
#include <QLineSeries>
#include <QValueAxis>

#include "gui/traffic_history.h"

namespace ward::gui {

namespace {

constexpr int kMinimumChartHeight = 220;
constexpr int kLabelEveryMinutes = 5;
constexpr int kMaxEventTicks = 6;

QChartView* make_chart_view(QWidget* parent, const QString& title, const char* name) {
  auto* chart = new QChart;
  chart->setTitle(title);
  chart->legend()->setAlignment(Qt::AlignBottom);
  chart->setMargins(QMargins(4, 4, 4, 4));
  auto* view = new QChartView(chart, parent);
  view->setObjectName(name);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(kMinimumChartHeight);
  return view;
}

// One line per SA over the poll times: its bytes (or packets) counter.
void fill_counters(QChart* chart, const TrafficHistory& history, bool bytes) {
  chart->removeAllSeries();
  for (auto* axis : chart->axes()) {
    chart->removeAxis(axis);
    delete axis;
  }
  auto* time = new QDateTimeAxis;
  time->setFormat("HH:mm:ss");
  time->setTitleText("time");
  auto* value = new QValueAxis;
  value->setTitleText(bytes ? "bytes" : "packets");
  value->setLabelFormat("%.0f");
  chart->addAxis(time, Qt::AlignBottom);
  chart->addAxis(value, Qt::AlignLeft);
  std::int64_t first = 0;
  std::int64_t last = 0;
  double top = 1;
  for (const auto& [key, sa] : history.sas()) {
    auto* series = new QLineSeries;
    series->setName(sa.label);
    series->setPointsVisible(true);
    for (const auto& point : sa.points) {
      const double y = static_cast<double>(bytes ? point.bytes : point.packets);
      series->append(static_cast<double>(point.at_ms), y);
      top = std::max(top, y);
      first = first == 0 ? point.at_ms : std::min(first, point.at_ms);
      last = std::max(last, point.at_ms);
    }
    chart->addSeries(series);
    series->attachAxis(time);
    series->attachAxis(value);
  }
  if (first == 0) first = last = QDateTime::currentMSecsSinceEpoch();
  if (last == first) last = first + 1000;
  time->setRange(QDateTime::fromMSecsSinceEpoch(first), QDateTime::fromMSecsSinceEpoch(last));
  value->setRange(0, top * 1.1);
  if (history.sas().empty()) value->setTickCount(2);  // 0 and 1, not five ticks rounded to 0 and 1
  chart->setTitle(QString(bytes ? "Bytes per SA" : "Packets per SA") + (history.sas().empty() ? " (no quick mode SAs)" : ""));
  chart->legend()->setVisible(!history.sas().empty());
}

}  // namespace

MonitorCharts::MonitorCharts(QWidget* parent)
    : QWidget(parent), bytes_(make_chart_view(this, "Bytes per SA", "bytes_chart")),
      packets_(make_chart_view(this, "Packets per SA", "packets_chart")),
      events_(make_chart_view(this, "IKE negotiations and failures per minute (the agent's event log)", "events_chart")),
      note_(new QLabel(this)) {
  note_->setObjectName("charts_note");
  note_->setWordWrap(true);
  auto* layout = new QGridLayout(this);
  layout->addWidget(note_, 0, 0, 1, 2);
  layout->addWidget(bytes_, 1, 0);
  layout->addWidget(packets_, 1, 1);
  layout->addWidget(events_, 2, 0, 1, 2);
  layout->setRowStretch(1, 1);
  layout->setRowStretch(2, 1);
  note_->setText("Counters are the agent's, read at each poll; an SA's line ends when it is rekeyed or deleted.");
}

QChart* MonitorCharts::bytes_chart() const { return bytes_->chart(); }
QChart* MonitorCharts::packets_chart() const { return packets_->chart(); }
QChart* MonitorCharts::events_chart() const { return events_->chart(); }

void MonitorCharts::show_history(const TrafficHistory& history, std::int64_t now) {
  fill_counters(bytes_->chart(), history, true);
  fill_counters(packets_->chart(), history, false);

  QChart* chart = events_->chart();
  chart->removeAllSeries();
  for (auto* axis : chart->axes()) {
    chart->removeAxis(axis);
    delete axis;
  }
  auto* negotiated = new QBarSet("negotiated");
  auto* failed = new QBarSet("failed");
  negotiated->setColor(QColor(0x2e, 0x7d, 0x32));
  failed->setColor(QColor(0xc6, 0x28, 0x28));
  QStringList minutes;
  int top = 1;
  for (const auto& bucket : history.per_minute(now, kEventMinutes)) {
    *negotiated << bucket.negotiated;
    *failed << bucket.failed;
    top = std::max({top, bucket.negotiated, bucket.failed});
    const auto at = QDateTime::fromSecsSinceEpoch(bucket.minute);
    // Every fifth minute is labelled (categories must differ: the others get invisible padding).
    minutes << (at.time().minute() % kLabelEveryMinutes == 0 ? at.toString("HH:mm") : QString(minutes.size(), QChar(0x200b)));
  }
  auto* series = new QBarSeries;
  series->append(negotiated);
  series->append(failed);
  chart->addSeries(series);
  auto* axis_x = new QBarCategoryAxis;
  axis_x->append(minutes);
  axis_x->setLabelsAngle(-90);  // a category is narrower than "HH:mm": upright labels would be elided
  auto* axis_y = new QValueAxis;
  axis_y->setRange(0, top + 1);
  // Whole numbers of events: a tick every 1, 2, 3... events, never between two.
  axis_y->setTickType(QValueAxis::TicksDynamic);
  axis_y->setTickAnchor(0);
  axis_y->setTickInterval(std::max(1, (top + 1) / kMaxEventTicks));
  axis_y->setLabelFormat("%.0f");
  axis_y->setTitleText("events");
  chart->addAxis(axis_x, Qt::AlignBottom);
  chart->addAxis(axis_y, Qt::AlignLeft);
  series->attachAxis(axis_x);
  series->attachAxis(axis_y);
}

}  // namespace ward::gui
