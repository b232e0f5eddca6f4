// What the kernel's TCP segmentation offload would have done, for packets NFQUEUE hands over
// whole (NFQA_CFG_F_GSO): a locally generated TCP "superpacket" of up to 64 KiB is cut into
// segments of at most `max_payload` bytes, each a complete IP packet with its own length, IPv4
// identification, sequence number and checksums, so that each can be protected as one ESP packet.
// FIN and PSH stay on the last segment and CWR on the first (as tcp_gso_segment does). The
// checksums of a packet the kernel queued before computing them (NFQA_SKB_CSUMNOTREADY) are
// completed here too.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"

namespace ward::driver {

// Segments of one superpacket (or of a batch of them: append_tcp_segments). `buffers` are kept
// between calls (no allocation once warm); only the first `count` are current.
struct TcpSegments {
  std::vector<std::vector<std::byte>> buffers;
  std::size_t count = 0;
  std::span<const std::byte> operator[](std::size_t i) const { return buffers[i]; }
};

// Cuts an IPv4 or IPv6 TCP packet (no IPv6 extension headers) into segments whose TCP payload
// plus TCP options fit `mss` (the MSS the kernel table clamps connections through negotiate
// filters to, so the segments are what the kernel itself would have cut), with complete checksums.
// A packet that already fits gives one segment (its checksum completed). Fails, naming why, on
// anything else.
Expected<void, std::string> segment_tcp(std::span<const std::byte> packet, std::size_t mss, TcpSegments& out);
// segment_tcp() after the `out.count` segments already there (a queue batch's packets cut into one
// set, protected in one burst and sent with one sendmmsg); on failure `out` keeps what it had.
Expected<void, std::string> append_tcp_segments(std::span<const std::byte> packet, std::size_t mss, TcpSegments& out);

// Recomputes the TCP or UDP checksum of `packet` in place (the kernel left it partial); other
// protocols and later fragments are left alone. False when the packet does not parse.
bool complete_transport_checksum(std::span<std::byte> packet) noexcept;

}  // namespace ward::driver
