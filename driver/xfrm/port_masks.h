// XFRM selectors match a port as (port & mask) == value, not a range: a range becomes the smallest
// set of value/mask pairs that covers exactly that range.
#pragma once

#include <cstdint>
#include <vector>

#include "common/ip.h"

namespace ward::driver::xfrm {

struct PortMask {
  std::uint16_t port = 0;
  std::uint16_t mask = 0;  // 0: any port
  friend bool operator==(const PortMask&, const PortMask&) = default;
};

std::vector<PortMask> port_range_to_masks(const PortRange& range);

}  // namespace ward::driver::xfrm
