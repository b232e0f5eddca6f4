// libFuzzer target over the ISAKMP message parser: header, Next Payload chain, every payload codec
// and every rule table. A message that parses must re-encode and parse back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ike/message/message.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

bool same_payloads(const ward::ike::ParsedMessage& a, const ward::ike::ParsedMessage& b) {
  return a.payloads == b.payloads && a.header.next_payload == b.header.next_payload &&
         a.header.exchange_type == b.header.exchange_type && a.header.message_id == b.header.message_id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ward::ike;
  const auto input = std::as_bytes(std::span<const std::uint8_t>(data, size));
  auto datagram = split_datagram(input);
  if (!datagram) return 0;
  // With the E flag, fuzz the body as if it were the decrypted plaintext.
  const BodyKind kind = datagram->header.has(HeaderFlag::Encryption) ? BodyKind::Decrypted : BodyKind::Plain;
  auto parsed = parse_payload_chain(datagram->header, datagram->body, kind);
  if (!parsed) return 0;
  for (std::size_t k = 0; k < kMessageKindCount; ++k) {
    static_cast<void>(check_rules(*parsed, static_cast<MessageKind>(k)));
  }
  auto body = encode_payload_chain(parsed->payloads);
  if (!body) std::abort();   // everything that parsed fits the length fields
  auto again = parse_payload_chain(parsed->header, body->bytes, BodyKind::Plain);
  if (!again || !same_payloads(*parsed, *again)) std::abort();
  return 0;
}
