// TrafficHistory: what the Security Monitor's Charts tab draws, kept across polls — each SA's byte
// and packet counters at every poll (from show-sa), and the agent's IKE negotiations and failures
// per minute (from its event log, show-events: ike-success and ike-failure).
//
// Bounded: at most `max_samples` polls per SA (an SA not seen for that long is dropped) and the
// events of the last `event_window`. Pure data; no Qt widgets, no agent calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <QString>
#include <nlohmann/json.hpp>

namespace ward::gui {

class TrafficHistory {
 public:
  struct Point {
    std::int64_t at_ms = 0;  // Unix milliseconds of the poll
    std::uint64_t bytes = 0;
    std::uint64_t packets = 0;
  };
  struct Series {
    QString label;  // "10.20.1.2 out 0xc0ffee01 (Legal intra-department)"
    std::deque<Point> points;
  };
  struct Bucket {
    std::int64_t minute = 0;  // Unix seconds at the minute's start
    int negotiated = 0;       // ike-success events
    int failed = 0;           // ike-failure events
  };

  explicit TrafficHistory(std::size_t max_samples = 240, std::chrono::minutes event_window = std::chrono::minutes(60))
      : max_samples_(max_samples), event_window_(event_window) {}

  // One poll's quick mode SAs (show-sa's "sas": peer, direction, spi, rule, bytes, packets).
  void add_sample(std::int64_t at_ms, const nlohmann::json& sas);
  // Event log rows (time, kind, peer, reason); a row already seen is counted once.
  void add_events(const nlohmann::json& events);

  const std::map<std::string, Series>& sas() const { return series_; }
  // The last `minutes` minutes up to `now` (Unix seconds), oldest first, empty minutes included.
  std::vector<Bucket> per_minute(std::int64_t now, int minutes) const;
  // The newest event's time: ask show-events from there (it returns events at or after it).
  std::int64_t newest_event() const { return newest_event_; }
  std::size_t samples() const { return samples_; }

 private:
  std::size_t max_samples_;
  std::chrono::minutes event_window_;
  std::size_t samples_ = 0;
  std::map<std::string, Series> series_;       // "<spi> <direction>" -> its points
  std::map<std::string, std::size_t> last_seen_;  // series key -> sample number it was last in
  std::multimap<std::int64_t, bool> events_;    // time -> failed?
  std::set<std::pair<std::int64_t, std::string>> seen_events_;  // (time, kind|peer|reason), to count each once
  std::int64_t newest_event_ = 0;
};

}  // namespace ward::gui
