#include "ike/sa/nat_traversal.h"

#include <algorithm>

#include "ike/crypto/prf.h"

namespace ward::ike::sa {
namespace {

constexpr std::size_t kEspSpiSize = 4;
constexpr std::size_t kPortSize = 2;

}  // namespace

std::vector<std::byte> nat_discovery_hash(IkeHashAlgorithm hash, const Cookie& cky_i, const Cookie& cky_r,
                                          const Endpoint& endpoint) {
  if (!crypto::is_supported_hash(hash)) return {};
  const std::array<std::byte, kPortSize> port{std::byte(endpoint.port >> 8), std::byte(endpoint.port & 0xFF)};
  return crypto::hash(hash, {cky_i, cky_r, endpoint.address.wire_bytes(), port});
}

Expected<NatDetection, std::string> detect_nat(IkeHashAlgorithm hash, const Cookie& cky_i, const Cookie& cky_r,
                                               const Endpoint& local, const Endpoint& peer,
                                               std::span<const std::vector<std::byte>> hashes) {
  if (hashes.size() < 2) {
    return unexpected("NAT-D: the peer sent " + std::to_string(hashes.size()) +
                      " NAT-D payloads, at least 2 are required (RFC 3947 3.2)");
  }
  const auto size = crypto::hash_size(hash);
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    if (hashes[i].size() != size) {
      return unexpected("NAT-D: payload " + std::to_string(i + 1) + " is " + std::to_string(hashes[i].size()) +
                        " bytes, the negotiated hash " + std::string(crypto::hash_name(hash)) + " gives " +
                        std::to_string(size));
    }
  }
  // NAT-D values are not secret (anyone can compute them), a plain compare would do; the
  // constant-time one costs nothing here.
  const auto ours = nat_discovery_hash(hash, cky_i, cky_r, local);
  const auto theirs = nat_discovery_hash(hash, cky_i, cky_r, peer);
  NatDetection detection;
  detection.local_behind_nat = !crypto::equal_constant_time(hashes[0], ours);
  detection.peer_behind_nat = std::none_of(hashes.begin() + 1, hashes.end(), [&](const std::vector<std::byte>& h) {
    return crypto::equal_constant_time(h, theirs);
  });
  return detection;
}

std::string describe(const NatDetection& detection) {
  if (!detection.any()) return "no NAT between the peers";
  if (detection.local_behind_nat && detection.peer_behind_nat) return "NAT on both sides";
  return detection.local_behind_nat ? "this host is behind a NAT" : "the peer is behind a NAT";
}

Expected<NatTDatagram, std::string> classify_nat_t_datagram(std::span<const std::byte> datagram) {
  if (datagram.size() == 1 && datagram[0] == kNatKeepaliveByte) return NatTDatagram::Keepalive;
  if (datagram.size() < kNonEspMarkerSize) {
    return unexpected("UDP 4500 datagram of " + std::to_string(datagram.size()) +
                      " bytes is neither a NAT keepalive nor IKE nor ESP");
  }
  const bool marker = std::all_of(datagram.begin(), datagram.begin() + kNonEspMarkerSize,
                                  [](std::byte b) { return b == std::byte{0}; });
  if (!marker) return NatTDatagram::Esp;   // a non-zero SPI (RFC 3948 2.1)
  if (datagram.size() < kNonEspMarkerSize + kIsakmpHeaderSize) {
    return unexpected("UDP 4500 datagram with a non-ESP marker has " +
                      std::to_string(datagram.size() - kNonEspMarkerSize) + " bytes after it, an ISAKMP header needs " +
                      std::to_string(kIsakmpHeaderSize));
  }
  static_assert(kEspSpiSize == kNonEspMarkerSize, "the marker sits where ESP's SPI would");
  return NatTDatagram::Ike;
}

std::span<const std::byte> strip_non_esp_marker(std::span<const std::byte> datagram) noexcept {
  return datagram.size() < kNonEspMarkerSize ? std::span<const std::byte>{} : datagram.subspan(kNonEspMarkerSize);
}

std::vector<std::byte> add_non_esp_marker(std::span<const std::byte> message) {
  // Sized once and filled in place (an insert after a 4-byte vector trips g++ 12's bounds warning).
  std::vector<std::byte> out(kNonEspMarkerSize + message.size(), std::byte{0});
  std::copy(message.begin(), message.end(), out.begin() + kNonEspMarkerSize);
  return out;
}

bool is_udp_encapsulated(EncapsulationMode mode) noexcept {
  switch (mode) {
    case EncapsulationMode::UdpEncapsulatedTunnel:
    case EncapsulationMode::UdpEncapsulatedTransport:
    case EncapsulationMode::UdpEncapsulatedTunnelDraft:
    case EncapsulationMode::UdpEncapsulatedTransportDraft: return true;
    case EncapsulationMode::Tunnel:
    case EncapsulationMode::Transport: return false;
  }
  return false;
}

bool is_tunnel(EncapsulationMode mode) noexcept {
  return mode == EncapsulationMode::Tunnel || mode == EncapsulationMode::UdpEncapsulatedTunnel ||
         mode == EncapsulationMode::UdpEncapsulatedTunnelDraft;
}

EncapsulationMode encapsulation_mode(bool tunnel, bool udp_encapsulated) noexcept {
  if (udp_encapsulated) {
    return tunnel ? EncapsulationMode::UdpEncapsulatedTunnel : EncapsulationMode::UdpEncapsulatedTransport;
  }
  return tunnel ? EncapsulationMode::Tunnel : EncapsulationMode::Transport;
}

}  // namespace ward::ike::sa
