#include "driver/kernel_table/map_split.h"

#include <algorithm>
#include <map>
#include <utility>

namespace ward::driver {

namespace {

using Range = std::pair<std::array<std::uint8_t, 16>, std::array<std::uint8_t, 16>>;

Range source_of(const KernelElement& e) { return {e.source_first, e.source_last}; }
Range destination_of(const KernelElement& e) { return {e.destination_first, e.destination_last}; }

}  // namespace

std::vector<MapSlice> split_into_maps(const std::vector<KernelLayer>& layers, std::size_t max_elements) {
  max_elements = std::max<std::size_t>(1, max_elements);
  std::map<Range, std::size_t> sources, destinations;  // elements per exact range, over every layer
  for (const auto& layer : layers) {
    for (const auto& element : layer) {
      ++sources[source_of(element)];
      ++destinations[destination_of(element)];
    }
  }
  std::vector<MapSlice> maps;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    std::vector<const KernelElement*> by_order[2];
    for (const auto& element : layers[k]) {
      const bool destination_first = sources[source_of(element)] > destinations[destination_of(element)];
      by_order[destination_first ? 1 : 0].push_back(&element);
    }
    for (const auto order : {KeyOrder::SourceFirst, KeyOrder::DestinationFirst}) {
      const auto& elements = by_order[static_cast<std::size_t>(order)];
      for (std::size_t first = 0; first < elements.size(); first += max_elements) {
        const auto end = elements.begin() + static_cast<std::ptrdiff_t>(std::min(first + max_elements, elements.size()));
        maps.push_back({k, order, {elements.begin() + static_cast<std::ptrdiff_t>(first), end}});
      }
    }
  }
  return maps;
}

}  // namespace ward::driver
