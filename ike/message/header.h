// The ISAKMP header (RFC 2408 3.1), 28 bytes, always in the clear:
//
// ! Initiator Cookie (8) ! Responder Cookie (8) ! Next Payload (1) ! MjVer|MnVer (1) !
// ! Exchange Type (1) ! Flags (1) ! Message ID (4) ! Length (4) !
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/expected.h"
#include "common/parse_error.h"
#include "ike/constants.h"

namespace ward::ike {

using Cookie = std::array<std::byte, kCookieSize>;

// A failure to accept a message: the detail, plus the RFC 2408 3.14.1 notify type that names
// it (a responder may send it once the exchange is authenticated; before that, Ward stays silent).
struct MessageError {
  NotifyMessageType notify = NotifyMessageType::PayloadMalformed;
  ParseError detail;

  std::string to_string() const;
};

struct IsakmpHeader {
  Cookie initiator_cookie{};
  Cookie responder_cookie{};
  PayloadType next_payload = PayloadType::None;   // the first payload's type
  ExchangeType exchange_type = ExchangeType::IdentityProtection;
  std::uint8_t flags = 0;                         // HeaderFlag bits
  std::uint32_t message_id = 0;
  std::uint32_t length = 0;                       // whole message, header included

  bool has(HeaderFlag flag) const noexcept { return (flags & static_cast<std::uint8_t>(flag)) != 0; }
  void set(HeaderFlag flag, bool on) noexcept {
    flags = static_cast<std::uint8_t>(on ? flags | static_cast<std::uint8_t>(flag)
                                         : flags & ~static_cast<std::uint8_t>(flag));
  }

  // Reads and checks the 28 header bytes: MjVer 1 (INVALID-MAJOR-VERSION), MnVer 0
  // (INVALID-MINOR-VERSION), a known exchange type (INVALID-EXCHANGE-TYPE), no reserved flag
  // bits (INVALID-FLAGS), a non-zero initiator cookie (INVALID-COOKIE), a known first payload
  // type (INVALID-PAYLOAD-TYPE) and Length >= 28.
  static Expected<IsakmpHeader, MessageError> parse(ByteReader& reader);
  // Writes the header as is, Length included (the message encoder fills Length in).
  void encode(ByteWriter& writer) const;

  friend bool operator==(const IsakmpHeader&, const IsakmpHeader&) = default;
};

}  // namespace ward::ike
