#include "ike/message/header.h"

#include <algorithm>
#include <string>
#include <utility>

namespace ward::ike {

namespace {

constexpr const char* kStructure = "ISAKMP header";

bool exchange_known(std::uint8_t value) {
  switch (static_cast<ExchangeType>(value)) {
    case ExchangeType::None:
      return false;
    case ExchangeType::Base:
    case ExchangeType::IdentityProtection:
    case ExchangeType::AuthenticationOnly:
    case ExchangeType::Aggressive:
    case ExchangeType::Informational:
    case ExchangeType::QuickMode:
    case ExchangeType::NewGroupMode:
      return true;
  }
  return false;
}

Unexpected<MessageError> bad_header(NotifyMessageType notify, std::string field, std::size_t offset,
                              std::string message) {
  return unexpected(MessageError{notify, ParseError{kStructure, std::move(field), offset, std::move(message)}});
}

}  // namespace

std::string MessageError::to_string() const {
  std::string text = detail.to_string();
  text += " [";
  text += name(notify);
  text += "]";
  return text;
}

Expected<IsakmpHeader, MessageError> IsakmpHeader::parse(ByteReader& reader) {
  const std::size_t start = reader.offset();
  if (reader.remaining() < kIsakmpHeaderSize) {
    return bad_header(NotifyMessageType::PayloadMalformed, "ISAKMP header", start,
                "needs " + std::to_string(kIsakmpHeaderSize) + " bytes, only " +
                    std::to_string(reader.remaining()) + " present");
  }
  // The size check above makes every read below succeed.
  IsakmpHeader out;
  auto initiator = reader.bytes(kCookieSize, "Initiator Cookie").value();
  auto responder = reader.bytes(kCookieSize, "Responder Cookie").value();
  std::copy(initiator.begin(), initiator.end(), out.initiator_cookie.begin());
  std::copy(responder.begin(), responder.end(), out.responder_cookie.begin());
  const std::uint8_t next = reader.u8("Next Payload").value();
  const std::uint8_t version = reader.u8("Version").value();
  const std::uint8_t exchange = reader.u8("Exchange Type").value();
  out.flags = reader.u8("Flags").value();
  out.message_id = reader.u32_be("Message ID").value();
  out.length = reader.u32_be("Length").value();

  if (out.initiator_cookie == Cookie{}) {
    return bad_header(NotifyMessageType::InvalidCookie, "Initiator Cookie", start, "Initiator Cookie is zero");
  }
  if (next != 0 && !is_known_payload_type(next)) {
    return bad_header(NotifyMessageType::InvalidPayloadType, "Next Payload", start + 16,
                "Next Payload " + std::to_string(next) + " unknown");
  }
  out.next_payload = static_cast<PayloadType>(next);
  const std::uint8_t major = version >> 4;
  const std::uint8_t minor = version & 0x0f;
  if (major != kIsakmpMajorVersion) {
    return bad_header(NotifyMessageType::InvalidMajorVersion, "MjVer", start + 17,
                "MjVer " + std::to_string(major) + ", " + std::to_string(kIsakmpMajorVersion) + " expected");
  }
  if (minor != kIsakmpMinorVersion) {
    return bad_header(NotifyMessageType::InvalidMinorVersion, "MnVer", start + 17,
                "MnVer " + std::to_string(minor) + ", " + std::to_string(kIsakmpMinorVersion) + " expected");
  }
  if (!exchange_known(exchange)) {
    return bad_header(NotifyMessageType::InvalidExchangeType, "Exchange Type", start + 18,
                "Exchange Type " + std::to_string(exchange) + " unknown");
  }
  out.exchange_type = static_cast<ExchangeType>(exchange);
  if ((out.flags & ~kHeaderFlagsDefined) != 0) {
    return bad_header(NotifyMessageType::InvalidFlags, "Flags", start + 19,
                "Flags " + std::to_string(out.flags) + " has reserved bits set (only " +
                    std::to_string(kHeaderFlagsDefined) + " defined)");
  }
  if (out.length < kIsakmpHeaderSize) {
    return bad_header(NotifyMessageType::PayloadMalformed, "Length", start + 24,
                "Length " + std::to_string(out.length) + " < " + std::to_string(kIsakmpHeaderSize) +
                    " (header)");
  }
  return out;
}

void IsakmpHeader::encode(ByteWriter& writer) const {
  writer.bytes(initiator_cookie);
  writer.bytes(responder_cookie);
  writer.u8(static_cast<std::uint8_t>(next_payload));
  writer.u8(static_cast<std::uint8_t>((kIsakmpMajorVersion << 4) | kIsakmpMinorVersion));
  writer.u8(static_cast<std::uint8_t>(exchange_type));
  writer.u8(flags);
  writer.u32_be(message_id);
  writer.u32_be(length);
}

}  // namespace ward::ike
