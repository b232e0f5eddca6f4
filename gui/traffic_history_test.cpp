// TrafficHistory, the data behind the Security Monitor's Charts tab: per-SA counter series across
// polls (bounded, an SA gone for max_samples polls dropped), event log rows counted once however
// often show-events repeats them, and negotiations/failures per minute with empty minutes kept.
#include <QTest>

#include "gui/traffic_history.h"

using ward::gui::TrafficHistory;

namespace {

nlohmann::json sa(const char* spi, const char* direction, std::uint64_t bytes, std::uint64_t packets) {
  return {{"peer", "10.20.1.7"}, {"direction", direction}, {"spi", spi}, {"rule", "Legal"}, {"bytes", bytes}, {"packets", packets}};
}

nlohmann::json log_row(std::int64_t time, const char* kind, const char* peer, const char* reason = "") {
  return {{"time", time}, {"kind", kind}, {"peer", peer}, {"auth_method", "kerberos"}, {"reason", reason}};
}

}  // namespace

class TrafficHistoryTest : public QObject {
  Q_OBJECT

 private slots:
  void keeps_one_series_per_sa_and_bounds_it() {
    TrafficHistory history(3);
    history.add_sample(1000, nlohmann::json::array({sa("0x1", "out", 100, 1), sa("0x2", "in", 50, 1)}));
    history.add_sample(2000, nlohmann::json::array({sa("0x1", "out", 300, 3), sa("0x2", "in", 90, 2)}));
    QCOMPARE(history.sas().size(), std::size_t{2});
    const auto& out = history.sas().at("0x1 out");
    QCOMPARE(out.label, QString("10.20.1.7 out 0x1 (Legal)"));
    QCOMPARE(out.points.size(), std::size_t{2});
    QCOMPARE(out.points.back().bytes, std::uint64_t{300});
    QCOMPARE(out.points.back().packets, std::uint64_t{3});
    QCOMPARE(out.points.back().at_ms, std::int64_t{2000});
    // 0x2 is rekeyed away: its line stays for max_samples polls, then goes; 0x1 keeps 3 points.
    for (int i = 3; i <= 5; ++i) history.add_sample(i * 1000, nlohmann::json::array({sa("0x1", "out", 100 * i, i)}));
    QCOMPARE(history.sas().size(), std::size_t{1});
    QCOMPARE(history.sas().at("0x1 out").points.size(), std::size_t{3});
    QCOMPARE(history.sas().at("0x1 out").points.front().at_ms, std::int64_t{3000});
    QCOMPARE(history.samples(), std::size_t{5});
  }

  void counts_each_event_once_per_minute() {
    TrafficHistory history;
    const std::int64_t minute = 1'796'000'000 - 1'796'000'000 % 60;
    const auto events = nlohmann::json::array({log_row(minute + 1, "ike-success", "10.20.1.7"),
                                               log_row(minute + 2, "ike-failure", "10.20.1.9", "no response from peer"),
                                               log_row(minute + 61, "ike-success", "10.20.1.9"),
                                               log_row(minute + 62, "policy-applied", ""),
                                               log_row(minute + 130, "ike-failure", "10.20.1.9", "no proposal chosen")});
    history.add_events(events);
    history.add_events(events);  // show-events from the newest time repeats rows: counted once
    QCOMPARE(history.newest_event(), minute + 130);
    const auto buckets = history.per_minute(minute + 150, 4);
    QCOMPARE(buckets.size(), std::size_t{4});
    QCOMPARE(buckets[0].minute, minute - 60);  // an empty minute before the first event
    QCOMPARE(buckets[0].negotiated + buckets[0].failed, 0);
    QCOMPARE(buckets[1].negotiated, 1);
    QCOMPARE(buckets[1].failed, 1);
    QCOMPARE(buckets[2].negotiated, 1);
    QCOMPARE(buckets[2].failed, 0);
    QCOMPARE(buckets[3].failed, 1);
    // Malformed rows (no integer time) are skipped.
    history.add_events(nlohmann::json::array({{{"time", "yesterday"}, {"kind", "ike-failure"}}, 42}));
    QCOMPARE(history.per_minute(minute + 150, 4)[3].failed, 1);
  }
};

QTEST_GUILESS_MAIN(TrafficHistoryTest)
#include "traffic_history_test.moc"
