// Whole ISAKMP messages: split a datagram into header and body, walk the Next Payload chain,
// enforce the rule table for the expected message, and encode messages with lengths and the
// Next Payload chain filled in.
//
// Encrypted messages (E flag) keep the codec free of crypto:
//
//   auto datagram = split_datagram(bytes);               // header checked, body = ciphertext
//   // the IKE state machine decrypts datagram->body (AES-CBC / 3DES-CBC, phase 1 IV, RFC 2409 B);
//   // the last cipher block of datagram->body is what it keeps as the next IV
//   auto message = parse_decrypted_message(datagram->header, plaintext, MessageKind::QuickModeMessage1);
//
// and for sending:
//
//   auto body = encode_payload_chain(payloads);          // plaintext chain
//   // the state machine pads and encrypts body->bytes
//   auto bytes = encode_encrypted_message(header, body->first, ciphertext);
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "ike/message/header.h"
#include "ike/message/rules.h"
#include "ike/payload/payload.h"

namespace ward::ike {

struct Datagram {
  IsakmpHeader header;
  // Everything after the header: payloads, or ciphertext if E. A view into the datagram passed to
  // split_datagram, which must outlive it.
  std::span<const std::byte> body;
};

struct ParsedMessage {
  IsakmpHeader header;
  std::vector<Payload> payloads;   // in wire order
  std::size_t padding = 0;         // bytes after the last payload (decrypted bodies only)

  std::size_t count(PayloadType type) const noexcept;
  // The first payload of type T, or nullptr.
  template <class T>
  const T* find() const noexcept {
    for (const auto& payload : payloads) {
      if (const auto* p = std::get_if<T>(&payload)) return p;
    }
    return nullptr;
  }
  template <class T>
  std::vector<const T*> all() const {
    std::vector<const T*> out;
    for (const auto& payload : payloads) {
      if (const auto* p = std::get_if<T>(&payload)) out.push_back(p);
    }
    return out;
  }
};

// Reads the header and checks that its Length equals the datagram's size (no bytes missing, none
// trailing).
Expected<Datagram, MessageError> split_datagram(std::span<const std::byte> datagram);

enum class BodyKind : std::uint8_t {
  Plain,       // straight from the wire: the chain must end exactly at the end
  Decrypted,   // after CBC decryption: up to kMaxEncryptionPadding bytes of padding may follow
};

// Walks the Next Payload chain starting at header.next_payload; `body_offset` is where the body
// sits in the datagram so errors give wire offsets. No rule table: see check_rules.
Expected<ParsedMessage, MessageError> parse_payload_chain(const IsakmpHeader& header,
                                                          std::span<const std::byte> body, BodyKind kind,
                                                          std::size_t body_offset = kIsakmpHeaderSize);

// Enforces rules_for(kind) on a parsed message: exchange type, E flag, Message ID, first payload,
// per-type counts and the either/or rule. Unlisted payload types are refused.
Expected<void, MessageError> check_rules(const ParsedMessage& message, MessageKind kind);

// A message that travels in the clear (main mode 1-4, unprotected informational): split, walk
// and check. Refuses a message with the E flag (decrypt and use parse_decrypted_message).
Expected<ParsedMessage, MessageError> parse_message(std::span<const std::byte> datagram, MessageKind kind);

// A message whose body the caller decrypted: walk the plaintext and check the rules.
Expected<ParsedMessage, MessageError> parse_decrypted_message(const IsakmpHeader& header,
                                                              std::span<const std::byte> plaintext,
                                                              MessageKind kind);

// ---- encoding ------------------------------------------------------------------------------------

struct EncodeError {
  std::size_t index = 0;          // which payload
  PayloadType payload = PayloadType::None;
  std::string message;
};

struct EncodedBody {
  PayloadType first = PayloadType::None;   // goes into the header's Next Payload
  std::vector<std::byte> bytes;
};

// The payload chain with every Next Payload and Payload Length set.
Expected<EncodedBody, EncodeError> encode_payload_chain(std::span<const Payload> payloads);

// A cleartext message: header (E flag cleared, Next Payload and Length set) + chain.
Expected<std::vector<std::byte>, EncodeError> encode_message(IsakmpHeader header,
                                                             std::span<const Payload> payloads);

// An encrypted message: header (E flag set, Next Payload = first, Length set) + ciphertext.
Expected<std::vector<std::byte>, EncodeError> encode_encrypted_message(IsakmpHeader header, PayloadType first,
                                                                       std::span<const std::byte> ciphertext);

}  // namespace ward::ike
