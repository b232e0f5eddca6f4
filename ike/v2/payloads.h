// IKEv2 messages and payloads (RFC 7296 3): the header, the generic payload header with its
// critical bit, and one value type per payload. Every decoder reads through ByteReader, so errors
// name the payload ("IKEv2 SA payload"), the field and the absolute byte offset in the message.
//
// A message is a header and a chain of payloads. An SK payload (3.14) is kept as its raw body and
// the type of its first inner payload; sk.h opens it and parse_payload_chain() decodes the inner
// chain with offsets relative to the whole message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/expected.h"
#include "common/ip.h"
#include "common/parse_error.h"
#include "ike/v2/constants.h"

namespace ward::ike::v2 {

using Spi = std::array<std::byte, kSpiSize>;
using Bytes = std::vector<std::byte>;

struct Header {
  Spi initiator_spi{};
  Spi responder_spi{};
  PayloadType next_payload = PayloadType::None;
  std::uint8_t version = kVersion;
  ExchangeType exchange = ExchangeType::IkeSaInit;
  std::uint8_t flags = 0;
  std::uint32_t message_id = 0;
  std::uint32_t length = 0;   // the whole message; encode_message fills it in

  bool has(HeaderFlag flag) const noexcept { return (flags & static_cast<std::uint8_t>(flag)) != 0; }
  void set(HeaderFlag flag) noexcept { flags = static_cast<std::uint8_t>(flags | static_cast<std::uint8_t>(flag)); }

  // Checks: major version 2 (minor versions are ignored, 2.5), a known exchange type, no flag bits
  // outside I/V/R, a non-zero initiator SPI, Length >= 28 and = the datagram's size.
  static Expected<Header, ParseError> parse(ByteReader& reader, std::size_t datagram_size);
  void encode(ByteWriter& writer) const;
  friend bool operator==(const Header&, const Header&) = default;
};

struct Transform {
  TransformType type = TransformType::Encryption;
  std::uint16_t id = 0;
  std::optional<std::uint16_t> key_length;   // Key Length attribute, bits
  friend bool operator==(const Transform&, const Transform&) = default;
};

struct Proposal {
  std::uint8_t number = 1;
  ProtocolId protocol = ProtocolId::Ike;
  Bytes spi;                   // 0 (IKE_SA_INIT), 8 (IKE rekey) or 4 (AH/ESP) bytes
  std::vector<Transform> transforms;
  friend bool operator==(const Proposal&, const Proposal&) = default;
};

struct SaPayload {
  static constexpr PayloadType kType = PayloadType::SecurityAssociation;
  std::vector<Proposal> proposals;
  friend bool operator==(const SaPayload&, const SaPayload&) = default;
};

struct KePayload {
  static constexpr PayloadType kType = PayloadType::KeyExchange;
  std::uint16_t group = 0;   // IkeGroupDescription's numbers
  Bytes data;
  friend bool operator==(const KePayload&, const KePayload&) = default;
};

struct NoncePayload {
  static constexpr PayloadType kType = PayloadType::Nonce;
  Bytes data;   // 16..256 bytes
  friend bool operator==(const NoncePayload&, const NoncePayload&) = default;
};

// IDi and IDr (3.5); `initiator` tells which.
struct IdPayload {
  bool initiator = true;
  IdType type = IdType::Ipv4Address;
  Bytes data;
  // "RestOfInitIDPayload" / "RestOfRespIDPayload" (2.15): the body after the generic header.
  Bytes body() const;
  friend bool operator==(const IdPayload&, const IdPayload&) = default;
};

struct AuthPayload {
  static constexpr PayloadType kType = PayloadType::Authentication;
  AuthMethod method = AuthMethod::SharedKeyMic;
  Bytes data;
  friend bool operator==(const AuthPayload&, const AuthPayload&) = default;
};

// CERT and CERTREQ (3.6, 3.7): an encoding and its data; `request` tells which.
struct CertPayload {
  bool request = false;
  std::uint8_t encoding = 4;   // 4: X.509 Certificate - Signature
  Bytes data;
  friend bool operator==(const CertPayload&, const CertPayload&) = default;
};

struct NotifyPayload {
  static constexpr PayloadType kType = PayloadType::Notify;
  std::uint8_t protocol = 0;   // 0 unless it concerns a CHILD_SA
  Bytes spi;
  std::uint16_t type = 0;      // NotifyType, but any value may arrive
  Bytes data;
  bool is(NotifyType t) const noexcept { return type == static_cast<std::uint16_t>(t); }
  bool is_error() const noexcept { return type < kFirstStatusNotify; }
  friend bool operator==(const NotifyPayload&, const NotifyPayload&) = default;
};

// A notify about the IKE SA (no protocol, no SPI): an error, or a status such as NAT_DETECTION_*.
inline NotifyPayload notify(NotifyType type, Bytes data = {}) {
  return NotifyPayload{0, {}, static_cast<std::uint16_t>(type), std::move(data)};
}

struct DeletePayload {
  static constexpr PayloadType kType = PayloadType::Delete;
  ProtocolId protocol = ProtocolId::Esp;
  std::uint8_t spi_size = 4;
  std::vector<Bytes> spis;
  friend bool operator==(const DeletePayload&, const DeletePayload&) = default;
};

// A CHILD_SA's SPI (ESP, 3.3.1) as proposals, notifies and deletes carry it: 4 bytes, big-endian,
// and back (`bytes` is 4 long: callers check, the delete parser checks the SPI Size).
Bytes child_spi_bytes(std::uint32_t spi);
std::uint32_t child_spi_value(std::span<const std::byte> bytes) noexcept;

struct VendorIdPayload {
  static constexpr PayloadType kType = PayloadType::VendorId;
  Bytes data;
  friend bool operator==(const VendorIdPayload&, const VendorIdPayload&) = default;
};

// One traffic selector (3.13.1): an address range, a protocol (0 any) and a port range.
struct TrafficSelector {
  std::uint8_t ip_protocol = 0;
  PortRange ports = PortRange::any();
  IpAddress start;
  IpAddress end;
  static TrafficSelector of(const IpPrefix& prefix, std::uint8_t protocol = 0, PortRange ports = PortRange::any());
  bool contains(const TrafficSelector& other) const noexcept;
  std::string to_string() const;   // "10.0.0.1-10.0.0.1 proto 0 ports 0-65535"
  friend bool operator==(const TrafficSelector&, const TrafficSelector&) = default;
};

struct TsPayload {
  bool initiator = true;   // TSi or TSr
  std::vector<TrafficSelector> selectors;
  friend bool operator==(const TsPayload&, const TsPayload&) = default;
};

// SK (3.14): IV | ciphertext | ICV as received, and the type of the first inner payload.
struct EncryptedPayload {
  PayloadType first_inner = PayloadType::None;
  std::size_t offset = 0;   // of the SK generic header in the message
  Bytes body;
  friend bool operator==(const EncryptedPayload&, const EncryptedPayload&) = default;
};

// A payload Ward does not decode (V-like extensions, CP, EAP), kept so the chain can be walked;
// one with the critical bit set fails the parse (UNSUPPORTED_CRITICAL_PAYLOAD, 2.5).
struct UnknownPayload {
  std::uint8_t type = 0;
  Bytes body;
  friend bool operator==(const UnknownPayload&, const UnknownPayload&) = default;
};

using Payload = std::variant<SaPayload, KePayload, NoncePayload, IdPayload, AuthPayload, CertPayload, NotifyPayload,
                             DeletePayload, VendorIdPayload, TsPayload, EncryptedPayload, UnknownPayload>;

PayloadType type_of(const Payload& payload) noexcept;

// The first payload of a kind in a chain: a message's, or an SK payload's once decrypted.
template <class T>
const T* find_payload(std::span<const Payload> payloads) noexcept {
  for (const auto& p : payloads)
    if (const auto* t = std::get_if<T>(&p)) return t;
  return nullptr;
}
const IdPayload* find_id(std::span<const Payload> payloads, bool initiator) noexcept;
const TsPayload* find_ts(std::span<const Payload> payloads, bool initiator) noexcept;
const NotifyPayload* find_notify(std::span<const Payload> payloads, NotifyType type) noexcept;
// The first error notify (type < 16384), if any.
const NotifyPayload* find_error(std::span<const Payload> payloads) noexcept;

struct Message {
  Header header;
  std::vector<Payload> payloads;

  template <class T>
  const T* find() const noexcept {
    return find_payload<T>(payloads);
  }
  const IdPayload* find_id(bool initiator) const noexcept { return v2::find_id(payloads, initiator); }
  const TsPayload* find_ts(bool initiator) const noexcept { return v2::find_ts(payloads, initiator); }
  const NotifyPayload* find_notify(NotifyType type) const noexcept { return v2::find_notify(payloads, type); }
  const NotifyPayload* find_error() const noexcept { return v2::find_error(payloads); }
};

// Why a message was refused, and the notify a responder would answer with.
struct MessageError {
  NotifyType notify = NotifyType::InvalidSyntax;
  ParseError detail;
  std::string to_string() const;
};

// The header and the cleartext payload chain (an SK payload, which must be last, stays encrypted).
Expected<Message, MessageError> parse_message(std::span<const std::byte> datagram);
// A chain starting with a payload of type `first` over `bytes`, which sit at `base_offset` in the
// message (the SK payload's decrypted contents).
Expected<std::vector<Payload>, MessageError> parse_payload_chain(PayloadType first, std::span<const std::byte> bytes,
                                                                 std::size_t base_offset);

// The payload chain's bytes (each generic header's Next Payload set from its successor; the last
// says `last_next`, the SK payload's inner chain says None). Empty error on a payload over 64 KiB.
Expected<Bytes, std::string> encode_payload_chain(std::span<const Payload> payloads);
// A cleartext message: header (Next Payload and Length filled in) and payloads.
Expected<Bytes, std::string> encode_message(Header header, std::span<const Payload> payloads);

}  // namespace ward::ike::v2
