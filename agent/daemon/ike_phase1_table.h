// wardd's half of kPhase1Table: the Phase1Table of the policy it enforces, which its IKE process
// answers phase1_for from (ikeproc/phase1_table.h) instead of calling kPhase1For for every main
// mode 1 / IKE_SA_INIT. Built from what PolicyBridge::phase1_for reads: the negotiate filters (local,
// peer, tunnel endpoint, rule), every filter id's rule, the default response rule, the shared
// terms (phase1_terms) and each rule's auth methods, made once here (AuthFactory::make does not
// depend on the peer) and named as kPhase1For names them (keys by handle). The .cpp also holds
// IkeProcess's side of it: remote_auth and send_phase1_table (ike_process.h).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "agent/ikebridge/ike_bridge.h"
#include "agent/ikeproc/wire.h"

namespace ward::agent::daemon {

// One auth method as the IKE process gets it (keys by handle), or why it cannot be used.
using MakeRemoteAuth = std::function<Expected<ikeproc::RemoteAuth, std::string>(const model::AuthMethod&)>;

ikeproc::Phase1Table phase1_table(const ikebridge::BridgeSnapshot& snapshot, const MakeRemoteAuth& make);

// The note for a snapshot: its table, or none when the table's encoding does not fit in a message
// of `max_body` bytes (the IKE process then asks wardd per main mode, as before).
ikeproc::Phase1TableNote phase1_table_note(const ikebridge::BridgeSnapshot& snapshot, const MakeRemoteAuth& make, std::size_t max_body);

}  // namespace ward::agent::daemon
