// What wardd checks before it installs an SA or a soft association that its IKE process asks for
// (agent/daemon/ike_process.h, ward.conf [privsep] user). The IKE process parses the network; one
// that was taken over must not be able to install an SA the policy would never negotiate (open a
// path through a block or permit filter, weaken a filter action's methods, or name another peer),
// nor let traffic through in clear where the policy does not fall back to clear.
//
// An SA is admitted when, in the policy wardd enforces now:
//   - its filter id names a negotiate filter (or the default response rule, for an SA with a
//     dynamic selector) of a rule that does not fail closed;
//   - its peer is one that filter names: its tunnel endpoint in tunnel mode (and the SA's tunnel
//     remote is that endpoint), otherwise an address of the filter's remote side (the dynamic
//     selector's remote for the default response) in transport mode;
//   - its protocols and algorithms are one of the filter action's security methods as planned
//     (ESP cipher and integrity, AH integrity, AH+ESP together).
// A soft association is admitted when its filter negotiates, allows fallback to clear, and names
// the peer as above. The error says which of these failed, naming the SA, filter and peer.
#pragma once

#include <string>

#include "agent/ikebridge/ike_bridge.h"
#include "common/expected.h"
#include "driver/api/dataplane.h"

namespace ward::agent::ikebridge {

Expected<void, std::string> admit_sa(const BridgeSnapshot& policy, const driver::SaInstall& sa);
Expected<void, std::string> admit_soft_association(const BridgeSnapshot& policy, const driver::SoftAssociation& association);

}  // namespace ward::agent::ikebridge
