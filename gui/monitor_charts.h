// MonitorCharts: the Security Monitor's Charts tab (Qt Charts) — bytes and packets per SA over
// time, from the agent's counters at each poll, and IKE negotiations and failures per minute over
// the last 30 minutes, from the agent's event log (TrafficHistory holds both).
#pragma once

#include <cstdint>

#include <QWidget>

class QChart;
class QChartView;
class QLabel;

namespace ward::gui {

class TrafficHistory;

class MonitorCharts : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kEventMinutes = 30;

  explicit MonitorCharts(QWidget* parent = nullptr);

  // Redraws from `history`; `now` (Unix seconds) ends the events' time axis.
  void show_history(const TrafficHistory& history, std::int64_t now);

  QChart* bytes_chart() const;
  QChart* packets_chart() const;
  QChart* events_chart() const;

 private:
  QChartView* bytes_;
  QChartView* packets_;
  QChartView* events_;
  QLabel* note_;
};

}  // namespace ward::gui
