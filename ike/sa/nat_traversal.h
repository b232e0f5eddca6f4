// NAT traversal for IKEv1 (RFC 3947) and the port-4500 framing (RFC 3948), as pure functions the
// main mode and the service share:
//   - NAT-D: HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash (RFC 3947 3.2). The first
//     NAT-D a peer sends hashes the address it sent to (ours, as it sees it); the others hash its
//     own addresses. A first hash that does not match our address and port means we are behind a
//     NAT; no other hash matching the sender's address and port means the peer is. charon with
//     kernel-libipsec fakes a NAT on purpose (its hashes never match), which must float too.
//   - the float: once a NAT is detected, main mode 5 onwards and every later IKE message goes to
//     and from UDP 4500, each prefixed by the 4-byte non-ESP marker (zeros).
//   - on UDP 4500 a datagram is an IKE message (marker), a NAT keepalive (one byte 0xFF, RFC 3948
//     2.3) or UDP-encapsulated ESP (a non-zero SPI).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "ike/constants.h"
#include "ike/message/header.h"

namespace ward::ike::sa {

inline constexpr std::uint16_t kIkePort = 500;
inline constexpr std::uint16_t kNatTraversalPort = 4500;                 // RFC 3947 4
inline constexpr std::size_t kNonEspMarkerSize = 4;                      // RFC 3948 2.2
inline constexpr std::byte kNatKeepaliveByte{0xFF};                      // RFC 3948 2.3
inline constexpr std::chrono::seconds kNatKeepaliveInterval{20};         // Windows' and charon's default

// One end of the IKE conversation as an address and UDP port.
struct Endpoint {
  IpAddress address;
  std::uint16_t port = kIkePort;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// HASH(CKY-I | CKY-R | IP | Port), the port in network byte order. An unsupported hash gives an
// empty vector.
std::vector<std::byte> nat_discovery_hash(IkeHashAlgorithm hash, const Cookie& cky_i, const Cookie& cky_r,
                                          const Endpoint& endpoint);

// What a peer's NAT-D payloads say (RFC 3947 3.2).
struct NatDetection {
  bool local_behind_nat = false;   // the peer does not see our address/port as we do
  bool peer_behind_nat = false;    // none of the peer's own addresses is the one we see it at
  bool any() const noexcept { return local_behind_nat || peer_behind_nat; }
};

// `hashes` are the NAT-D payload data in the order received: [0] is the peer's view of us, the
// rest are the peer's own addresses. `local` is our address/port as we sent from; `peer` is the
// peer's as we received from. Fewer than two hashes is an error (RFC 3947 3.2 requires both).
Expected<NatDetection, std::string> detect_nat(IkeHashAlgorithm hash, const Cookie& cky_i, const Cookie& cky_r,
                                               const Endpoint& local, const Endpoint& peer,
                                               std::span<const std::vector<std::byte>> hashes);

std::string describe(const NatDetection& detection);

// ---- port 4500 framing ----------------------------------------------------------------------------

enum class NatTDatagram : std::uint8_t { Ike, Keepalive, Esp };

// Classifies a datagram received on UDP 4500; too short to be any of them is an error.
Expected<NatTDatagram, std::string> classify_nat_t_datagram(std::span<const std::byte> datagram);
// The IKE message after the non-ESP marker (call after classify said Ike).
std::span<const std::byte> strip_non_esp_marker(std::span<const std::byte> datagram) noexcept;
// marker | message, for sending an IKE message on UDP 4500.
std::vector<std::byte> add_non_esp_marker(std::span<const std::byte> message);

// ---- quick mode encapsulation modes -------------------------------------------------------------

// True for UDP-Encapsulated-Tunnel/Transport, RFC 3947 values or the drafts' 61443/61444.
bool is_udp_encapsulated(EncapsulationMode mode) noexcept;
bool is_tunnel(EncapsulationMode mode) noexcept;
// The mode Ward sends: RFC 3947 values when `udp_encapsulated`, else the plain RFC 2407 ones.
EncapsulationMode encapsulation_mode(bool tunnel, bool udp_encapsulated) noexcept;

}  // namespace ward::ike::sa
