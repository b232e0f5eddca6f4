// SA pairs for the transform tests: fixed test keys, outbound and matching inbound parameters.
#pragma once

#include <cstdint>
#include <optional>

#include "driver/crypto/fuzz_sas.h"
#include "driver/crypto/sa_params.h"
#include "driver/crypto/test_packets.h"

namespace ward::driver::crypto::testing {

struct SaShape {
  SecurityProtocol protocol = SecurityProtocol::Esp;
  Cipher cipher = Cipher::AesGcm128;
  Integrity integrity = Integrity::None;
  Mode mode = Mode::Transport;
  bool ipv6 = false;
  bool esn = false;
  bool udp = false;
};

inline IpAddress transport_source(bool ipv6) { return ipv6 ? v6_address(1) : IpAddress::v4(192, 0, 2, 1); }
inline IpAddress transport_destination(bool ipv6) { return ipv6 ? v6_address(2) : IpAddress::v4(192, 0, 2, 2); }

// Outbound parameters of the given shape; fuzzing::inbound_of() gives the receiver's.
inline SaParams outbound_params(const SaShape& shape, std::uint32_t spi = 0x12345678) {
  SaParams params;
  params.protocol = shape.protocol;
  params.spi = spi;
  params.direction = Direction::Outbound;
  params.mode = shape.mode;
  params.cipher = shape.cipher;
  params.integrity = shape.integrity;
  params.encryption_key = SecureBytes(pattern_bytes(encryption_key_length(shape.cipher), 0x11));
  params.integrity_key = SecureBytes(pattern_bytes(integrity_key_length(shape.integrity), 0x22));
  params.extended_sequence_numbers = shape.esn;
  params.allow_legacy = shape.cipher == Cipher::TripleDesCbc || shape.integrity == Integrity::HmacMd5_96;
  if (shape.mode == Mode::Tunnel) {
    params.tunnel = shape.ipv6 ? TunnelEndpoints{v6_address(0xa1), v6_address(0xa2)}
                               : TunnelEndpoints{IpAddress::v4(10, 0, 0, 1), IpAddress::v4(10, 0, 0, 2)};
  }
  if (shape.udp) params.udp_encapsulation = UdpEncapsulation{kNatTraversalPort, kNatTraversalPort};
  return params;
}

// A UDP packet of `payload_size` bytes after the IP header; from 8 bytes on, a real UDP datagram
// (pattern ports and data, right length, valid checksum), as a receiving stack would accept.
inline std::vector<std::byte> plain_packet(bool ipv6, std::size_t payload_size, std::uint8_t seed = 0) {
  auto payload = pattern_bytes(payload_size, seed);
  const IpAddress source = transport_source(ipv6);
  const IpAddress destination = transport_destination(ipv6);
  if (payload_size >= kUdpHeaderLength) {
    ByteWriter udp;
    udp.bytes(payload);
    udp.patch_u16_be(4, static_cast<std::uint16_t>(payload_size));
    udp.patch_u16_be(kUdpChecksumOffset, transport_checksum(source, destination, kProtoUdp, udp.written()));
    payload = std::move(udp).take();
  }
  return ipv6 ? make_ipv6_packet(source, destination, kProtoUdp, payload)
              : make_ipv4_packet(source, destination, kProtoUdp, payload);
}

}  // namespace ward::driver::crypto::testing
