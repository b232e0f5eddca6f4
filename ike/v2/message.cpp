#include "ike/v2/payloads.h"

#include <algorithm>

#include "ike/v2/payload_bodies.h"

namespace ward::ike::v2 {

using detail::encode_body;
using detail::next_of;
using detail::parse_body;
using detail::raw_type_of;
using detail::structure_of;

const IdPayload* find_id(std::span<const Payload> payloads, bool initiator) noexcept {
  for (const auto& p : payloads)
    if (const auto* id = std::get_if<IdPayload>(&p); id && id->initiator == initiator) return id;
  return nullptr;
}

const TsPayload* find_ts(std::span<const Payload> payloads, bool initiator) noexcept {
  for (const auto& p : payloads)
    if (const auto* ts = std::get_if<TsPayload>(&p); ts && ts->initiator == initiator) return ts;
  return nullptr;
}

const NotifyPayload* find_notify(std::span<const Payload> payloads, NotifyType type) noexcept {
  for (const auto& p : payloads)
    if (const auto* n = std::get_if<NotifyPayload>(&p); n && n->is(type)) return n;
  return nullptr;
}

const NotifyPayload* find_error(std::span<const Payload> payloads) noexcept {
  for (const auto& p : payloads)
    if (const auto* n = std::get_if<NotifyPayload>(&p); n && n->is_error()) return n;
  return nullptr;
}

std::string MessageError::to_string() const { return std::string(name(notify)) + ": " + detail.to_string(); }

Expected<Header, ParseError> Header::parse(ByteReader& reader, std::size_t datagram_size) {
  Header h;
  auto spi_i = reader.bytes(kSpiSize, "IKE SA Initiator's SPI");
  auto spi_r = reader.bytes(kSpiSize, "IKE SA Responder's SPI");
  if (!spi_i) return unexpected(spi_i.error());
  if (!spi_r) return unexpected(spi_r.error());
  std::copy(spi_i->begin(), spi_i->end(), h.initiator_spi.begin());
  std::copy(spi_r->begin(), spi_r->end(), h.responder_spi.begin());
  auto next = reader.u8("Next Payload");
  auto version = reader.u8("Version");
  auto exchange = reader.u8("Exchange Type");
  auto flags = reader.u8("Flags");
  auto message_id = reader.u32_be("Message ID");
  auto length = reader.u32_be("Length");
  if (!length) return unexpected(length.error());
  h.next_payload = static_cast<PayloadType>(*next);
  h.version = *version;
  h.flags = *flags;
  h.message_id = *message_id;
  h.length = *length;
  if ((*version >> 4) != 2) {
    ParseError e = reader.error("Version", "major version " + std::to_string(*version >> 4) + ", not 2");
    e.offset = 17;
    return unexpected(std::move(e));
  }
  if (*exchange < 34 || *exchange > 37) {
    ParseError e = reader.error("Exchange Type", "unknown exchange type " + std::to_string(*exchange));
    e.offset = 18;
    return unexpected(std::move(e));
  }
  h.exchange = static_cast<ExchangeType>(*exchange);
  if ((*flags & ~0x38u) != 0) {
    ParseError e = reader.error("Flags", "reserved flag bits set in " + std::to_string(*flags));
    e.offset = 19;
    return unexpected(std::move(e));
  }
  if (std::all_of(h.initiator_spi.begin(), h.initiator_spi.end(), [](std::byte b) { return b == std::byte{0}; })) {
    ParseError e = reader.error("IKE SA Initiator's SPI", "zero");
    e.offset = 0;
    return unexpected(std::move(e));
  }
  if (h.length != datagram_size) {
    ParseError e = reader.error("Length", "Length " + std::to_string(h.length) + " but the datagram has " +
                                              std::to_string(datagram_size) + " bytes");
    e.offset = 24;
    return unexpected(std::move(e));
  }
  return h;
}

void Header::encode(ByteWriter& w) const {
  w.bytes(initiator_spi);
  w.bytes(responder_spi);
  w.u8(static_cast<std::uint8_t>(next_payload));
  w.u8(version);
  w.u8(static_cast<std::uint8_t>(exchange));
  w.u8(flags);
  w.u32_be(message_id);
  w.u32_be(length);
}

Expected<std::vector<Payload>, MessageError> parse_payload_chain(PayloadType first, std::span<const std::byte> bytes,
                                                                 std::size_t base_offset) {
  std::vector<Payload> out;
  ByteReader reader(bytes, "IKEv2 payload chain", base_offset);
  auto next = static_cast<std::uint8_t>(first);
  while (next != 0) {
    const std::size_t start = reader.offset();
    ByteReader header_reader = reader;
    auto following = reader.u8("Next Payload");
    auto flags = reader.u8("Critical/RESERVED");
    auto length = reader.u16_be("Payload Length");
    if (!following || !flags || !length) {
      ParseError e{structure_of(next), "generic payload header", start,
                   "needs 4 bytes, only " + std::to_string(header_reader.remaining()) + " left"};
      return unexpected(MessageError{NotifyType::InvalidSyntax, std::move(e)});
    }
    if (*length < kGenericPayloadHeaderSize || *length - kGenericPayloadHeaderSize > reader.remaining()) {
      ParseError e{structure_of(next), "Payload Length", start + 2,
                   "Payload Length " + std::to_string(*length) + " but " +
                       std::to_string(reader.remaining() + kGenericPayloadHeaderSize) + " bytes left"};
      return unexpected(MessageError{NotifyType::InvalidSyntax, std::move(e)});
    }
    auto raw = reader.bytes(*length - kGenericPayloadHeaderSize, "payload body");
    ByteReader body(*raw, structure_of(next), start + kGenericPayloadHeaderSize);
    const bool critical = (*flags & kCriticalBit) != 0;
    auto payload = parse_body(next, critical, body);
    if (!payload) {
      const bool unsupported = payload.error().field == "Critical";
      return unexpected(MessageError{unsupported ? NotifyType::UnsupportedCriticalPayload : NotifyType::InvalidSyntax,
                                     std::move(payload).error()});
    }
    if (auto* sk = std::get_if<EncryptedPayload>(&*payload)) {
      sk->first_inner = static_cast<PayloadType>(*following);
      sk->offset = start;
      if (!reader.empty()) {
        ParseError e{structure_of(next), "Payload Length", start + 2, "the SK payload is not the last payload"};
        return unexpected(MessageError{NotifyType::InvalidSyntax, std::move(e)});
      }
      out.push_back(std::move(*payload));
      return out;
    }
    out.push_back(std::move(*payload));
    next = *following;
  }
  if (!reader.empty()) {
    ParseError e{"IKEv2 payload chain", "Next Payload", reader.offset(),
                 std::to_string(reader.remaining()) + " bytes after the last payload"};
    return unexpected(MessageError{NotifyType::InvalidSyntax, std::move(e)});
  }
  return out;
}

Expected<Message, MessageError> parse_message(std::span<const std::byte> datagram) {
  ByteReader reader(datagram, "IKEv2 header");
  auto header = Header::parse(reader, datagram.size());
  if (!header) {
    const auto notify = header.error().field == "Version" ? NotifyType::InvalidMajorVersion : NotifyType::InvalidSyntax;
    return unexpected(MessageError{notify, std::move(header).error()});
  }
  auto payloads = parse_payload_chain(header->next_payload, datagram.subspan(kHeaderSize), kHeaderSize);
  if (!payloads) return unexpected(std::move(payloads).error());
  return Message{*header, std::move(*payloads)};
}

Expected<Bytes, std::string> encode_payload_chain(std::span<const Payload> payloads) {
  ByteWriter w;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const std::size_t start = w.size();
    const std::uint8_t next = i + 1 < payloads.size() ? raw_type_of(payloads[i + 1]) : next_of(payloads[i]);
    w.u8(std::get_if<EncryptedPayload>(&payloads[i]) ? next_of(payloads[i]) : next);
    w.u8(0);
    w.u16_be(0);
    encode_body(w, payloads[i]);
    const std::size_t length = w.size() - start;
    if (length > 0xffff) return unexpected(std::string(name(type_of(payloads[i]))) + " payload of " + std::to_string(length) + " bytes");
    w.patch_u16_be(start + 2, static_cast<std::uint16_t>(length));
  }
  return std::move(w).take();
}

Expected<Bytes, std::string> encode_message(Header header, std::span<const Payload> payloads) {
  auto chain = encode_payload_chain(payloads);
  if (!chain) return unexpected(chain.error());
  header.next_payload = payloads.empty() ? PayloadType::None : static_cast<PayloadType>(raw_type_of(payloads.front()));
  header.length = static_cast<std::uint32_t>(kHeaderSize + chain->size());
  ByteWriter w;
  header.encode(w);
  w.bytes(*chain);
  return std::move(w).take();
}

}  // namespace ward::ike::v2
