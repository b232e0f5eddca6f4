// The host's own addresses: what "my address" means when the policy is compiled.
//
// Enumerated with getifaddrs(): every IPv4 and IPv6 address on an interface that is up, loopback
// excepted (the dataplanes exempt lo). Address changes are found by polling (kAddressPollInterval
// in main): one getifaddrs() every few seconds costs nothing, needs no extra netlink socket or
// thread, and a DHCP renumbering is rare enough that seconds of latency are fine.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"

namespace ward::agent::daemon {

// Sorted and without duplicates, so two enumerations compare equal when nothing changed.
Expected<std::vector<IpAddress>, std::string> host_addresses();

std::string addresses_text(const std::vector<IpAddress>& addresses);  // "10.0.0.1,fe80::1"

}  // namespace ward::agent::daemon
