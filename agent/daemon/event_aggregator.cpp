#include "agent/daemon/event_aggregator.h"

#include <algorithm>

namespace ward::agent::daemon {
namespace {

void log_line(Logger& log, const EventOccurrence& occurrence, std::vector<std::pair<std::string, std::string>> extra = {}) {
  std::vector<LogField> fields;
  fields.reserve(occurrence.fields.size() + extra.size());
  for (const auto& [key, value] : occurrence.fields) fields.emplace_back(key, value);
  for (const auto& [key, value] : extra) fields.emplace_back(key, value);
  log.log(occurrence.level, occurrence.log_event, fields);
}

}  // namespace

bool EventAggregator::record(EventOccurrence occurrence, std::uint64_t count) {
  count = std::max<std::uint64_t>(count, 1);
  const auto now = clock_.now();
  std::unique_lock lock(mutex_);
  counters_.recorded += count;
  auto it = tracked_.find(occurrence.key);
  if (it != tracked_.end() && now - it->second.window_start < kAggregationWindow) {
    counters_.aggregated += count;
    it->second.pending += count;
    it->second.last = now;
    recency_.splice(recency_.end(), recency_, it->second.recency);
    return false;
  }
  if (it != tracked_.end()) {  // the window is over: its repeats are written, a new row starts
    flush_one(it->second);
    recency_.erase(it->second.recency);
    tracked_.erase(it);
  }
  while (tracked_.size() >= kMaxAggregationKeys && !recency_.empty()) {
    auto oldest = tracked_.find(recency_.front());
    flush_one(oldest->second);
    tracked_.erase(oldest);
    recency_.pop_front();
    ++counters_.keys_evicted;
  }
  Tracked tracked;
  tracked.window_start = now;
  tracked.last = now;
  tracked.pending = count - 1;  // the first is stored; the rest are its repeats
  counters_.aggregated += count - 1;
  if (occurrence.store) {
    auto row = cache_.with([&](cache::Cache& c) {
      return c.record_event(occurrence.kind, occurrence.peer, occurrence.auth_method, occurrence.reason);
    });
    if (row) {
      tracked.row = *row;
    } else {
      log_.error("event-not-recorded", {{"kind", std::string(cache::name_of(occurrence.kind))}, {"why", row.error().message}});
    }
  }
  log_line(log_, occurrence);
  recency_.push_back(occurrence.key);
  tracked.recency = std::prev(recency_.end());
  tracked.first = std::move(occurrence);
  tracked_.emplace(tracked.first.key, std::move(tracked));
  return true;
}

void EventAggregator::flush_one(Tracked& tracked) {
  if (tracked.pending == 0) return;
  if (tracked.row != 0) {
    auto added = cache_.with([&](cache::Cache& c) { return c.add_repeats(tracked.row, tracked.pending, tracked.last); });
    if (!added) log_.error("event-not-recorded", {{"kind", std::string(cache::name_of(tracked.first.kind))}, {"why", added.error().message}});
  }
  log_line(log_, tracked.first, {{"more_like_this", std::to_string(tracked.pending)}});
  tracked.pending = 0;
}

void EventAggregator::flush() {
  std::lock_guard lock(mutex_);
  for (auto& [key, tracked] : tracked_) flush_one(tracked);
  // Keys whose window is over are forgotten: the map holds only what is recent.
  const auto now = clock_.now();
  for (auto it = recency_.begin(); it != recency_.end();) {
    auto found = tracked_.find(*it);
    if (now - found->second.window_start >= kAggregationWindow) {
      tracked_.erase(found);
      it = recency_.erase(it);
    } else {
      ++it;
    }
  }
}

AggregatorCounters EventAggregator::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::size_t EventAggregator::keys() const {
  std::lock_guard lock(mutex_);
  return tracked_.size();
}

}  // namespace ward::agent::daemon
