// The filter table as the kernel can hold it: nftables interval maps refuse overlapping elements,
// so the table's first-match order is kept by layers. A filter goes into the first layer after
// every earlier filter it overlaps; the kernel looks the packet up layer by layer and the first
// layer with a hit gives the table's first match (an earlier filter that also matches would
// overlap the hit and so sit in an earlier layer). Typical policies (specific filters before the
// general ones they carve out of) need a few layers; each layer is one map lookup.
//
// Two keys per family, as the engine's filter_match.h sees packets: TCP and UDP packets that carry
// their ports (source . destination . protocol . source port . destination port), and everything
// else, later fragments included (source . destination . protocol), which only filters for any
// port cover. TCP and UDP packets that miss every map of the first key go on to the second: so
// the first key holds the filters for ports and only those filters for any port that must win
// over one (they come before a filter for ports they overlap). A filter fully inside one earlier
// filter of the same key can never be the first match there and is left out (`shadowed`).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "driver/api/filter_table.h"

namespace ward::driver {

enum class KeyKind : std::uint8_t { Ported, Portless };

// One map element: a filter's box in one key. Ranges are inclusive; addresses in network byte
// order (IPv4 in the first four bytes).
struct KernelElement {
  std::uint32_t filter_index = 0;  // into the filter list planned
  FilterAction action = FilterAction::Block;
  std::array<std::uint8_t, 16> source_first{}, source_last{};
  std::array<std::uint8_t, 16> destination_first{}, destination_last{};
  std::uint8_t protocol_first = 0, protocol_last = 255;
  PortRange source_ports, destination_ports;  // any for the portless key
};

using KernelLayer = std::vector<KernelElement>;  // no two elements overlap

struct KernelPlan {
  // [family][key kind], layers in lookup order.
  std::array<std::array<std::vector<KernelLayer>, 2>, 2> layers;
  std::size_t shadowed = 0;  // elements left out: inside one earlier filter of the same key

  const std::vector<KernelLayer>& of(IpFamily family, KeyKind kind) const {
    return layers[static_cast<std::size_t>(family)][static_cast<std::size_t>(kind)];
  }
  std::size_t element_count() const;
};

// `filters` in precedence order. Filters whose source and destination families differ match
// nothing and are left out.
KernelPlan plan_kernel_layers(std::span<const DriverFilter> filters);

// What the kernel would decide for a packet key under `plan` (the first layer with a hit; for the
// ported key, the portless key after a miss): the element, or null. For tests: the plan must agree
// with the table's first match.
const KernelElement* kernel_lookup(const KernelPlan& plan, IpFamily family, KeyKind kind, const std::array<std::uint8_t, 16>& source,
                                   const std::array<std::uint8_t, 16>& destination, std::uint8_t protocol, std::uint16_t source_port,
                                   std::uint16_t destination_port);

}  // namespace ward::driver
