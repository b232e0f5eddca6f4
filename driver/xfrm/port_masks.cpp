#include "driver/xfrm/port_masks.h"

namespace ward::driver::xfrm {

std::vector<PortMask> port_range_to_masks(const PortRange& range) {
  if (range.is_any()) return {PortMask{0, 0}};
  std::vector<PortMask> out;
  std::uint32_t start = range.first;
  const std::uint32_t end = range.last;
  while (start <= end) {
    // The largest aligned block starting at `start` that does not pass `end`.
    std::uint32_t size = start == 0 ? 0x10000 : (start & (~start + 1));
    while (start + size - 1 > end) size >>= 1;
    out.push_back({static_cast<std::uint16_t>(start), static_cast<std::uint16_t>(~(size - 1))});
    start += size;
  }
  return out;
}

}  // namespace ward::driver::xfrm
