// Filter tables shaped like a Windows policy's, for apply-time and memory figures: mirrored pairs
// (this host -> peer, peer -> this host), most specific first as the agent orders them. Per pair,
// by its number: a host or (every tenth) a /24 of peers; TCP to one of 50 services, UDP, or any
// protocol; negotiate (7 in 10), permit (2 in 10) or block (1 in 10). Two general filters close the
// table: negotiate everything with 10.0.0.0/8 and permit ICMP (which the earlier filters overlap).
#pragma once

#include <cstdint>

#include "driver/api/filter_table.h"

namespace ward::driver::bench {

inline FilterTable windows_like_table(std::size_t filters, const IpAddress& self = IpAddress::v4(0x0A000001)) {
  FilterTable table;
  const auto me = IpPrefix::host(self);
  const std::size_t pairs = filters / 2;
  for (std::size_t i = 0; i < pairs && table.filters.size() + 4 < filters; ++i) {
    const auto index = static_cast<std::uint32_t>(i);
    const std::uint32_t peer_address = 0x0A000000U | ((index / 250 % 250 + 1) << 16) | ((index % 250) << 8) | 2U;
    const auto peer = i % 10 == 9 ? *IpPrefix::make(IpAddress::v4(peer_address & 0xFFFFFF00U), 24) : *IpPrefix::make(IpAddress::v4(peer_address), 32);
    std::uint8_t protocol = 0;
    PortRange service = PortRange::any();
    if (i % 3 == 0) {
      protocol = 6;
      service = PortRange::single(static_cast<std::uint16_t>(1000 + i % 50));
    } else if (i % 3 == 1) {
      protocol = 17;
    }
    const FilterAction action = i % 10 < 7 ? FilterAction::Negotiate : (i % 10 < 9 ? FilterAction::Permit : FilterAction::Block);
    table.filters.push_back({index + 1, me, peer, protocol, PortRange::any(), service, action, 0, {}});
    table.filters.push_back({index + 1, peer, me, protocol, service, PortRange::any(), action, 0, {}});
  }
  const auto network = *IpPrefix::make(IpAddress::v4(0x0A000000), 8);
  const auto last = static_cast<std::uint32_t>(pairs + 1);
  table.filters.push_back({last, me, network, 1, PortRange::any(), PortRange::any(), FilterAction::Permit, 0, {}});
  table.filters.push_back({last, network, me, 1, PortRange::any(), PortRange::any(), FilterAction::Permit, 0, {}});
  table.filters.push_back({last + 1, me, network, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 0, {}});
  table.filters.push_back({last + 1, network, me, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 0, {}});
  return table;
}

}  // namespace ward::driver::bench
