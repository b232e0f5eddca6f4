// The filter table the agent hands to the driver: concrete filters in precedence order (the first
// that matches a packet applies), each with its action. The driver knows nothing of policies.
#pragma once

#include <cstdint>
#include <vector>

#include "common/ip.h"

namespace ward::driver {

enum class FilterAction : std::uint8_t { Permit, Block, Negotiate };

struct DriverFilter {
  std::uint32_t id = 0;  // the agent's handle for counters and acquires
  IpPrefix source;
  IpPrefix destination;
  std::uint8_t protocol = 0;  // 0: any
  PortRange source_ports;
  PortRange destination_ports;
  FilterAction action = FilterAction::Block;
  std::uint32_t weight = 0;

  friend bool operator==(const DriverFilter&, const DriverFilter&) = default;
};

struct FilterTable {
  std::vector<DriverFilter> filters;  // precedence order
};

}  // namespace ward::driver
