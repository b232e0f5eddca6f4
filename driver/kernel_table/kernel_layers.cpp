#include "driver/kernel_table/kernel_layers.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace ward::driver {

namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;

// An address as two big-endian 64-bit words, compared lexicographically.
struct Wide {
  std::uint64_t high = 0, low = 0;
  friend bool operator<=(const Wide& a, const Wide& b) noexcept { return a.high < b.high || (a.high == b.high && a.low <= b.low); }
};

Wide wide_of(const std::array<std::uint8_t, 16>& bytes) {
  Wide w;
  for (std::size_t i = 0; i < 8; ++i) {
    w.high = (w.high << 8) | bytes[i];
    w.low = (w.low << 8) | bytes[i + 8];
  }
  return w;
}

struct Box {
  Wide source_first, source_last, destination_first, destination_last;
  std::uint16_t source_port_first, source_port_last, destination_port_first, destination_port_last;
  std::uint8_t protocol_first, protocol_last;
};

bool overlap(const Box& a, const Box& b) noexcept {
  return a.protocol_first <= b.protocol_last && b.protocol_first <= a.protocol_last &&
         a.destination_port_first <= b.destination_port_last && b.destination_port_first <= a.destination_port_last &&
         a.source_port_first <= b.source_port_last && b.source_port_first <= a.source_port_last &&
         a.destination_first <= b.destination_last && b.destination_first <= a.destination_last &&
         a.source_first <= b.source_last && b.source_first <= a.source_last;
}

bool contains(const Box& outer, const Box& inner) noexcept {
  return outer.protocol_first <= inner.protocol_first && inner.protocol_last <= outer.protocol_last &&
         outer.destination_port_first <= inner.destination_port_first && inner.destination_port_last <= outer.destination_port_last &&
         outer.source_port_first <= inner.source_port_first && inner.source_port_last <= outer.source_port_last &&
         outer.destination_first <= inner.destination_first && inner.destination_last <= outer.destination_last &&
         outer.source_first <= inner.source_first && inner.source_last <= outer.source_last;
}

void prefix_range(const IpPrefix& prefix, std::array<std::uint8_t, 16>& first, std::array<std::uint8_t, 16>& last) {
  first = prefix.address().bytes();
  last = first;
  const unsigned width = prefix.address().bit_width();
  for (unsigned bit = prefix.length(); bit < width; ++bit) last[bit / 8] |= static_cast<std::uint8_t>(0x80U >> (bit % 8));
}

Box box_of(const KernelElement& e) {
  return {wide_of(e.source_first),     wide_of(e.source_last),        wide_of(e.destination_first),     wide_of(e.destination_last),
          e.source_ports.first,        e.source_ports.last,           e.destination_ports.first,        e.destination_ports.last,
          e.protocol_first,            e.protocol_last};
}

// The element of `filter` in `kind`, or false when no packet of that key can match it.
bool element_of(const DriverFilter& filter, std::uint32_t index, KeyKind kind, KernelElement& out) {
  const bool any_ports = filter.source_ports.is_any() && filter.destination_ports.is_any();
  if (kind == KeyKind::Ported) {
    // Only TCP and UDP packets have this key; a filter for another protocol never sees one.
    if (filter.protocol != 0 && filter.protocol != kTcp && filter.protocol != kUdp) return false;
  } else if (!any_ports) {
    return false;  // a packet without ports is covered by filters for any port only
  }
  out.filter_index = index;
  out.action = filter.action;
  prefix_range(filter.source, out.source_first, out.source_last);
  prefix_range(filter.destination, out.destination_first, out.destination_last);
  out.protocol_first = filter.protocol;
  out.protocol_last = filter.protocol == 0 ? 255 : filter.protocol;
  if (kind == KeyKind::Ported) {
    out.source_ports = filter.source_ports;
    out.destination_ports = filter.destination_ports;
  }
  return true;
}

// Candidate lookup for the overlap test: elements whose source (destination) prefix is at least
// kBucketBits long are indexed by those leading bits, the others are "wide". An element can only
// overlap the earlier ones in its own bucket or in the wide list, so a Windows-shaped table (this
// host -> one peer, peer -> this host) compares each filter with a handful, not with all before it.
class OverlapIndex {
 public:
  explicit OverlapIndex(IpFamily family) : bits_(family == IpFamily::V4 ? 16 : 48) {}

  // Calls `each(index)` for every element added so far that may overlap `box`, by the side that
  // gives fewer candidates (all elements when both sides of `box` are wide).
  template <typename Each>
  void for_candidates(const Box& box, unsigned source_length, unsigned destination_length, Each&& each) const {
    const std::vector<std::uint32_t>* narrow[2] = {nullptr, nullptr};
    std::size_t cost[2] = {SIZE_MAX, SIZE_MAX};
    for (int side = 0; side < 2; ++side) {
      const unsigned length = side == 0 ? source_length : destination_length;
      if (length < bits_) continue;
      const auto it = sides_[side].buckets.find(bucket_of(side == 0 ? box.source_first : box.destination_first));
      narrow[side] = it == sides_[side].buckets.end() ? nullptr : &it->second;
      cost[side] = (narrow[side] ? narrow[side]->size() : 0) + sides_[side].wide.size();
    }
    if (cost[0] == SIZE_MAX && cost[1] == SIZE_MAX) {
      for (const auto i : all_) each(i);
      return;
    }
    const int side = cost[0] <= cost[1] ? 0 : 1;
    if (narrow[side]) {
      for (const auto i : *narrow[side]) each(i);
    }
    for (const auto i : sides_[side].wide) each(i);
  }

  void add(std::uint32_t index, const Box& box, unsigned source_length, unsigned destination_length) {
    all_.push_back(index);
    for (int side = 0; side < 2; ++side) {
      const unsigned length = side == 0 ? source_length : destination_length;
      if (length < bits_) {
        sides_[side].wide.push_back(index);
      } else {
        sides_[side].buckets[bucket_of(side == 0 ? box.source_first : box.destination_first)].push_back(index);
      }
    }
  }

 private:
  std::uint64_t bucket_of(const Wide& address) const noexcept { return address.high >> (64 - bits_); }

  struct Side {
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> buckets;
    std::vector<std::uint32_t> wide;
  };
  unsigned bits_;
  Side sides_[2];
  std::vector<std::uint32_t> all_;
};

void plan_one(std::span<const DriverFilter> filters, IpFamily family, KeyKind kind, std::vector<KernelLayer>& layers, std::size_t& shadowed) {
  std::vector<KernelElement> elements;
  std::vector<std::pair<unsigned, unsigned>> lengths;
  std::vector<bool> any_port;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const auto& f = filters[i];
    if (f.source.family() != family || f.destination.family() != family) continue;
    KernelElement element;
    if (element_of(f, static_cast<std::uint32_t>(i), kind, element)) {
      elements.push_back(element);
      lengths.emplace_back(f.source.length(), f.destination.length());
      any_port.push_back(f.source_ports.is_any() && f.destination_ports.is_any());
    }
  }
  if (kind == KeyKind::Ported) {
    // TCP and UDP packets that miss every map of this key go on to the portless key, which holds
    // every filter for any port. So a filter for any port needs to be here only where it must win
    // over a filter for ports: when it comes before one it overlaps (or before another such).
    std::vector<bool> needed(elements.size(), false);
    OverlapIndex later(family);
    for (std::size_t e = elements.size(); e-- > 0;) {
      const Box box = box_of(elements[e]);
      bool overlaps_later = false;
      if (any_port[e]) {
        later.for_candidates(box, lengths[e].first, lengths[e].second, [&](std::uint32_t a) {
          overlaps_later = overlaps_later || overlap(box_of(elements[a]), box);
        });
      }
      needed[e] = !any_port[e] || overlaps_later;
      if (needed[e]) later.add(static_cast<std::uint32_t>(e), box, lengths[e].first, lengths[e].second);
    }
    std::size_t kept = 0;
    for (std::size_t e = 0; e < elements.size(); ++e) {
      if (!needed[e]) continue;
      elements[kept] = elements[e];
      lengths[kept] = lengths[e];
      ++kept;
    }
    elements.resize(kept);
    lengths.resize(kept);
  }
  std::vector<Box> boxes;
  boxes.reserve(elements.size());
  for (const auto& e : elements) boxes.push_back(box_of(e));
  std::vector<std::uint32_t> layer_of(elements.size(), 0);  // 0: shadowed
  OverlapIndex index(family);
  for (std::size_t b = 0; b < elements.size(); ++b) {
    std::uint32_t layer = 1;
    bool hidden = false;
    index.for_candidates(boxes[b], lengths[b].first, lengths[b].second, [&](std::uint32_t a) {
      if (hidden || layer_of[a] == 0 || !overlap(boxes[a], boxes[b])) return;
      if (contains(boxes[a], boxes[b])) {
        hidden = true;
        return;
      }
      layer = std::max(layer, layer_of[a] + 1);
    });
    if (hidden) {
      ++shadowed;
      continue;
    }
    layer_of[b] = layer;
    index.add(static_cast<std::uint32_t>(b), boxes[b], lengths[b].first, lengths[b].second);
    if (layers.size() < layer) layers.resize(layer);
    layers[layer - 1].push_back(elements[b]);
  }
}

bool in_range(const std::array<std::uint8_t, 16>& value, const std::array<std::uint8_t, 16>& first, const std::array<std::uint8_t, 16>& last) {
  return first <= value && value <= last;
}

const KernelElement* lookup_key(const KernelPlan& plan, IpFamily family, KeyKind kind, const std::array<std::uint8_t, 16>& source,
                                const std::array<std::uint8_t, 16>& destination, std::uint8_t protocol, std::uint16_t source_port,
                                std::uint16_t destination_port);

}  // namespace

std::size_t KernelPlan::element_count() const {
  std::size_t count = 0;
  for (const auto& family : layers) {
    for (const auto& kind : family) {
      for (const auto& layer : kind) count += layer.size();
    }
  }
  return count;
}

KernelPlan plan_kernel_layers(std::span<const DriverFilter> filters) {
  KernelPlan plan;
  for (const auto family : {IpFamily::V4, IpFamily::V6}) {
    for (const auto kind : {KeyKind::Ported, KeyKind::Portless}) {
      plan_one(filters, family, kind, plan.layers[static_cast<std::size_t>(family)][static_cast<std::size_t>(kind)], plan.shadowed);
    }
  }
  return plan;
}

const KernelElement* kernel_lookup(const KernelPlan& plan, IpFamily family, KeyKind kind, const std::array<std::uint8_t, 16>& source,
                                   const std::array<std::uint8_t, 16>& destination, std::uint8_t protocol, std::uint16_t source_port,
                                   std::uint16_t destination_port) {
  if (kind == KeyKind::Ported) {
    if (const auto* hit = lookup_key(plan, family, kind, source, destination, protocol, source_port, destination_port)) return hit;
    kind = KeyKind::Portless;  // as the kernel's ported chains end: on to the portless maps
  }
  return lookup_key(plan, family, kind, source, destination, protocol, source_port, destination_port);
}

namespace {

const KernelElement* lookup_key(const KernelPlan& plan, IpFamily family, KeyKind kind, const std::array<std::uint8_t, 16>& source,
                                const std::array<std::uint8_t, 16>& destination, std::uint8_t protocol, std::uint16_t source_port,
                                std::uint16_t destination_port) {
  for (const auto& layer : plan.of(family, kind)) {
    const KernelElement* hit = nullptr;
    for (const auto& e : layer) {
      if (!in_range(source, e.source_first, e.source_last) || !in_range(destination, e.destination_first, e.destination_last)) continue;
      if (protocol < e.protocol_first || protocol > e.protocol_last) continue;
      if (kind == KeyKind::Ported && (!e.source_ports.contains(source_port) || !e.destination_ports.contains(destination_port))) continue;
      if (hit) return nullptr;  // two elements of one layer overlap: the kernel would refuse the map
      hit = &e;
    }
    if (hit) return hit;
  }
  return nullptr;
}

}  // namespace

}  // namespace ward::driver
