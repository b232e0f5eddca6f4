// Security Association payload (RFC 2408 3.4, IPsec DOI form RFC 2407 4.6.1) with its nested
// Proposal (RFC 2408 3.5) and Transform (RFC 2408 3.6) payloads.
//
// SA body:        DOI (4) | Situation (4) | Proposal payloads...
// Proposal body:  Proposal # (1) | Protocol-Id (1) | SPI Size (1) | # of Transforms (1) | SPI |
//                 Transform payloads...
// Transform body: Transform # (1) | Transform-Id (1) | RESERVED2 (2) | SA Attributes...
//
// Proposals chain with Next Payload = 2 (Proposal) and 0 on the last; transforms with 3 and 0.
#pragma once

#include <cstdint>
#include <vector>

#include "ike/payload/data_attribute.h"
#include "ike/payload/payload_header.h"

namespace ward::ike {

struct Transform {
  static constexpr PayloadType kType = PayloadType::Transform;

  std::uint8_t number = 1;   // Transform #
  std::uint8_t id = 0;       // Transform-Id: IsakmpTransformId, EspTransformId or AhTransformId
  std::vector<DataAttribute> attributes;

  // The first attribute of `type`, or nullptr.
  const DataAttribute* find(std::uint16_t type) const noexcept;

  static Expected<Transform, ParseError> parse_body(ByteReader& body, AttributeClasses classes);
  void encode_body(ByteWriter& writer) const;

  friend bool operator==(const Transform&, const Transform&) = default;
};

struct Proposal {
  static constexpr PayloadType kType = PayloadType::Proposal;

  std::uint8_t number = 1;                         // Proposal #
  ProtocolId protocol = ProtocolId::Isakmp;        // Protocol-Id
  std::vector<std::byte> spi;                      // SPI (its size is SPI Size)
  std::vector<Transform> transforms;               // # of Transforms is transforms.size()

  static Expected<Proposal, ParseError> parse_body(ByteReader& body);
  void encode_body(ByteWriter& writer) const;

  friend bool operator==(const Proposal&, const Proposal&) = default;
};

struct SecurityAssociation {
  static constexpr PayloadType kType = PayloadType::SecurityAssociation;

  Doi doi = Doi::Ipsec;                        // Ward speaks only the IPsec DOI (RFC 2407)
  std::uint32_t situation = kSitIdentityOnly;  // SIT_IDENTITY_ONLY; secrecy/integrity refused
  std::vector<Proposal> proposals;

  static Expected<SecurityAssociation, ParseError> parse_body(ByteReader& body);
  void encode_body(ByteWriter& writer) const;
  WARD_ISAKMP_PAYLOAD_CODEC(SecurityAssociation)

  friend bool operator==(const SecurityAssociation&, const SecurityAssociation&) = default;
};

}  // namespace ward::ike
