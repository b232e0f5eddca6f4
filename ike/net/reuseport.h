// Several IKE engines on one UDP port (IkeServiceOptions::engines): each engine has its own
// socket, all bound to the same address and port with SO_REUSEPORT, and a classic BPF program
// attached to the group (SO_ATTACH_REUSEPORT_CBPF) chooses the socket of each datagram by a hash
// of its source address alone. So every datagram of a peer (from any port: 500, 4500, a NAT's)
// reaches the same engine, and peer_engine() computes the same hash in userspace to route that
// peer's acquires there: the engines share no state.
//
// The kernel numbers a group's sockets in the order they were bound (a closed one's place is
// taken by the last): bind_group() binds them in one go, before any engine runs, and they all
// live as long as the service.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "ike/net/udp_socket.h"

namespace ward::ike::net {

// The engine (0 .. count-1) that owns `peer`: the same hash the BPF program computes from the
// datagram's IP header (IPv4 source; IPv6 source's four words XORed).
std::size_t peer_engine(const IpAddress& peer, std::size_t count) noexcept;

// `count` sockets on local:port, the first bound first; with count > 1 each has SO_REUSEPORT and
// the group the program choosing by peer_engine(). count 1: one plain socket (no SO_REUSEPORT).
// Either way a second service on the port fails to bind ("Address already in use"), as before.
Expected<std::vector<UdpSocket>, std::string> bind_group(const IpAddress& local, std::uint16_t port, std::size_t count);

}  // namespace ward::ike::net
