#include "driver/engine/dynamic_filters.h"

#include <algorithm>

#include "driver/engine/filter_match.h"

namespace ward::driver {

namespace {

ward::PortRange port_range(std::uint16_t port) { return port == 0 ? ward::PortRange::any() : ward::PortRange::single(port); }

// Host to host always; a named protocol, then named ports, make a dynamic filter more specific.
std::uint32_t specificity(const DynamicSelector& s) {
  constexpr std::uint32_t kProtocol = 4, kPort = 1;
  return (s.protocol != 0 ? kProtocol : 0) + (s.local_port != 0 ? kPort : 0) + (s.remote_port != 0 ? kPort : 0);
}

DriverFilter direction_of(std::uint32_t id, const DynamicSelector& s, bool outbound) {
  DriverFilter f;
  f.id = id;
  f.source = IpPrefix::host(outbound ? s.local : s.remote);
  f.destination = IpPrefix::host(outbound ? s.remote : s.local);
  f.protocol = s.protocol;
  f.source_ports = port_range(outbound ? s.local_port : s.remote_port);
  f.destination_ports = port_range(outbound ? s.remote_port : s.local_port);
  f.action = FilterAction::Negotiate;
  f.weight = specificity(s);
  return f;
}

}  // namespace

DynamicFilters::Entry::Entry(std::uint32_t i, std::uint32_t origin, const DynamicSelector& s)
    : id(i), filter_id(origin), selector(s), outbound(direction_of(i, s, true)), inbound(direction_of(i, s, false)) {}

DynamicFilters::DynamicFilters() { snapshot_.store(std::make_shared<const Snapshot>()); }

DynamicFilters::EntryPtr DynamicFilters::acquire(const DynamicSelector& selector, std::uint32_t filter_id) {
  auto& slot = by_selector_[selector];
  if (!slot) {
    slot = std::make_shared<Entry>(next_id_, filter_id, selector);
    next_id_ = next_id_ == UINT32_MAX ? kFirstDynamicFilterId : next_id_ + 1;
    ++slot->sas;
    publish();
    return slot;
  }
  ++slot->sas;
  return slot;
}

void DynamicFilters::release(const EntryPtr& entry) {
  if (!entry || entry->sas.load() == 0) return;
  if (--entry->sas > 0) return;
  const auto it = by_selector_.find(entry->selector);
  if (it != by_selector_.end() && it->second == entry) by_selector_.erase(it);
  publish();
}

void DynamicFilters::publish() {
  auto next = std::make_shared<Snapshot>();
  for (const auto& [selector, entry] : by_selector_) next->push_back(entry);
  std::stable_sort(next->begin(), next->end(), [](const EntryPtr& a, const EntryPtr& b) {
    return specificity(a->selector) > specificity(b->selector);
  });
  snapshot_.store(std::move(next), std::memory_order_release);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

bool DynamicFilters::empty() const noexcept { return snapshot_.load(std::memory_order_acquire)->empty(); }

DynamicFilters::EntryPtr DynamicFilters::match(const PacketSummary& packet, std::size_t length, bool outbound) const {
  const auto snapshot = snapshot_.load(std::memory_order_acquire);
  for (const auto& entry : *snapshot) {
    if (!filter_matches(outbound ? entry->outbound : entry->inbound, packet)) continue;
    entry->packets.fetch_add(1, std::memory_order_relaxed);
    entry->bytes.fetch_add(length, std::memory_order_relaxed);
    return entry;
  }
  return nullptr;
}

DynamicFilters::EntryPtr DynamicFilters::match_outbound(const PacketSummary& packet, std::size_t length) const {
  return match(packet, length, true);
}

DynamicFilters::EntryPtr DynamicFilters::match_inbound(const PacketSummary& packet, std::size_t length) const {
  return match(packet, length, false);
}

std::vector<DriverFilter> DynamicFilters::filters() const {
  std::vector<DriverFilter> out;
  for (const auto& entry : *snapshot_.load(std::memory_order_acquire)) {
    out.push_back(entry->outbound);
    out.push_back(entry->inbound);
  }
  return out;
}

std::vector<DynamicFilterCounters> DynamicFilters::counters() const {
  std::vector<DynamicFilterCounters> out;
  for (const auto& entry : *snapshot_.load(std::memory_order_acquire)) {
    out.push_back({entry->id, entry->filter_id, entry->selector, entry->sas, entry->packets.load(), entry->bytes.load()});
  }
  return out;
}

}  // namespace ward::driver
