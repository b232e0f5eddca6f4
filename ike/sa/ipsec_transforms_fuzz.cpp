// libFuzzer target over the quick mode transform readers (ipsec_transforms.h): every transform of
// every SA payload of a message that parses is read as ESP and as AH; one that reads must encode
// and read back to the same algorithms and attributes. Seeds: the ISAKMP corpus.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ike/message/message.h"
#include "ike/sa/ipsec_transforms.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

bool same(const ward::ike::sa::TransformAttributes& a, const ward::ike::sa::TransformAttributes& b) {
  return a.group == b.group && a.lifetime == b.lifetime && a.kilobytes == b.kilobytes && a.mode == b.mode;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ward::ike;
  const auto input = std::as_bytes(std::span<const std::uint8_t>(data, size));
  auto datagram = split_datagram(input);
  if (!datagram) return 0;
  const BodyKind kind = datagram->header.has(HeaderFlag::Encryption) ? BodyKind::Decrypted : BodyKind::Plain;
  auto parsed = parse_payload_chain(datagram->header, datagram->body, kind);
  if (!parsed) return 0;
  for (const auto* sa_payload : parsed->all<SecurityAssociation>()) {
    for (const auto& proposal : sa_payload->proposals) {
      for (const auto& transform : proposal.transforms) {
        if (auto esp = sa::parse_esp_transform(transform)) {
          auto again = sa::parse_esp_transform(sa::encode_esp_transform(esp->proposal, esp->attributes));
          if (!again || !(again->proposal == esp->proposal) || !same(again->attributes, esp->attributes)) std::abort();
        }
        if (auto ah = sa::parse_ah_transform(transform)) {
          auto again = sa::parse_ah_transform(sa::encode_ah_transform(ah->proposal, ah->attributes));
          if (!again || !(again->proposal == ah->proposal) || !same(again->attributes, ah->attributes)) std::abort();
        }
      }
    }
  }
  return 0;
}
