// libFuzzer target over the quick mode transform readers (ipsec_transforms.h): every transform of
// every SA payload of a message that parses is read as ESP and as AH; one that reads must encode
// and read back to the same algorithms and attributes. The whole input, and every notification's
// data, is also read as RESPONDER-LIFETIME data (quick_mode_lifetime.h); lifetimes that read must
// encode and read back the same. Seeds: the ISAKMP corpus.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ike/message/message.h"
#include "ike/sa/ipsec_transforms.h"
#include "ike/sa/quick_mode_lifetime.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

bool same(const ward::ike::sa::TransformAttributes& a, const ward::ike::sa::TransformAttributes& b) {
  return a.group == b.group && a.lifetime == b.lifetime && a.kilobytes == b.kilobytes && a.mode == b.mode;
}

void check_lifetime_data(std::span<const std::byte> data) {
  auto told = ward::ike::sa::parse_lifetime_notification_data(data);
  if (!told || !told->lifetime) return;
  auto again = ward::ike::sa::parse_lifetime_notification_data(
      ward::ike::sa::lifetime_notification_data(*told->lifetime, told->kilobytes.value_or(0)));
  if (!again || again->lifetime != told->lifetime || (told->kilobytes.value_or(0) != 0 && again->kilobytes != told->kilobytes)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ward::ike;
  const auto input = std::as_bytes(std::span<const std::uint8_t>(data, size));
  check_lifetime_data(input);
  auto datagram = split_datagram(input);
  if (!datagram) return 0;
  const BodyKind kind = datagram->header.has(HeaderFlag::Encryption) ? BodyKind::Decrypted : BodyKind::Plain;
  auto parsed = parse_payload_chain(datagram->header, datagram->body, kind);
  if (!parsed) return 0;
  for (const auto* n : parsed->all<Notification>()) check_lifetime_data(n->data);
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
