// The boot policy: what wardd enforces while it has no policy at all (config::BootMode). It is an
// ordinary model::Policy, so `wardctl show policy`, `show filters` and `explain` show it like any
// other, and it compiles to the same filter table machinery.
//
// Block mode: one rule blocks everything (any <-> any, both families, whatever the host's
// addresses); more specific permit rules exempt what the host needs to get a policy, each
// mirrored so the replies pass (between this host's addresses and any, so that in and out differ):
//   - always: DHCP (UDP 68 -> 67), DHCPv6 (UDP 546 -> 547), ICMPv6 (neighbour discovery; IPv6 does
//     not work without it). IKE (UDP 500/4500) and loopback are exempt in the dataplane itself.
//   - a domain member (at least one [directory] uri): DNS (UDP and TCP 53), Kerberos (UDP and TCP
//     88) and each URI's LDAP port (389 for ldap://, 636 for ldaps://, or the URI's own port;
//     ldapi:// is local and needs none).
//   - every `boot_exemption`.
// Like Windows' boot exemptions these are stateless port filters: a reply direction is matched by
// port, not by connection state. That is why the list is short and the policy temporary: the
// first cached or fetched policy replaces it.
//
// Permit mode: no boot policy (an empty table, nothing blocked), as before wardd had one.
#pragma once

#include <optional>

#include "agent/config/config.h"
#include "directory/model/policy.h"

namespace ward::agent::daemon {

inline constexpr const char* kBootPolicyName = "Ward boot policy: block until a policy is applied";

// The boot policy for `config`, or nothing in permit mode.
std::optional<model::Policy> boot_policy(const config::Config& config);

// The TCP port an LDAP URI connects to (389, 636 or the one written), or nothing for ldapi://
// and URIs that do not parse.
std::optional<std::uint16_t> ldap_port_of(std::string_view uri);

}  // namespace ward::agent::daemon
