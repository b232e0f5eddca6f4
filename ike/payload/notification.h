// Notification (RFC 2408 3.14, IPsec DOI types RFC 2407 4.6.3, DPD RFC 3706) and Delete
// (RFC 2408 3.15) payloads:
//
// N: ! DOI (4) ! Protocol-ID (1) ! SPI Size (1) ! Notify Message Type (2) ! SPI ! Notification Data
// D: ! DOI (4) ! Protocol-Id (1) ! SPI Size (1) ! # of SPIs (2) ! SPIs (# x SPI Size)
#pragma once

#include <cstdint>
#include <vector>

#include "ike/payload/payload_header.h"

namespace ward::ike {

struct Notification {
  static constexpr PayloadType kType = PayloadType::Notification;

  Doi doi = Doi::Ipsec;
  ProtocolId protocol = ProtocolId::Isakmp;
  // Kept as the wire number: unknown status types must pass through to be ignored, not refused.
  std::uint16_t message_type = 0;
  std::vector<std::byte> spi;    // ISAKMP: 16 (the cookie pair) or 0; AH/ESP: 4
  std::vector<std::byte> data;   // e.g. R-U-THERE's 32-bit sequence number

  bool is(NotifyMessageType type) const noexcept {
    return message_type == static_cast<std::uint16_t>(type);
  }
  bool is_error() const noexcept { return message_type != 0 && message_type <= kLastErrorNotifyType; }

  static Expected<Notification, ParseError> parse_body(ByteReader& body);
  void encode_body(ByteWriter& writer) const;
  WARD_ISAKMP_PAYLOAD_CODEC(Notification)

  friend bool operator==(const Notification&, const Notification&) = default;
};

struct Delete {
  static constexpr PayloadType kType = PayloadType::Delete;

  Doi doi = Doi::Ipsec;
  ProtocolId protocol = ProtocolId::IpsecEsp;
  std::uint8_t spi_size = kIpsecSpiSize;
  std::vector<std::vector<std::byte>> spis;   // each spi_size bytes

  static Expected<Delete, ParseError> parse_body(ByteReader& body);
  void encode_body(ByteWriter& writer) const;
  WARD_ISAKMP_PAYLOAD_CODEC(Delete)

  friend bool operator==(const Delete&, const Delete&) = default;
};

}  // namespace ward::ike
