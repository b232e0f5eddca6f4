// The IKE process: `wardd --privsep-child ike --user USER`, started by wardd's IkeProcess
// (agent/daemon/ike_process.h) under a privsep Supervisor, its channel on descriptor 3.
//
//   1. enters the sandbox as USER before any thread exists (capabilities, no_new_privs and the
//      seccomp filter are per thread; the filter is synchronised to all threads anyway)
//   2. receives its bound UDP sockets (a group per address and port: one per engine) and the
//      services to run (kSocket, kStart)
//   3. runs one ike::service::IkeService per address, with an engine per socket of its groups, over a Dataplane and a PolicyLookup that are
//      calls to the parent: SAs are installed by the parent, which owns the dataplane, and phase 1
//      policies come with preshared keys named by handle, SKEYID computed by the parent (kSkeyid)
//   4. until the channel closes (the parent is gone) or SIGTERM: then its SAs are deleted and the
//      peers told, as an in-process IKE does at shutdown, and it exits 0.
#pragma once

#include <string>

namespace ward::agent::ikeproc {

int run_ike_child(const std::string& user);

}  // namespace ward::agent::ikeproc
