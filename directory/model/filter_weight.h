// Filter weight: how specific a filter is, so that the most specific matching filter wins.
//
// A weight is a 32-bit number compared as an integer; its fields, most significant first:
//   bits 8..16  address specificity: the prefix lengths of source and destination added up, with
//               IPv4 lengths scaled by 4 so both families use one 0..256 scale. A host address (/32)
//               beats a subnet, a longer prefix beats a shorter one, and any address counts 0.
//   bit  7      a named protocol beats any protocol.
//   bits 0..5   port specificity: for each of source and destination port, 16 for one port,
//               16 - ceil(log2(width)) (at least 1) for a range, 0 for any; added up.
// So addresses decide first, then the protocol, then the ports.
//
// Ties (equal weight) are broken by the action — block, then negotiate, then permit, the most
// restrictive first, as Windows does — and then by the rule's position in the policy and the filter's
// position in its list, so that the order is always the same for the same policy.
#pragma once

#include <cstdint>

#include "directory/model/ip.h"
#include "directory/model/policy.h"

namespace ward::model {

unsigned address_specificity(const IpPrefix& prefix) noexcept;  // 0..128
unsigned port_specificity(const PortRange& ports) noexcept;      // 0..16

std::uint32_t filter_weight(const IpPrefix& source, const IpPrefix& destination, std::uint8_t protocol,
                            const PortRange& source_ports, const PortRange& destination_ports) noexcept;

// Lower is stronger when weights tie.
unsigned action_tie_rank(ActionKind action) noexcept;

}  // namespace ward::model
