// One iperf3 TCP test between two namespaces, each against a server of its own.
#pragma once

#include <cstdint>
#include <string>

#include "tests/netns/netns.h"

namespace ward::testing {

// Starts a one-off iperf3 server (`-s -1`) in `server` on `port`, waits until it listens, runs
// `iperf3 -c <address> -p <port> -J <client_options>` in `client` and returns what the client
// printed (its JSON, or its error); the server is stopped by its pid if it still runs.
//
// Not one persistent server for several tests: iperf3 (3.12 at least) closes and reopens its
// listener after every test, and a client whose handshake completes in that moment is reset
// ("unable to receive control message: Connection reset by peer"), one that comes earlier is
// told "the server is busy". Each test gets its own port, so a server that is still finishing
// never meets the next client.
std::string iperf3_once(const Netns& server, const Netns& client, const std::string& address, std::uint16_t port,
                        const std::string& client_options);

}  // namespace ward::testing
