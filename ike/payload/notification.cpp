#include "ike/payload/notification.h"

#include <string>
#include <utility>

namespace ward::ike {

namespace {

// DOI: RFC 2407 4.6.3 uses the IPsec DOI; ISAKMP-level notifications may carry DOI 0.
Expected<Doi, ParseError> read_doi(ByteReader& body) {
  const std::size_t at = body.offset();
  auto doi = body.u32_be("Domain of Interpretation");
  if (!doi) return unexpected(std::move(doi).error());
  if (*doi != static_cast<std::uint32_t>(Doi::Ipsec) && *doi != static_cast<std::uint32_t>(Doi::Isakmp)) {
    return unexpected(ParseError{body.structure(), "Domain of Interpretation", at,
                                 "DOI " + std::to_string(*doi) + " not supported, 0 or 1 expected"});
  }
  return static_cast<Doi>(*doi);
}

// Protocol-ID 0 is allowed here: a notification may concern no particular SA.
Expected<ProtocolId, ParseError> read_protocol(ByteReader& body) {
  const std::size_t at = body.offset();
  auto protocol = body.u8("Protocol-Id");
  if (!protocol) return unexpected(std::move(protocol).error());
  if (*protocol > static_cast<std::uint8_t>(ProtocolId::Ipcomp)) {
    return unexpected(ParseError{body.structure(), "Protocol-Id", at,
                                 "Protocol-Id " + std::to_string(*protocol) + " unknown (0..4 expected)"});
  }
  return static_cast<ProtocolId>(*protocol);
}

}  // namespace

Expected<Notification, ParseError> Notification::parse_body(ByteReader& body) {
  Notification out;
  auto doi = read_doi(body);
  if (!doi) return unexpected(std::move(doi).error());
  auto protocol = read_protocol(body);
  if (!protocol) return unexpected(std::move(protocol).error());
  auto spi_size = body.u8("SPI Size");
  if (!spi_size) return unexpected(std::move(spi_size).error());
  auto type = body.u16_be("Notify Message Type");
  if (!type) return unexpected(std::move(type).error());
  if (*type == 0) return unexpected(body.error("Notify Message Type", "Notify Message Type is 0 (reserved)"));
  auto spi = body.bytes(*spi_size, "SPI");
  if (!spi) return unexpected(std::move(spi).error());
  out.doi = *doi;
  out.protocol = *protocol;
  out.message_type = *type;
  out.spi.assign(spi->begin(), spi->end());
  const auto rest = body.rest();
  out.data.assign(rest.begin(), rest.end());
  // RFC 3706 5: R-U-THERE and R-U-THERE-ACK carry the ISAKMP cookie pair and a 32-bit sequence.
  if (out.is(NotifyMessageType::RUThere) || out.is(NotifyMessageType::RUThereAck)) {
    if (out.spi.size() != kIsakmpSpiSize || out.data.size() != kDpdSequenceSize) {
      return unexpected(body.error("Notification Data",
                                   std::string(name(static_cast<NotifyMessageType>(out.message_type))) +
                                       " SPI is " + std::to_string(out.spi.size()) + " bytes (" +
                                       std::to_string(kIsakmpSpiSize) + " expected), data " +
                                       std::to_string(out.data.size()) + " bytes (" +
                                       std::to_string(kDpdSequenceSize) + " expected)"));
    }
  }
  return out;
}

void Notification::encode_body(ByteWriter& writer) const {
  writer.u32_be(static_cast<std::uint32_t>(doi));
  writer.u8(static_cast<std::uint8_t>(protocol));
  writer.u8(static_cast<std::uint8_t>(spi.size()));
  writer.u16_be(message_type);
  writer.bytes(spi);
  writer.bytes(data);
}

Expected<Delete, ParseError> Delete::parse_body(ByteReader& body) {
  Delete out;
  auto doi = read_doi(body);
  if (!doi) return unexpected(std::move(doi).error());
  const std::size_t protocol_at = body.offset();
  auto protocol = read_protocol(body);
  if (!protocol) return unexpected(std::move(protocol).error());
  if (*protocol == ProtocolId::Reserved) {
    return unexpected(ParseError{body.structure(), "Protocol-Id", protocol_at, "Protocol-Id 0 in a Delete"});
  }
  auto spi_size = body.u8("SPI Size");
  if (!spi_size) return unexpected(std::move(spi_size).error());
  auto count = body.u16_be("# of SPIs");
  if (!count) return unexpected(std::move(count).error());
  if (*spi_size == 0 || *count == 0) {
    return unexpected(body.error("# of SPIs", "SPI Size " + std::to_string(*spi_size) + ", # of SPIs " +
                                                  std::to_string(*count) + ": both must be > 0"));
  }
  const std::size_t needed = static_cast<std::size_t>(*spi_size) * *count;
  if (body.remaining() != needed) {
    return unexpected(body.error("SPIs", "# of SPIs " + std::to_string(*count) + " x SPI Size " +
                                             std::to_string(*spi_size) + " = " + std::to_string(needed) +
                                             " bytes, " + std::to_string(body.remaining()) + " present"));
  }
  out.doi = *doi;
  out.protocol = *protocol;
  out.spi_size = *spi_size;
  for (std::size_t i = 0; i < *count; ++i) {
    auto spi = body.bytes(*spi_size, "SPI");
    if (!spi) return unexpected(std::move(spi).error());
    out.spis.emplace_back(spi->begin(), spi->end());
  }
  return out;
}

void Delete::encode_body(ByteWriter& writer) const {
  writer.u32_be(static_cast<std::uint32_t>(doi));
  writer.u8(static_cast<std::uint8_t>(protocol));
  writer.u8(spi_size);
  writer.u16_be(static_cast<std::uint16_t>(spis.size()));
  for (const auto& spi : spis) writer.bytes(spi);
}

}  // namespace ward::ike
