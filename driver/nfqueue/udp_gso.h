// UDP GSO for ESP in UDP (RFC 3948): the fast path's ESP packets of one superpacket are equal-sized
// datagrams between the same two endpoints, so with UDP encapsulation they can cross the kernel as
// one skb in each direction (driver/bench esp_udp_gso: 6x less kernel work per Gbit than one skb
// per ESP packet).
//   out: RawSender gives a run of such packets to a UDP socket as one sendmsg with UDP_SEGMENT
//        (udp_gso_run() finds the run); the kernel cuts it at the device, or the NIC does.
//   in:  the packet ring (PACKET_VNET_HDR) sees a GSO skb as one frame whose virtio-net header
//        gives the segment size; append_udp_datagrams() cuts it back into complete IP packets,
//        each with its own lengths and IPv4 header checksum, for the engine to open one by one.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.h"

namespace ward::driver {

inline constexpr std::size_t kUdpGsoMaxSegments = 64;     // UDP_MAX_SEGMENTS of kernels before 6.4
inline constexpr std::size_t kUdpGsoMaxPayload = 65507;   // IPv4 total length minus IPv4 and UDP headers (IPv6: taken as well)

// An IPv4 UDP packet without options that is not a fragment, whose UDP length matches: what a UDP
// socket can send from its payload alone.
bool plain_ipv4_udp(std::span<const std::byte> packet) noexcept;
// The same for IPv6: UDP right after the fixed header (no extension headers), lengths that match.
bool plain_ipv6_udp(std::span<const std::byte> packet) noexcept;
// plain_ipv4_udp or plain_ipv6_udp.
bool plain_udp(std::span<const std::byte> packet) noexcept;

// How many of packets[first...] (each plain_udp, of one IP version) can go as one UDP_SEGMENT send:
// the same addresses, ports, TOS and TTL (IPv6: traffic class, flow label and hop limit) as
// packets[first], every UDP payload as long as the first's except the last, which may be shorter;
// at most kUdpGsoMaxSegments and kUdpGsoMaxPayload bytes. At least 1.
std::size_t udp_gso_run(std::span<const std::span<const std::byte>> packets, std::size_t first) noexcept;

// Cuts `superpacket` (an IPv4 or IPv6 header, no IPv6 extension headers, then one UDP header over
// many datagrams' payloads, as a GSO skb carries them) into datagrams of `segment_size` payload
// bytes (the last may be shorter), each a complete IP packet appended to `scratch`; `pieces` gets
// each one's offset and length there. UDP checksums are zero (RFC 3948 3.1.2: not checked for ESP
// in UDP). Fails, naming what and the byte offset, on a malformed superpacket; `scratch` and
// `pieces` then keep what they had.
Expected<void, std::string> append_udp_datagrams(std::span<const std::byte> superpacket, std::size_t segment_size,
                                                 std::vector<std::byte>& scratch,
                                                 std::vector<std::pair<std::size_t, std::size_t>>& pieces);

}  // namespace ward::driver
