#include "ike/sa/exchange.h"

#include <openssl/crypto.h>

#include "common/byte_reader.h"

namespace ward::ike::sa {

void Retransmitter::sent(std::vector<std::byte> message, TimePoint now, bool expect_answer) {
  last_ = std::move(message);
  sends_ = 1;
  interval_ = policy_.first_interval;
  due_ = now + interval_;
  armed_ = expect_answer;
}

Retransmitter::Tick Retransmitter::tick(TimePoint now) {
  if (!armed_ || now < due_) return Tick::Nothing;
  if (sends_ >= policy_.max_sends) {
    armed_ = false;
    return Tick::GiveUp;
  }
  ++sends_;
  interval_ *= policy_.factor;
  due_ = now + interval_;
  return Tick::Resend;
}

std::vector<std::span<const std::byte>> raw_payloads(std::span<const std::byte> chain, std::size_t padding) {
  std::vector<std::span<const std::byte>> out;
  const auto payloads = chain.first(chain.size() - std::min(padding, chain.size()));
  ByteReader reader(payloads, "ISAKMP payload chain");
  while (reader.remaining() >= kGenericPayloadHeaderSize) {
    const std::size_t at = reader.offset();
    if (!reader.skip(2, "Next Payload, RESERVED")) break;
    const auto length = reader.u16_be("Payload Length");
    if (!length || *length < kGenericPayloadHeaderSize || at + *length > payloads.size()) break;
    out.push_back(payloads.subspan(at, *length));
    if (!reader.skip(*length - kGenericPayloadHeaderSize, "payload body")) break;
  }
  return out;
}

std::span<const std::byte> payload_body(std::span<const std::byte> payload) {
  return payload.size() < kGenericPayloadHeaderSize ? payload.last(0) : payload.subspan(kGenericPayloadHeaderSize);
}

Expected<std::vector<std::byte>, std::string> seal(const IsakmpHeader& header, std::span<const Payload> payloads,
                                                   CipherState& state) {
  auto body = encode_payload_chain(payloads);
  if (!body) return unexpected("encoding payload " + std::to_string(body.error().index) + ": " + body.error().message);
  auto ciphertext = crypto::cbc_encrypt(state.cipher, *state.key, state.iv, body->bytes);
  OPENSSL_cleanse(body->bytes.data(), body->bytes.size());
  if (!ciphertext) return unexpected(std::move(ciphertext).error());
  auto message = encode_encrypted_message(header, body->first, *ciphertext);
  if (!message) return unexpected("framing: " + message.error().message);
  return std::move(*message);
}

Expected<Opened, std::string> open(const Datagram& datagram, MessageKind kind, CipherState& state) {
  if (!datagram.header.has(HeaderFlag::Encryption)) {
    return unexpected(std::string(name(kind)) + " arrived without the E flag");
  }
  auto plaintext = crypto::cbc_decrypt(state.cipher, *state.key, state.iv, datagram.body);
  if (!plaintext) return unexpected(std::move(plaintext).error());
  auto parsed = parse_decrypted_message(datagram.header, *plaintext, kind);
  if (!parsed) {
    OPENSSL_cleanse(plaintext->data(), plaintext->size());
    return unexpected(std::string(name(kind)) + " does not decrypt to a valid message: " + parsed.error().to_string());
  }
  state.iv = crypto::last_block(state.cipher, datagram.body);
  return Opened{std::move(*parsed), std::move(*plaintext)};
}

std::string hex_cookie(const Cookie& cookie) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : cookie) {
    out.push_back(kDigits[static_cast<unsigned>(b) >> 4]);
    out.push_back(kDigits[static_cast<unsigned>(b) & 0xf]);
  }
  return out;
}

}  // namespace ward::ike::sa
