// Whether a driver filter's selector covers a packet: the reference the classifier must agree
// with, and the match for the few filters that are scanned (dynamic filters, fragments).
#pragma once

#include "driver/api/filter_table.h"
#include "driver/packet/packet_summary.h"

namespace ward::driver {

// Later fragments carry no ports: only filters for any port cover them.
inline bool filter_matches(const DriverFilter& filter, const PacketSummary& packet) noexcept {
  if (!filter.source.contains(packet.source) || !filter.destination.contains(packet.destination)) return false;
  if (filter.protocol != 0 && filter.protocol != packet.protocol) return false;
  if (!packet.source_port || !packet.destination_port) return filter.source_ports.is_any() && filter.destination_ports.is_any();
  return filter.source_ports.contains(*packet.source_port) && filter.destination_ports.contains(*packet.destination_port);
}

}  // namespace ward::driver
