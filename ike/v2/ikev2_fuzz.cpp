// libFuzzer target over the IKEv2 codec: header, payload chain, every payload decoder, the SK
// payload (opened with the corpus's fixed keys, and its body also decoded as if it were the
// decrypted inner chain). A message that parses must re-encode to bytes that parse to the same value.
// An SKF message (RFC 7383) goes through parse_fragment and a Reassembler under the same keys
// (the SA's SPIs and roles taken from the input, so seeds reach the ICV), twice: a one-fragment
// message completes and must open as SK; the second add is a duplicate or a repetition.
// What the certificate path decodes from a peer before any key is involved goes through too: an
// AUTH payload's signature (decode_signature_auth: RFC 7427's AlgorithmIdentifier, ECDSA r | s)
// and SIGNATURE_HASH_ALGORITHMS.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ike/v2/fragments.h"
#include "ike/v2/fuzz_keys.h"
#include "ike/v2/protected_message.h"
#include "ike/v2/payloads.h"
#include "ike/v2/signature_auth.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

void decode_certificate_payloads(std::span<const ward::ike::v2::Payload> payloads) {
  using namespace ward::ike::v2;
  for (const auto& p : payloads) {
    if (const auto* auth = std::get_if<AuthPayload>(&p)) {
      static_cast<void>(decode_signature_auth(*auth));
      static_cast<void>(describe_signature_auth(*auth));
    } else if (const auto* n = std::get_if<NotifyPayload>(&p); n != nullptr && n->is(NotifyType::SignatureHashAlgorithms)) {
      static_cast<void>(parse_signature_hash_algorithms(n->data));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ward::ike::v2;
  const auto input = std::as_bytes(std::span<const std::uint8_t>(data, size));
  if (is_fragment(input)) {
    auto fields = parse_fragment(input);
    if (!fields) return 0;
    const IkeSa sa = fuzzing::sa(!fields->header.has(HeaderFlag::Initiator), fields->header.initiator_spi, fields->header.responder_spi);
    Reassembler reassembler;
    const auto now = Reassembler::Clock::time_point{};
    auto first = reassembler.add(sa, input, now);
    if (first.outcome == Reassembler::Outcome::Complete && !open_protected(sa, first.message)) {
      // A reassembled message is sealed again under the peer's keys and must open; only an inner
      // chain that does not parse may fail.
      auto opened = parse_message(first.message);
      if (!opened) std::abort();
    }
    static_cast<void>(reassembler.add(sa, input, now));
    return 0;
  }
  auto message = parse_message(input);
  if (!message) return 0;
  auto encoded = encode_message(message->header, message->payloads);
  if (!encoded) std::abort();   // everything that parsed fits its length fields
  auto again = parse_message(*encoded);
  if (!again || again->payloads != message->payloads) std::abort();
  decode_certificate_payloads(message->payloads);
  if (const auto* sk = message->find<EncryptedPayload>()) {
    static_cast<void>(open_message(fuzzing::suite(), fuzzing::keys(), input, *sk));
    auto inner = parse_payload_chain(sk->first_inner, sk->body, sk->offset + kGenericPayloadHeaderSize);
    if (inner) {
      decode_certificate_payloads(*inner);
      auto chain = encode_payload_chain(*inner);
      if (!chain) std::abort();
      auto inner_again = parse_payload_chain(sk->first_inner, *chain, 0);
      if (!inner_again || *inner_again != *inner) std::abort();
    }
  }
  return 0;
}
