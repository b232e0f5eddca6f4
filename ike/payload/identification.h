// Identification payload (RFC 2408 3.8) in the IPsec DOI form (RFC 2407 4.6.2):
//
// ! ID Type (1) ! Protocol ID (1) ! Port (2) ! Identification Data ...
//
// In phase 1 Protocol ID and Port are 0 or UDP/500 (RFC 2407 4.6.2); in quick mode they narrow
// the traffic selector. The data's size is checked per ID type (RFC 2407 4.6.2.2 - 4.6.2.12).
#pragma once

#include <cstdint>
#include <vector>

#include "ike/payload/payload_header.h"

namespace ward::ike {

struct Identification {
  static constexpr PayloadType kType = PayloadType::Identification;

  IdType type = IdType::Ipv4Addr;
  std::uint8_t protocol = 0;   // IP protocol number, 0 = any
  std::uint16_t port = 0;      // 0 = any
  std::vector<std::byte> data;

  static Expected<Identification, ParseError> parse_body(ByteReader& body);
  void encode_body(ByteWriter& writer) const;
  WARD_ISAKMP_PAYLOAD_CODEC(Identification)

  friend bool operator==(const Identification&, const Identification&) = default;
};

// The exact data size an ID type needs, or 0 for variable-length types (which need >= 1 byte).
std::size_t id_data_size(IdType type) noexcept;
bool is_known_id_type(std::uint8_t value) noexcept;

// NAT-OA (RFC 3947 5.2): ID Type (ID_IPV4_ADDR or ID_IPV6_ADDR) | RESERVED (3) | address.
struct NatOriginalAddress {
  static constexpr PayloadType kType = PayloadType::NatOriginalAddress;

  IdType type = IdType::Ipv4Addr;
  std::vector<std::byte> address;   // 4 or 16 bytes

  static Expected<NatOriginalAddress, ParseError> parse_body(ByteReader& body);
  void encode_body(ByteWriter& writer) const;
  WARD_ISAKMP_PAYLOAD_CODEC(NatOriginalAddress)

  friend bool operator==(const NatOriginalAddress&, const NatOriginalAddress&) = default;
};

}  // namespace ward::ike
