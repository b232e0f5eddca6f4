#include "ike/message/message.h"

#include <array>
#include <string>
#include <utility>

namespace ward::ike {

namespace {

constexpr const char* kMessageStructure = "ISAKMP message";

Unexpected<MessageError> bad_message(NotifyMessageType notify, std::string field, std::size_t offset,
                              std::string message) {
  return unexpected(MessageError{notify, ParseError{kMessageStructure, std::move(field), offset, std::move(message)}});
}

std::string type_text(PayloadType type) {
  return std::string(name(type)) + " (" + std::to_string(static_cast<int>(type)) + ")";
}

// Which notify names a payload's decoding failure (RFC 2408 3.14.1).
NotifyMessageType notify_for(PayloadType type) {
  switch (type) {
    case PayloadType::SecurityAssociation: return NotifyMessageType::BadProposalSyntax;
    case PayloadType::Identification: return NotifyMessageType::InvalidIdInformation;
    case PayloadType::Certificate: return NotifyMessageType::InvalidCertEncoding;
    case PayloadType::KeyExchange: return NotifyMessageType::InvalidKeyInformation;
    case PayloadType::Hash: return NotifyMessageType::InvalidHashInformation;
    case PayloadType::Signature: return NotifyMessageType::InvalidSignature;
    default: return NotifyMessageType::PayloadMalformed;
  }
}

}  // namespace

std::size_t ParsedMessage::count(PayloadType type) const noexcept {
  std::size_t n = 0;
  for (const auto& payload : payloads) n += payload_type(payload) == type ? 1 : 0;
  return n;
}

Expected<Datagram, MessageError> split_datagram(std::span<const std::byte> datagram) {
  ByteReader reader(datagram, "ISAKMP header");
  auto header = IsakmpHeader::parse(reader);
  if (!header) return unexpected(std::move(header).error());
  if (header->length != datagram.size()) {
    return bad_message(NotifyMessageType::UnequalPayloadLengths, "Length", 24,
                "Length " + std::to_string(header->length) + " declared, datagram is " +
                    std::to_string(datagram.size()) + " bytes");
  }
  return Datagram{*header, reader.rest()};
}

Expected<ParsedMessage, MessageError> parse_payload_chain(const IsakmpHeader& header,
                                                          std::span<const std::byte> body, BodyKind kind,
                                                          std::size_t body_offset) {
  ParsedMessage out;
  out.header = header;
  ByteReader reader(body, kMessageStructure, body_offset);
  std::uint8_t next = static_cast<std::uint8_t>(header.next_payload);
  std::size_t next_field_at = 16;   // the header's Next Payload octet
  while (next != static_cast<std::uint8_t>(PayloadType::None)) {
    if (out.payloads.size() == kMaxPayloadsPerMessage) {
      return bad_message(NotifyMessageType::PayloadMalformed, "Next Payload", next_field_at,
                  "more than " + std::to_string(kMaxPayloadsPerMessage) + " payloads");
    }
    // RFC 2408 5.2: an unknown type (IKEv1 has no critical bit to excuse it) ends processing.
    // Proposal and Transform only live inside an SA.
    if (!is_known_payload_type(next) || next == static_cast<std::uint8_t>(PayloadType::Proposal) ||
        next == static_cast<std::uint8_t>(PayloadType::Transform)) {
      return bad_message(NotifyMessageType::InvalidPayloadType, "Next Payload", next_field_at,
                  "Next Payload " + std::to_string(next) + " is not a message-level payload type");
    }
    const auto type = static_cast<PayloadType>(next);
    auto opened = open_payload(reader, type);
    if (!opened) return unexpected(MessageError{NotifyMessageType::PayloadMalformed, std::move(opened).error()});
    auto payload = parse_payload_body(type, opened->body);
    if (!payload) return unexpected(MessageError{notify_for(type), std::move(payload).error()});
    out.payloads.push_back(std::move(*payload));
    next = opened->next_payload;
    next_field_at = opened->start;
  }
  const std::size_t left = reader.remaining();
  if (kind == BodyKind::Plain && left != 0) {
    return bad_message(NotifyMessageType::UnequalPayloadLengths, "Length", reader.offset(),
                std::to_string(left) + " bytes after the last payload");
  }
  if (kind == BodyKind::Decrypted && left > kMaxEncryptionPadding) {
    return bad_message(NotifyMessageType::UnequalPayloadLengths, "padding", reader.offset(),
                std::to_string(left) + " bytes after the last payload, at most " +
                    std::to_string(kMaxEncryptionPadding) + " of padding accepted");
  }
  out.padding = left;
  return out;
}

Expected<void, MessageError> check_rules(const ParsedMessage& message, MessageKind kind) {
  const MessageRules& rules = rules_for(kind);
  const std::string what(rules.description);
  const IsakmpHeader& header = message.header;
  if (header.exchange_type != rules.exchange) {
    return bad_message(NotifyMessageType::InvalidExchangeType, "Exchange Type", 18,
                what + ": Exchange Type " + std::to_string(static_cast<int>(header.exchange_type)) + ", " +
                    std::to_string(static_cast<int>(rules.exchange)) + " (" + std::string(name(rules.exchange)) +
                    ") expected");
  }
  if (header.has(HeaderFlag::Encryption) != rules.encrypted) {
    return bad_message(NotifyMessageType::InvalidFlags, "Flags", 19,
                what + (rules.encrypted ? ": must be encrypted, E flag clear" : ": must be in the clear, E flag set"));
  }
  if ((rules.message_id == MessageIdRule::Zero && header.message_id != 0) ||
      (rules.message_id == MessageIdRule::NonZero && header.message_id == 0)) {
    return bad_message(NotifyMessageType::InvalidMessageId, "Message ID", 20,
                what + ": Message ID " + std::to_string(header.message_id) +
                    (rules.message_id == MessageIdRule::Zero ? ", 0 expected" : ", non-zero expected"));
  }
  if (rules.first != PayloadType::None &&
      (message.payloads.empty() || payload_type(message.payloads.front()) != rules.first)) {
    return bad_message(NotifyMessageType::InvalidPayloadType, "Next Payload", 16,
                what + ": must begin with " + type_text(rules.first) + ", begins with " +
                    (message.payloads.empty() ? std::string("nothing")
                                              : type_text(payload_type(message.payloads.front()))));
  }
  std::array<std::size_t, kPayloadSlotCount> counts{};
  for (const auto& payload : message.payloads) ++counts[payload_slot(payload_type(payload))];
  for (std::size_t t = 0; t < counts.size(); ++t) {
    if (counts[t] == 0) continue;
    bool listed = false;
    for (const auto& rule : rules.rules()) listed = listed || payload_slot(rule.type) == t;
    if (!listed) {
      return bad_message(NotifyMessageType::InvalidPayloadType, "payloads", kIsakmpHeaderSize,
                  what + ": " + type_text(payload_at_slot(t)) + " not allowed (" +
                      std::to_string(counts[t]) + " present)");
    }
  }
  for (const auto& rule : rules.rules()) {
    const std::size_t n = counts[payload_slot(rule.type)];
    if (n < rule.min || n > rule.max) {
      return bad_message(NotifyMessageType::PayloadMalformed, "payloads", kIsakmpHeaderSize,
                  what + ": " + std::to_string(n) + " " + type_text(rule.type) + " payloads, " +
                      std::to_string(rule.min) + ".." + std::to_string(rule.max) + " expected");
    }
  }
  if (rules.either.a != PayloadType::None) {
    const std::size_t n = counts[payload_slot(rules.either.a)] + counts[payload_slot(rules.either.b)];
    if (n < rules.either.min || n > rules.either.max) {
      return bad_message(NotifyMessageType::PayloadMalformed, "payloads", kIsakmpHeaderSize,
                  what + ": " + std::to_string(n) + " " + type_text(rules.either.a) + " + " +
                      type_text(rules.either.b) + " payloads, " + std::to_string(rules.either.min) + ".." +
                      std::to_string(rules.either.max) + " expected");
    }
  }
  return {};
}

Expected<ParsedMessage, MessageError> parse_message(std::span<const std::byte> datagram, MessageKind kind) {
  auto split = split_datagram(datagram);
  if (!split) return unexpected(std::move(split).error());
  if (split->header.has(HeaderFlag::Encryption)) {
    return bad_message(NotifyMessageType::InvalidFlags, "Flags", 19,
                std::string(name(kind)) + ": E flag set; decrypt the body and call parse_decrypted_message");
  }
  auto parsed = parse_payload_chain(split->header, split->body, BodyKind::Plain);
  if (!parsed) return unexpected(std::move(parsed).error());
  auto checked = check_rules(*parsed, kind);
  if (!checked) return unexpected(checked.error());
  return parsed;
}

Expected<ParsedMessage, MessageError> parse_decrypted_message(const IsakmpHeader& header,
                                                              std::span<const std::byte> plaintext,
                                                              MessageKind kind) {
  auto parsed = parse_payload_chain(header, plaintext, BodyKind::Decrypted);
  if (!parsed) return unexpected(std::move(parsed).error());
  auto checked = check_rules(*parsed, kind);
  if (!checked) return unexpected(checked.error());
  return parsed;
}

// ---- encoding ------------------------------------------------------------------------------------

Expected<EncodedBody, EncodeError> encode_payload_chain(std::span<const Payload> payloads) {
  EncodedBody out;
  ByteWriter writer;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const PayloadType next = i + 1 < payloads.size() ? payload_type(payloads[i + 1]) : PayloadType::None;
    if (!encode_payload(writer, payloads[i], next)) {
      return unexpected(EncodeError{i, payload_type(payloads[i]),
                                    "payload longer than " + std::to_string(kMaxPayloadLength) + " bytes"});
    }
  }
  out.first = payloads.empty() ? PayloadType::None : payload_type(payloads.front());
  out.bytes = std::move(writer).take();
  return out;
}

namespace {

Expected<std::vector<std::byte>, EncodeError> assemble(IsakmpHeader header, std::span<const std::byte> body) {
  const std::size_t total = kIsakmpHeaderSize + body.size();
  if (total > 0xffffffffu) return unexpected(EncodeError{0, PayloadType::None, "message longer than 2^32-1 bytes"});
  header.length = static_cast<std::uint32_t>(total);
  ByteWriter writer;
  header.encode(writer);
  writer.bytes(body);
  return std::move(writer).take();
}

}  // namespace

Expected<std::vector<std::byte>, EncodeError> encode_message(IsakmpHeader header,
                                                             std::span<const Payload> payloads) {
  auto body = encode_payload_chain(payloads);
  if (!body) return unexpected(std::move(body).error());
  header.set(HeaderFlag::Encryption, false);
  header.next_payload = body->first;
  return assemble(header, body->bytes);
}

Expected<std::vector<std::byte>, EncodeError> encode_encrypted_message(IsakmpHeader header, PayloadType first,
                                                                       std::span<const std::byte> ciphertext) {
  header.set(HeaderFlag::Encryption, true);
  header.next_payload = first;
  return assemble(header, ciphertext);
}

}  // namespace ward::ike
