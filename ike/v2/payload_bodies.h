// The per-payload decoders and encoders behind payloads.h, shared by payloads.cpp (the bodies)
// and message.cpp (the header and the chain). Internal to ike/v2.
#pragma once

#include <string>

#include "ike/v2/payloads.h"

namespace ward::ike::v2::detail {

// "IKEv2 SA payload": the ParseError structure of a payload.
std::string structure_of(std::uint8_t type);
// A payload body of `type` (the generic header already consumed); a critical unknown type fails
// with field "Critical".
Expected<Payload, ParseError> parse_body(std::uint8_t type, bool critical, ByteReader& body);
void encode_body(ByteWriter& writer, const Payload& payload);
// The Next Payload octet that names `payload` (an unknown one's own number).
std::uint8_t raw_type_of(const Payload& payload) noexcept;
// What `payload`'s own Next Payload says when it is last: an SK payload's first inner type, else 0.
std::uint8_t next_of(const Payload& payload) noexcept;

}  // namespace ward::ike::v2::detail
