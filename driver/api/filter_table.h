// The filter table the agent hands to the driver: concrete filters in precedence order (the first
// that matches a packet applies), each with its action. The driver knows nothing of policies.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/ip.h"

namespace ward::driver {

enum class FilterAction : std::uint8_t { Permit, Block, Negotiate };

// Ids from here up belong to the driver's dynamic filters (dataplane.h, DynamicSelector); the
// agent's filter ids stay below.
inline constexpr std::uint32_t kFirstDynamicFilterId = 0x8000'0000U;

struct DriverFilter {
  // The agent's handle for counters, acquires and SAs. A mirrored filter and its generated reply
  // direction share one id: the SA negotiated for the filter protects both directions.
  std::uint32_t id = 0;
  IpPrefix source;
  IpPrefix destination;
  std::uint8_t protocol = 0;  // 0: any
  PortRange source_ports;
  PortRange destination_ports;
  FilterAction action = FilterAction::Block;
  std::uint32_t weight = 0;
  std::optional<IpAddress> tunnel_endpoint;  // negotiate in tunnel mode to this gateway
  // Negotiate only: "Accept unsecured communication, but always respond using IPsec" (Windows'
  // inbound pass-through). Clear inbound traffic the filter covers is accepted and counted instead
  // of dropped; what this host sends back still needs an SA, so the reply starts IKE.
  bool accept_unsecured = false;

  friend bool operator==(const DriverFilter&, const DriverFilter&) = default;
};

struct FilterTable {
  std::vector<DriverFilter> filters;  // precedence order
};

}  // namespace ward::driver
