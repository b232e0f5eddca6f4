// Data Attributes (RFC 2408 3.3): the TV (basic, AF=1) and TLV (variable, AF=0) forms that
// Transform payloads carry. Phase 1 attribute classes are RFC 2409 appendix A, phase 2 are
// RFC 2407 4.5; both say which attributes are basic (B): those MUST NOT arrive as TLV.
//
//  0                   1                   2                   3
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !A!       Attribute Type        !    AF=0  Attribute Length     !
// !F!                             !    AF=1  Attribute Value      !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// .                   AF=0  Attribute Value                       .
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/expected.h"
#include "common/parse_error.h"
#include "ike/constants.h"

namespace ward::ike {

struct DataAttribute {
  std::uint16_t type = 0;   // Attribute Type without the AF bit
  // TV form holds the 16-bit value; TLV form holds the value bytes.
  std::variant<std::uint16_t, std::vector<std::byte>> value = std::uint16_t{0};

  bool is_basic() const noexcept { return std::holds_alternative<std::uint16_t>(value); }

  // The value as an unsigned integer: the TV value, or a TLV value of 1..8 bytes, big-endian
  // (RFC 2409 appendix A: Life Duration may be 4 bytes). nullopt for longer or empty TLVs.
  std::optional<std::uint64_t> integer() const noexcept;

  static DataAttribute basic(std::uint16_t type, std::uint16_t value);
  static DataAttribute variable(std::uint16_t type, std::vector<std::byte> value);
  // TV when the value fits in 16 bits (allowed for V attributes, RFC 2409 appendix A), else a
  // 4- or 8-byte TLV.
  static DataAttribute integer_value(std::uint16_t type, std::uint64_t value);

  static Expected<DataAttribute, ParseError> parse(ByteReader& reader);
  void encode(ByteWriter& writer) const;

  friend bool operator==(const DataAttribute&, const DataAttribute&) = default;
};

// Which attribute class table applies (chosen by the Proposal's Protocol-Id).
enum class AttributeClasses : std::uint8_t {
  Phase1,   // PROTO_ISAKMP, RFC 2409 appendix A
  Phase2,   // PROTO_IPSEC_AH / PROTO_IPSEC_ESP / PROTO_IPCOMP, RFC 2407 4.5
};

// True when the RFC declares attribute `type` basic (B) in that class table.
bool attribute_is_basic_only(AttributeClasses classes, std::uint16_t type) noexcept;

}  // namespace ward::ike
