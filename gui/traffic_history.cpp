#include "gui/traffic_history.h"

namespace ward::gui {

namespace {

constexpr std::int64_t kMinute = 60;

std::uint64_t counter(const nlohmann::json& row, const char* key) {
  return row.contains(key) && row[key].is_number_unsigned() ? row[key].get<std::uint64_t>() : 0;
}

std::string text(const nlohmann::json& row, const char* key) {
  return row.contains(key) && row[key].is_string() ? row[key].get<std::string>() : std::string();
}

}  // namespace

void TrafficHistory::add_sample(std::int64_t at_ms, const nlohmann::json& sas) {
  ++samples_;
  if (sas.is_array()) {
    for (const auto& sa : sas) {
      if (!sa.is_object()) continue;
      const std::string key = text(sa, "spi") + " " + text(sa, "direction");
      auto& series = series_[key];
      if (series.label.isEmpty()) {
        std::string label = text(sa, "peer") + " " + text(sa, "direction") + " " + text(sa, "spi");
        if (!text(sa, "rule").empty()) label += " (" + text(sa, "rule") + ")";
        series.label = QString::fromStdString(label);
      }
      series.points.push_back({at_ms, counter(sa, "bytes"), counter(sa, "packets")});
      while (series.points.size() > max_samples_) series.points.pop_front();
      last_seen_[key] = samples_;
    }
  }
  for (auto it = last_seen_.begin(); it != last_seen_.end();) {
    if (samples_ - it->second >= max_samples_) {
      series_.erase(it->first);
      it = last_seen_.erase(it);
    } else {
      ++it;
    }
  }
}

void TrafficHistory::add_events(const nlohmann::json& events) {
  if (!events.is_array()) return;
  for (const auto& event : events) {
    if (!event.is_object() || !event.contains("time") || !event["time"].is_number_integer()) continue;
    const std::string kind = text(event, "kind");
    if (kind != "ike-success" && kind != "ike-failure") continue;
    const std::int64_t time = event["time"].get<std::int64_t>();
    if (!seen_events_.insert({time, kind + "|" + text(event, "peer") + "|" + text(event, "reason")}).second) {
      continue;
    }
    events_.emplace(time, kind == "ike-failure");
    if (time > newest_event_) newest_event_ = time;
  }
  const std::int64_t oldest = newest_event_ - std::chrono::duration_cast<std::chrono::seconds>(event_window_).count();
  events_.erase(events_.begin(), events_.lower_bound(oldest));
  seen_events_.erase(seen_events_.begin(), seen_events_.lower_bound({oldest, std::string()}));
}

std::vector<TrafficHistory::Bucket> TrafficHistory::per_minute(std::int64_t now, int minutes) const {
  std::vector<Bucket> out;
  const std::int64_t last = now - now % kMinute;
  for (int i = minutes - 1; i >= 0; --i) out.push_back({last - i * kMinute, 0, 0});
  if (out.empty()) return out;
  for (auto it = events_.lower_bound(out.front().minute); it != events_.end(); ++it) {
    const std::int64_t index = (it->first - out.front().minute) / kMinute;
    if (index < 0 || index >= static_cast<std::int64_t>(out.size())) continue;
    auto& bucket = out[static_cast<std::size_t>(index)];
    (it->second ? bucket.failed : bucket.negotiated) += 1;
  }
  return out;
}

}  // namespace ward::gui
