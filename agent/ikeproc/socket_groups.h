// The IKE process's sockets as wardd sends them (kSocket): a group per address and port, one socket
// per engine, each socket in a note of its own, in the group's order (SocketNote's engine of
// engines). The first socket of a group starts it (replacing one of the address and port that never
// started); each other must fill the next empty place of the group wardd started, or it is refused
// and spoils the group: its service then does not start, with the reason (a note has no answer).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/ikeproc/wire.h"
#include "agent/privsep/channel.h"
#include "common/expected.h"
#include "ike/net/udp_socket.h"

namespace ward::agent::ikeproc {

class SocketGroups {
 public:
  Expected<void, std::string> add(const SocketNote& note, privsep::OwnedFd fd);
  // The whole group of address:port in its order, given up by this; or why not.
  Expected<std::vector<ike::net::UdpSocket>, std::string> take(const IpAddress& address, std::uint16_t port);

 private:
  struct Group {
    std::vector<privsep::OwnedFd> sockets;   // in the group's order; empty places still to come
    std::string refused;                     // why a socket of it was refused
  };
  std::map<std::pair<std::string, std::uint16_t>, Group> groups_;
};

}  // namespace ward::agent::ikeproc
