// SoftAssociations: the packet engine's soft associations (dataplane.h, SoftAssociation), by
// (filter id, peer). pass() is the packet path's question "may this packet go in clear?": yes while
// the pair has one, which the packet then keeps alive (its idle lifetime restarts). expire() ends
// the idle ones. A lookup takes a shared lock only when some association exists.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "driver/api/dataplane.h"

namespace ward::driver {

class SoftAssociations {
 public:
  using Key = std::pair<std::uint32_t, IpAddress>;  // (filter id, peer)
  using TimePoint = std::chrono::steady_clock::time_point;

  void add(const SoftAssociation& association, TimePoint now);
  bool erase(const Key& key);
  // Keeps only the associations whose filter `keep` accepts (a new table).
  template <class Keep>
  void retain(Keep keep) {
    std::unique_lock lock(mutex_);
    std::erase_if(entries_, [&](const auto& item) { return !keep(item.first.first); });
    count_.store(entries_.size(), std::memory_order_release);
  }
  bool pass(const Key& key, std::size_t bytes, TimePoint now);
  // Removes the associations idle for their whole lifetime; returns how many.
  std::size_t expire(TimePoint now);
  std::vector<SoftAssociationCounters> counters(TimePoint now) const;

 private:
  struct Entry {
    std::chrono::seconds idle_lifetime{0};
    TimePoint created{};
    std::atomic<TimePoint::rep> last_used{0};  // steady_clock ticks
    std::atomic<std::uint64_t> packets{0}, bytes{0};
  };

  mutable std::shared_mutex mutex_;
  std::map<Key, std::unique_ptr<Entry>> entries_;
  std::atomic<std::size_t> count_{0};
};

}  // namespace ward::driver
