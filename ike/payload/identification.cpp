#include "ike/payload/identification.h"

#include <string>
#include <utility>

namespace ward::ike {

std::size_t id_data_size(IdType type) noexcept {
  switch (type) {
    case IdType::Ipv4Addr:
      return 4;
    case IdType::Ipv4AddrSubnet:   // address + mask
    case IdType::Ipv4AddrRange:    // start + end
      return 8;
    case IdType::Ipv6Addr:
      return 16;
    case IdType::Ipv6AddrSubnet:
    case IdType::Ipv6AddrRange:
      return 32;
    case IdType::Fqdn:
    case IdType::UserFqdn:
    case IdType::DerAsn1Dn:
    case IdType::DerAsn1Gn:
    case IdType::KeyId:
      return 0;
  }
  return 0;
}

bool is_known_id_type(std::uint8_t value) noexcept {
  return value >= static_cast<std::uint8_t>(IdType::Ipv4Addr) &&
         value <= static_cast<std::uint8_t>(IdType::KeyId);
}

Expected<Identification, ParseError> Identification::parse_body(ByteReader& body) {
  const std::size_t type_at = body.offset();
  auto type = body.u8("ID Type");
  if (!type) return unexpected(std::move(type).error());
  auto protocol = body.u8("Protocol ID");
  if (!protocol) return unexpected(std::move(protocol).error());
  auto port = body.u16_be("Port");
  if (!port) return unexpected(std::move(port).error());
  if (!is_known_id_type(*type)) {
    return unexpected(ParseError{body.structure(), "ID Type", type_at,
                                 "ID Type " + std::to_string(*type) + " unknown (1..11 expected)"});
  }
  Identification out;
  out.type = static_cast<IdType>(*type);
  out.protocol = *protocol;
  out.port = *port;
  const std::size_t exact = id_data_size(out.type);
  if (exact != 0 && body.remaining() != exact) {
    return unexpected(body.error("Identification Data",
                                 std::string(name(out.type)) + " data is " + std::to_string(body.remaining()) +
                                     " bytes, " + std::to_string(exact) + " expected"));
  }
  if (exact == 0 && body.empty()) {
    return unexpected(body.error("Identification Data", std::string(name(out.type)) + " data is empty"));
  }
  const auto rest = body.rest();
  out.data.assign(rest.begin(), rest.end());
  return out;
}

void Identification::encode_body(ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(type));
  writer.u8(protocol);
  writer.u16_be(port);
  writer.bytes(data);
}

Expected<NatOriginalAddress, ParseError> NatOriginalAddress::parse_body(ByteReader& body) {
  const std::size_t type_at = body.offset();
  auto type = body.u8("ID Type");
  if (!type) return unexpected(std::move(type).error());
  auto reserved = body.bytes(3, "RESERVED");
  if (!reserved) return unexpected(std::move(reserved).error());
  for (std::byte b : *reserved) {
    if (b != std::byte{0}) return unexpected(body.error("RESERVED", "RESERVED is not zero"));
  }
  NatOriginalAddress out;
  if (*type == static_cast<std::uint8_t>(IdType::Ipv4Addr)) {
    out.type = IdType::Ipv4Addr;
  } else if (*type == static_cast<std::uint8_t>(IdType::Ipv6Addr)) {
    out.type = IdType::Ipv6Addr;
  } else {
    return unexpected(ParseError{body.structure(), "ID Type", type_at,
                                 "ID Type " + std::to_string(*type) +
                                     ", 1 (ID_IPV4_ADDR) or 5 (ID_IPV6_ADDR) expected"});
  }
  const std::size_t size = id_data_size(out.type);
  if (body.remaining() != size) {
    return unexpected(body.error("Original Address", "address is " + std::to_string(body.remaining()) +
                                                         " bytes, " + std::to_string(size) + " expected"));
  }
  const auto rest = body.rest();
  out.address.assign(rest.begin(), rest.end());
  return out;
}

void NatOriginalAddress::encode_body(ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(type));
  writer.zeros(3);
  writer.bytes(address);
}

}  // namespace ward::ike
