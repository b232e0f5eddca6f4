// libFuzzer target over the IKEv2 codec: header, payload chain, every payload decoder, the SK
// payload (opened with the corpus's fixed keys, and its body also decoded as if it were the
// decrypted inner chain). A message that parses must re-encode to bytes that parse to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ike/v2/fuzz_keys.h"
#include "ike/v2/payloads.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ward::ike::v2;
  const auto input = std::as_bytes(std::span<const std::uint8_t>(data, size));
  auto message = parse_message(input);
  if (!message) return 0;
  auto encoded = encode_message(message->header, message->payloads);
  if (!encoded) std::abort();   // everything that parsed fits its length fields
  auto again = parse_message(*encoded);
  if (!again || again->payloads != message->payloads) std::abort();
  if (const auto* sk = message->find<EncryptedPayload>()) {
    static_cast<void>(open_message(fuzzing::suite(), fuzzing::keys(), input, *sk));
    auto inner = parse_payload_chain(sk->first_inner, sk->body, sk->offset + kGenericPayloadHeaderSize);
    if (inner) {
      auto chain = encode_payload_chain(*inner);
      if (!chain) std::abort();
      auto inner_again = parse_payload_chain(sk->first_inner, *chain, 0);
      if (!inner_again || *inner_again != *inner) std::abort();
    }
  }
  return 0;
}
