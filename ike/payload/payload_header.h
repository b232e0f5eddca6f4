// The generic payload header (RFC 2408 3.2) and the one place that checks it. Every payload codec
// in this folder goes through open_payload() (validate) and then its own parse_body() (decode),
// as iked's ikev2_validate_X / ikev2_pld_X pairs do.
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/expected.h"
#include "common/parse_error.h"
#include "ike/constants.h"

namespace ward::ike {

// What open_payload() hands to a payload's decoder: the raw next-payload octet (the message
// parser decides whether it names a known type) and a reader over exactly the payload's body,
// whose errors name the payload ("ISAKMP Proposal payload") and keep absolute offsets.
struct PayloadBody {
  std::uint8_t next_payload = 0;
  std::size_t start = 0;      // offset of the generic header in the whole input
  std::uint16_t length = 0;   // declared Payload Length, header included
  ByteReader body;
};

// "ISAKMP <name> payload", the ParseError structure for payload `type`.
std::string payload_structure(PayloadType type);

// Validates the generic header at the reader's position and consumes the whole payload:
// enough bytes for the header? declared length >= header? bytes left >= declared length?
// RESERVED must be zero (RFC 2408 3.2).
Expected<PayloadBody, ParseError> open_payload(ByteReader& reader, PayloadType type);

// A decoder that must consume a fixed layout fails if bytes are left over.
Expected<void, ParseError> expect_consumed(const ByteReader& body, std::string_view what);

// Encoding: write the generic header with a placeholder length, the body, then patch the length.
// end_payload returns false when the payload outgrew the 16-bit Payload Length (nothing valid
// can be sent then; the message encoder turns that into an error).
std::size_t begin_payload(ByteWriter& writer, PayloadType next);
[[nodiscard]] bool end_payload(ByteWriter& writer, std::size_t start);

// parse/encode for any payload struct T with kType, parse_body and encode_body.
template <class T>
Expected<T, ParseError> parse_payload(ByteReader& reader) {
  auto opened = open_payload(reader, T::kType);
  if (!opened) return unexpected(std::move(opened).error());
  return T::parse_body(opened->body);
}

template <class T>
[[nodiscard]] bool encode_payload(ByteWriter& writer, const T& payload, PayloadType next) {
  const std::size_t start = begin_payload(writer, next);
  payload.encode_body(writer);
  return end_payload(writer, start);
}

// Declares the standard parse/encode pair inside a payload struct.
#define WARD_ISAKMP_PAYLOAD_CODEC(Type)                                                      \
  static ::ward::Expected<Type, ::ward::ParseError> parse(::ward::ByteReader& reader) {      \
    return ::ward::ike::parse_payload<Type>(reader);                                         \
  }                                                                                          \
  [[nodiscard]] bool encode(::ward::ByteWriter& writer,                                      \
                            PayloadType next = PayloadType::None) const {                    \
    return ::ward::ike::encode_payload(writer, *this, next);                                 \
  }

}  // namespace ward::ike
