// DynamicFilters: the packet engine's dynamic filters (dataplane.h, DynamicSelector), one per
// selector, kept alive by the SAs that protect it.
//
// acquire(selector) returns the selector's filter (made on first use, id kFirstDynamicFilterId and
// up) and counts one more SA on it; release() counts one less and removes the filter with the last.
// The packet path reads an immutable snapshot (most specific filter first), swapped on every
// change, so a lookup never waits for a change. version() moves with every change: a backend that
// mirrors the filters into the kernel compares it to what it last installed.
//
// Thread safety: acquire/release under the owner's lock (the engine's SA lock); the lookups and
// filters() from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "driver/api/dataplane.h"
#include "driver/packet/packet_summary.h"

namespace ward::driver {

class DynamicFilters {
 public:
  struct Entry {
    Entry(std::uint32_t i, std::uint32_t origin, const DynamicSelector& s);
    const std::uint32_t id;
    const std::uint32_t filter_id;  // the SA's filter_id (the default response rule's)
    const DynamicSelector selector;
    const DriverFilter outbound;    // local -> remote, as the table's filters are written
    const DriverFilter inbound;     // remote -> local
    std::atomic<std::size_t> sas{0};  // changed under the owner's lock
    std::atomic<std::uint64_t> packets{0}, bytes{0};
  };
  using EntryPtr = std::shared_ptr<Entry>;

  DynamicFilters();

  EntryPtr acquire(const DynamicSelector& selector, std::uint32_t filter_id);
  void release(const EntryPtr& entry);

  // The filter that covers a packet this host sends / receives (counted), or null.
  EntryPtr match_outbound(const PacketSummary& packet, std::size_t length) const;
  EntryPtr match_inbound(const PacketSummary& packet, std::size_t length) const;

  // Both directions of every filter, most specific first (for the kernel rules of a backend).
  std::vector<DriverFilter> filters() const;
  std::vector<DynamicFilterCounters> counters() const;
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }
  bool empty() const noexcept;

 private:
  using Snapshot = std::vector<EntryPtr>;
  void publish();
  EntryPtr match(const PacketSummary& packet, std::size_t length, bool outbound) const;

  std::map<DynamicSelector, EntryPtr> by_selector_;
  std::uint32_t next_id_ = kFirstDynamicFilterId;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace ward::driver
