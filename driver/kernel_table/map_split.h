// How a key's layers are spread over the kernel maps that hold them.
//
// The kernel's concatenated-range maps (pipapo) match a key field by field, and the work of a
// lookup grows with the elements that still match after the first field. A Windows policy is
// "this host <-> peer X" in both directions, so with the source address first an outbound packet
// (source: this host) still matches about half the table after one field: a 10,000-filter table
// cost ~60 us of CPU per packet, also for the traffic it permits. Each element is therefore keyed
// by its rarer address first: an element whose source range more elements share than its
// destination range goes into maps keyed destination first. A layer's elements never overlap, so
// however they are spread over maps, a packet matches at most one of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "driver/kernel_table/kernel_layers.h"

namespace ward::driver {

enum class KeyOrder : std::uint8_t { SourceFirst, DestinationFirst };

struct MapSlice {
  std::size_t layer = 0;
  KeyOrder order = KeyOrder::SourceFirst;
  std::vector<const KernelElement*> elements;  // into the layers given; at most max_elements
};

// The maps for one key's layers, in lookup order: layer by layer, source-first maps before
// destination-first ones, each at most `max_elements` (at least 1) elements.
std::vector<MapSlice> split_into_maps(const std::vector<KernelLayer>& layers, std::size_t max_elements);

}  // namespace ward::driver
