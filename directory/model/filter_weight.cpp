#include "directory/model/filter_weight.h"

#include <algorithm>
#include <bit>

namespace ward::model {

unsigned address_specificity(const IpPrefix& prefix) noexcept {
  return prefix.family() == IpFamily::V4 ? prefix.length() * 4 : prefix.length();
}

unsigned port_specificity(const PortRange& ports) noexcept {
  if (ports.is_any()) return 0;
  const std::uint32_t width = std::uint32_t{ports.last} - ports.first + 1;
  const unsigned width_bits = static_cast<unsigned>(std::bit_width(width - 1));  // ceil(log2(width))
  return std::max(1U, 16U - width_bits);
}

std::uint32_t filter_weight(const IpPrefix& source, const IpPrefix& destination, std::uint8_t protocol,
                            const PortRange& source_ports, const PortRange& destination_ports) noexcept {
  const std::uint32_t addresses = address_specificity(source) + address_specificity(destination);
  const std::uint32_t named_protocol = protocol != ip_protocol::kAny ? 1 : 0;
  const std::uint32_t ports = port_specificity(source_ports) + port_specificity(destination_ports);
  return (addresses << 8) | (named_protocol << 7) | ports;
}

unsigned action_tie_rank(ActionKind action) noexcept {
  switch (action) {
    case ActionKind::Block: return 0;
    case ActionKind::Negotiate: return 1;
    case ActionKind::Permit: return 2;
  }
  return 3;
}

}  // namespace ward::model
