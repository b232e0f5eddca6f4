#include "driver/engine/soft_associations.h"

#include <memory>

namespace ward::driver {

void SoftAssociations::add(const SoftAssociation& association, TimePoint now) {
  std::unique_lock lock(mutex_);
  auto& entry = entries_[{association.filter_id, association.peer}];
  if (!entry) {
    entry = std::make_unique<Entry>();
    entry->created = now;
  }
  entry->idle_lifetime = association.idle_lifetime;
  entry->last_used.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  count_.store(entries_.size(), std::memory_order_release);
}

bool SoftAssociations::erase(const Key& key) {
  if (count_.load(std::memory_order_acquire) == 0) return false;
  std::unique_lock lock(mutex_);
  const bool erased = entries_.erase(key) > 0;
  count_.store(entries_.size(), std::memory_order_release);
  return erased;
}

bool SoftAssociations::pass(const Key& key, std::size_t bytes, TimePoint now) {
  if (count_.load(std::memory_order_acquire) == 0) return false;
  std::shared_lock lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  auto& entry = *it->second;
  const TimePoint last{TimePoint::duration(entry.last_used.load(std::memory_order_relaxed))};
  if (now - last >= entry.idle_lifetime) return false;  // expired; tick() removes it
  entry.last_used.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  entry.packets.fetch_add(1, std::memory_order_relaxed);
  entry.bytes.fetch_add(bytes, std::memory_order_relaxed);
  return true;
}

std::size_t SoftAssociations::expire(TimePoint now) {
  if (count_.load(std::memory_order_acquire) == 0) return 0;
  std::unique_lock lock(mutex_);
  const auto removed = std::erase_if(entries_, [&](const auto& item) {
    const TimePoint last{TimePoint::duration(item.second->last_used.load(std::memory_order_relaxed))};
    return now - last >= item.second->idle_lifetime;
  });
  count_.store(entries_.size(), std::memory_order_release);
  return removed;
}

std::vector<SoftAssociationCounters> SoftAssociations::counters(TimePoint now) const {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  std::vector<SoftAssociationCounters> out;
  std::shared_lock lock(mutex_);
  for (const auto& [key, entry] : entries_) {
    const TimePoint last{TimePoint::duration(entry->last_used.load(std::memory_order_relaxed))};
    const auto left = last + entry->idle_lifetime - now;
    out.push_back({key.first, key.second, entry->packets.load(), entry->bytes.load(), duration_cast<seconds>(now - entry->created),
                   left.count() > 0 ? duration_cast<seconds>(left) : seconds(0)});
  }
  return out;
}

}  // namespace ward::driver
