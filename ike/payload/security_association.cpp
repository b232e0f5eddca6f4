#include "ike/payload/security_association.h"

#include <string>
#include <utility>

namespace ward::ike {

namespace {

std::string number_text(std::size_t value) { return std::to_string(value); }

// Valid SPI sizes per protocol (RFC 2408 2.4, RFC 2407 4.4.1 / 4.6.1).
bool spi_size_allowed(ProtocolId protocol, std::size_t size) {
  switch (protocol) {
    case ProtocolId::Isakmp:
      return size == 0 || size == kIsakmpSpiSize;
    case ProtocolId::IpsecAh:
    case ProtocolId::IpsecEsp:
      return size == kIpsecSpiSize;
    case ProtocolId::Ipcomp:
      return size == kIpcompCpiSize || size == kIpsecSpiSize;
    case ProtocolId::Reserved:
      return false;
  }
  return false;
}

bool protocol_known(std::uint8_t value) {
  return value >= static_cast<std::uint8_t>(ProtocolId::Isakmp) &&
         value <= static_cast<std::uint8_t>(ProtocolId::Ipcomp);
}

}  // namespace

// ---- Transform -----------------------------------------------------------------------------------

const DataAttribute* Transform::find(std::uint16_t type) const noexcept {
  for (const auto& attribute : attributes) {
    if (attribute.type == type) return &attribute;
  }
  return nullptr;
}

Expected<Transform, ParseError> Transform::parse_body(ByteReader& body, AttributeClasses classes) {
  Transform out;
  auto number = body.u8("Transform #");
  if (!number) return unexpected(std::move(number).error());
  auto id = body.u8("Transform-Id");
  if (!id) return unexpected(std::move(id).error());
  auto reserved = body.u16_be("RESERVED2");
  if (!reserved) return unexpected(std::move(reserved).error());
  if (*reserved != 0) {
    return unexpected(body.error("RESERVED2", "RESERVED2 is " + number_text(*reserved) + ", must be 0"));
  }
  out.number = *number;
  out.id = *id;
  while (!body.empty()) {
    if (out.attributes.size() == kMaxAttributesPerTransform) {
      return unexpected(body.error("SA Attributes", "more than " + number_text(kMaxAttributesPerTransform) +
                                                        " attributes in one transform"));
    }
    const std::size_t at = body.offset();
    auto attribute = DataAttribute::parse(body);
    if (!attribute) return unexpected(std::move(attribute).error());
    if (!attribute->is_basic() && attribute_is_basic_only(classes, attribute->type)) {
      return unexpected(ParseError{body.structure(), "SA Attributes", at,
                                   "attribute " + number_text(attribute->type) +
                                       " is basic (TV) in " +
                                       (classes == AttributeClasses::Phase1 ? "RFC 2409 appendix A"
                                                                            : "RFC 2407 4.5") +
                                       " but arrived as TLV"});
    }
    out.attributes.push_back(std::move(*attribute));
  }
  return out;
}

void Transform::encode_body(ByteWriter& writer) const {
  writer.u8(number);
  writer.u8(id);
  writer.u16_be(0);  // RESERVED2
  for (const auto& attribute : attributes) attribute.encode(writer);
}

// ---- Proposal ------------------------------------------------------------------------------------

Expected<Proposal, ParseError> Proposal::parse_body(ByteReader& body) {
  Proposal out;
  auto number = body.u8("Proposal #");
  if (!number) return unexpected(std::move(number).error());
  const std::size_t protocol_at = body.offset();
  auto protocol = body.u8("Protocol-Id");
  if (!protocol) return unexpected(std::move(protocol).error());
  auto spi_size = body.u8("SPI Size");
  if (!spi_size) return unexpected(std::move(spi_size).error());
  auto transform_count = body.u8("# of Transforms");
  if (!transform_count) return unexpected(std::move(transform_count).error());
  if (!protocol_known(*protocol)) {
    return unexpected(ParseError{body.structure(), "Protocol-Id", protocol_at,
                                 "Protocol-Id " + number_text(*protocol) + " unknown (1..4 expected)"});
  }
  out.number = *number;
  out.protocol = static_cast<ProtocolId>(*protocol);
  if (!spi_size_allowed(out.protocol, *spi_size)) {
    return unexpected(ParseError{body.structure(), "SPI Size", protocol_at + 1,
                                 "SPI Size " + number_text(*spi_size) + " invalid for " +
                                     std::string(name(out.protocol))});
  }
  if (*transform_count == 0) {
    return unexpected(body.error("# of Transforms", "# of Transforms is 0, at least 1 expected"));
  }
  auto spi = body.bytes(*spi_size, "SPI");
  if (!spi) return unexpected(std::move(spi).error());
  out.spi.assign(spi->begin(), spi->end());

  const AttributeClasses classes =
      out.protocol == ProtocolId::Isakmp ? AttributeClasses::Phase1 : AttributeClasses::Phase2;
  std::uint8_t next = static_cast<std::uint8_t>(PayloadType::Transform);
  while (next == static_cast<std::uint8_t>(PayloadType::Transform)) {
    if (body.empty()) {
      return unexpected(body.error("# of Transforms",
                                   "# of Transforms " + number_text(*transform_count) + " declared, only " +
                                       number_text(out.transforms.size()) +
                                       " present (last Next Payload says another follows)"));
    }
    if (out.transforms.size() == *transform_count) {
      return unexpected(body.error("# of Transforms", "# of Transforms " + number_text(*transform_count) +
                                                          " declared, more present"));
    }
    auto opened = open_payload(body, PayloadType::Transform);
    if (!opened) return unexpected(std::move(opened).error());
    if (opened->next_payload != static_cast<std::uint8_t>(PayloadType::Transform) &&
        opened->next_payload != static_cast<std::uint8_t>(PayloadType::None)) {
      return unexpected(ParseError{opened->body.structure(), "Next Payload", opened->start,
                                   "Next Payload " + number_text(opened->next_payload) +
                                       " inside a proposal, 3 (Transform) or 0 expected"});
    }
    auto transform = Transform::parse_body(opened->body, classes);
    if (!transform) return unexpected(std::move(transform).error());
    out.transforms.push_back(std::move(*transform));
    next = opened->next_payload;
  }
  if (out.transforms.size() != *transform_count) {
    return unexpected(body.error("# of Transforms", "# of Transforms " + number_text(*transform_count) +
                                                        " declared, " + number_text(out.transforms.size()) +
                                                        " present"));
  }
  if (!body.empty()) {
    return unexpected(body.error("Payload Length", "proposal length leaves " + number_text(body.remaining()) +
                                                       " bytes after the last transform"));
  }
  return out;
}

void Proposal::encode_body(ByteWriter& writer) const {
  writer.u8(number);
  writer.u8(static_cast<std::uint8_t>(protocol));
  writer.u8(static_cast<std::uint8_t>(spi.size()));
  writer.u8(static_cast<std::uint8_t>(transforms.size()));
  writer.bytes(spi);
  for (std::size_t i = 0; i < transforms.size(); ++i) {
    const bool last = i + 1 == transforms.size();
    // An oversized transform makes the enclosing SA oversized too; the SA's check reports it.
    static_cast<void>(encode_payload(writer, transforms[i], last ? PayloadType::None : PayloadType::Transform));
  }
}

// ---- Security Association ------------------------------------------------------------------------

Expected<SecurityAssociation, ParseError> SecurityAssociation::parse_body(ByteReader& body) {
  SecurityAssociation out;
  const std::size_t doi_at = body.offset();
  auto doi = body.u32_be("Domain of Interpretation");
  if (!doi) return unexpected(std::move(doi).error());
  if (*doi != static_cast<std::uint32_t>(Doi::Ipsec)) {
    return unexpected(ParseError{body.structure(), "Domain of Interpretation", doi_at,
                                 "DOI " + number_text(*doi) + " not supported, 1 (IPSEC) expected"});
  }
  auto situation = body.u32_be("Situation");
  if (!situation) return unexpected(std::move(situation).error());
  if (*situation != kSitIdentityOnly) {
    return unexpected(ParseError{body.structure(), "Situation", doi_at + 4,
                                 "Situation " + number_text(*situation) +
                                     " not supported, 1 (SIT_IDENTITY_ONLY) expected"});
  }
  out.situation = *situation;
  std::uint8_t next = static_cast<std::uint8_t>(PayloadType::Proposal);
  int previous_number = -1;
  while (next == static_cast<std::uint8_t>(PayloadType::Proposal)) {
    if (out.proposals.size() == kMaxProposalsPerSa) {
      return unexpected(body.error("Proposal", "more than " + number_text(kMaxProposalsPerSa) + " proposals"));
    }
    if (body.empty() && !out.proposals.empty()) {
      return unexpected(body.error("Next Payload", "last proposal says another follows, SA payload ends"));
    }
    auto opened = open_payload(body, PayloadType::Proposal);
    if (!opened) return unexpected(std::move(opened).error());
    if (opened->next_payload != static_cast<std::uint8_t>(PayloadType::Proposal) &&
        opened->next_payload != static_cast<std::uint8_t>(PayloadType::None)) {
      return unexpected(ParseError{opened->body.structure(), "Next Payload", opened->start,
                                   "Next Payload " + number_text(opened->next_payload) +
                                       " inside an SA, 2 (Proposal) or 0 expected"});
    }
    auto proposal = Proposal::parse_body(opened->body);
    if (!proposal) return unexpected(std::move(proposal).error());
    // RFC 2408 3.5: proposal numbers never decrease (equal numbers form one AND-ed proposal).
    if (static_cast<int>(proposal->number) < previous_number) {
      return unexpected(ParseError{opened->body.structure(), "Proposal #", opened->start + 4,
                                   "Proposal # " + number_text(proposal->number) + " after " +
                                       number_text(static_cast<std::size_t>(previous_number)) +
                                       ", numbers must not decrease"});
    }
    previous_number = proposal->number;
    out.proposals.push_back(std::move(*proposal));
    next = opened->next_payload;
  }
  if (!body.empty()) {
    return unexpected(body.error("Payload Length", "SA length leaves " + number_text(body.remaining()) +
                                                       " bytes after the last proposal"));
  }
  return out;
}

void SecurityAssociation::encode_body(ByteWriter& writer) const {
  writer.u32_be(static_cast<std::uint32_t>(doi));
  writer.u32_be(situation);
  for (std::size_t i = 0; i < proposals.size(); ++i) {
    const bool last = i + 1 == proposals.size();
    static_cast<void>(encode_payload(writer, proposals[i], last ? PayloadType::None : PayloadType::Proposal));
  }
}

}  // namespace ward::ike
