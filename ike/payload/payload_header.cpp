#include "ike/payload/payload_header.h"

#include <string>
#include <utility>

namespace ward::ike {

std::string payload_structure(PayloadType type) {
  std::string text = "ISAKMP ";
  text += name(type);
  text += " payload";
  return text;
}

Expected<PayloadBody, ParseError> open_payload(ByteReader& reader, PayloadType type) {
  const std::size_t start = reader.offset();
  const std::string structure = payload_structure(type);
  auto fail = [&](std::string_view field, std::string message) {
    return unexpected(ParseError{structure, std::string(field), start, std::move(message)});
  };
  // 1. Enough bytes for the generic header?
  if (reader.remaining() < kGenericPayloadHeaderSize) {
    return fail("generic payload header", "needs " + std::to_string(kGenericPayloadHeaderSize) +
                                              " bytes, only " + std::to_string(reader.remaining()) +
                                              " left");
  }
  ByteReader probe = reader;
  const std::uint8_t next = probe.u8("Next Payload").value();
  const std::uint8_t reserved = probe.u8("RESERVED").value();
  const std::uint16_t length = probe.u16_be("Payload Length").value();
  if (reserved != 0) {
    return fail("RESERVED", "RESERVED is " + std::to_string(reserved) + ", must be 0");
  }
  // 2. Declared length covers at least the header?
  if (length < kGenericPayloadHeaderSize) {
    return fail("Payload Length", "payload length " + std::to_string(length) + " < " +
                                      std::to_string(kGenericPayloadHeaderSize) + " (generic header)");
  }
  // 3. Bytes left cover the declared length?
  if (reader.remaining() < length) {
    return fail("Payload Length", "payload length " + std::to_string(length) + " declared, only " +
                                      std::to_string(reader.remaining()) + " bytes left");
  }
  auto whole = reader.bytes(length, "payload");
  if (!whole) return unexpected(std::move(whole).error());
  const std::size_t body_offset = start + kGenericPayloadHeaderSize;
  return PayloadBody{next, start, length,
                     ByteReader(whole->subspan(kGenericPayloadHeaderSize), structure, body_offset)};
}

Expected<void, ParseError> expect_consumed(const ByteReader& body, std::string_view what) {
  if (!body.empty()) {
    return unexpected(body.error(what, std::to_string(body.remaining()) +
                                           " bytes left over after the last field"));
  }
  return {};
}

std::size_t begin_payload(ByteWriter& writer, PayloadType next) {
  const std::size_t start = writer.size();
  writer.u8(static_cast<std::uint8_t>(next));
  writer.u8(0);       // RESERVED
  writer.u16_be(0);   // Payload Length, patched by end_payload
  return start;
}

bool end_payload(ByteWriter& writer, std::size_t start) {
  const std::size_t length = writer.size() - start;
  if (length > kMaxPayloadLength) return false;
  writer.patch_u16_be(start + 2, static_cast<std::uint16_t>(length));
  return true;
}

}  // namespace ward::ike
