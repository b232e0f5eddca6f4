// IPv4 / IPv6 header parsing and building for the ESP/AH transforms. Parsing goes through
// ByteReader only; failures are DropReasons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/byte_writer.h"
#include "common/expected.h"
#include "driver/crypto/drop_reason.h"
#include "driver/crypto/sa_params.h"

namespace ward::driver::crypto {

enum class Fragments : std::uint8_t { Reject, Allow };

// What the transforms need to know about one IP packet. Offsets are from the packet's start.
struct IpPacketInfo {
  IpVersion version = IpVersion::V4;
  // Bytes that stay in front of an ESP/AH header in transport mode: the IPv4 header with its
  // options, or the IPv6 header plus any Hop-by-Hop and Routing headers.
  std::size_t header_length = 0;
  std::size_t protocol_field_offset = 0;  // the byte holding `protocol` (IPv4 protocol / last next header)
  std::uint8_t protocol = 0;              // what follows header_length
  std::size_t total_length = 0;           // from the header; bytes beyond it (link padding) are ignored
  std::uint8_t traffic_class = 0;         // IPv4 TOS / IPv6 traffic class
  bool has_options = false;               // IPv4 options or IPv6 extension headers present
  IpAddress source;
  IpAddress destination;
};

// Parses and checks an IP header: version, lengths, the IPv4 header checksum; rejects fragments
// unless allowed (ESP/AH need reassembled packets; a tunnel may carry fragments inside).
Expected<IpPacketInfo, DropReason> parse_ip_packet(std::span<const std::byte> packet,
                                                   Fragments fragments = Fragments::Reject) noexcept;

// RFC 1071 one's complement sum, folded, not inverted; `initial` continues an earlier sum.
std::uint32_t ones_complement_sum(std::span<const std::byte> bytes, std::uint32_t initial = 0) noexcept;
std::uint16_t internet_checksum(std::span<const std::byte> bytes, std::uint32_t initial = 0) noexcept;

// Sets the total length (IPv4) or payload length (IPv6) of the packet in `writer` (starting at
// offset 0) to match what has been written, and recomputes the IPv4 header checksum.
// PacketTooLarge if the length field cannot hold it.
Expected<void, DropReason> finish_ip_header(ByteWriter& writer, IpVersion version, std::size_t ipv4_header_length);

// Writes an outer header for tunnel mode: outbound from endpoints.local to endpoints.remote.
// Lengths and checksum are left for finish_ip_header.
void write_outer_header(ByteWriter& writer, const TunnelEndpoints& endpoints, std::uint8_t traffic_class,
                        std::uint8_t protocol, std::uint16_t ipv4_identification);

// UDP checksum over an IPv6 pseudo-header (RFC 8200 8.1) for the UDP datagram in `udp`.
std::uint16_t udp_checksum_ipv6(const IpAddress& source, const IpAddress& destination,
                                std::span<const std::byte> udp) noexcept;

// The TCP or UDP checksum of `segment` (header and data, as `protocol` between `source` and
// `destination`) over the IPv4 (RFC 793 3.1, RFC 768) or IPv6 (RFC 8200 8.1) pseudo-header,
// computed as if the segment's own checksum field were zero. A UDP result of zero is returned as
// all ones (zero means "no checksum"). Needs a segment at least as long as its header.
std::uint16_t transport_checksum(const IpAddress& source, const IpAddress& destination, std::uint8_t protocol,
                                 std::span<const std::byte> segment) noexcept;

// What refresh_transport_checksum() did.
enum class ChecksumRefresh : std::uint8_t {
  Recomputed,     // the TCP/UDP checksum now matches the packet's addresses
  ZeroUdpIpv4,    // an IPv4 UDP datagram without checksum (0): left at 0 (RFC 768)
  NotApplicable,  // not TCP/UDP, too short for its header, an inconsistent UDP length, or an IPv6
                  // packet with extension headers (a Routing header would change the pseudo-header)
};

// RFC 3948 3.1.2, transport mode decapsulation NAT procedure: after ESP removed from a
// UDP-encapsulated transport-mode packet, the inner TCP or UDP checksum still covers the sender's
// (pre-NAT) addresses. Recomputes it in place for the addresses of the delivered IP header
// `info` (the packet occupies `writer` from offset 0, the segment starts at info.header_length and
// is `protocol`). ESP's ICV already authenticated the segment, so a full recompute is allowed.
// No allocation.
ChecksumRefresh refresh_transport_checksum(ByteWriter& writer, const IpPacketInfo& info, std::uint8_t protocol) noexcept;

// What EspSa::decapsulate() does with the inner TCP/UDP checksum of a transport-mode packet of a
// UDP-encapsulated SA (RFC 3948 3.1.2: behind a NAT it covers the peer's private address).
enum class InnerChecksum : std::uint8_t {
  Refresh,           // recomputed for the delivered addresses (refresh_transport_checksum)
  // Left as the peer wrote it: the caller hands the packet to the stack marked checksum-valid or
  // checksum-partial (a TUN device's virtio-net header, tun_injector.h), as Linux's own ESP does
  // for transport-mode NAT-T (esp_input_done2: CHECKSUM_UNNECESSARY). ESP's ICV authenticated
  // every byte; the checksum adds nothing to that.
  MarkedValidByCaller,
};

}  // namespace ward::driver::crypto
