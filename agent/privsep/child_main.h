// The main of a sandboxed child of wardd, as its fetch and IKE processes spell it out: the channel
// on kChildChannelFd, the sandbox before any thread (capabilities and no_new_privs are per thread),
// the parent-death signal again (the uid change cleared it), "ok" or "error: why" as a `ready_type`
// note, then an Endpoint serving the parent until the channel closes or SIGTERM/SIGINT comes.
// Used by the key process (agent/daemon/key_child.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "agent/privsep/endpoint.h"
#include "agent/privsep/sandbox.h"

namespace ward::agent::privsep {

// `make_handler` runs inside the sandbox: nothing it builds ran with the parent's privileges.
// `before_sandbox`, when given, runs as root just before it (what the child must read while it
// still may, e.g. the Kerberos configuration); its error is the child's "error: why".
// Returns the exit status (0 when told to stop, 1 when the sandbox could not be entered).
// `attach`, when given, is handed the Endpoint once built (a handler that answers later, from
// another thread, replies through it). The process ends with _Exit: threads a handler started may
// still wait on the channel, and nothing in a sandboxed child needs tidying.
int run_child(const std::string& user, NetworkSockets sockets, std::uint32_t ready_type,
              const std::function<Endpoint::Handler()>& make_handler,
              const std::function<Expected<void, std::string>()>& before_sandbox = {},
              const std::function<void(Endpoint&)>& attach = {});

}  // namespace ward::agent::privsep
