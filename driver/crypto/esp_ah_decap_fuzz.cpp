// Fuzz target: inbound ESP and AH decapsulation and IPv4/IPv6 header parsing must never crash,
// whatever the bytes. The first input byte picks the SA (fuzz_sas.h) or, past the last SA, the
// bare IP header parser; the rest is the received packet.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "driver/crypto/ah.h"
#include "driver/crypto/esp.h"
#include "driver/crypto/fuzz_sas.h"
#include "driver/crypto/ip_packet.h"
#include "tests/fuzz/fuzz_target.h"

namespace crypto = ward::driver::crypto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const std::vector<crypto::fuzzing::FuzzSa> sas = crypto::fuzzing::fuzz_sas();
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  const std::size_t selector = std::to_integer<std::size_t>(bytes[0]) % (sas.size() + 1);
  const auto packet = bytes.subspan(1);
  std::vector<std::byte> out;
  if (selector == sas.size()) {
    (void)crypto::parse_ip_packet(packet, crypto::Fragments::Reject);
    (void)crypto::parse_ip_packet(packet, crypto::Fragments::Allow);
    return 0;
  }
  // A fresh SA per input keeps runs reproducible (the replay window starts empty).
  const crypto::SaParams params = crypto::fuzzing::inbound_of(sas[selector].outbound);
  if (params.protocol == crypto::SecurityProtocol::Esp) {
    auto sa = crypto::EspSa::create(params);
    if (!sa) __builtin_trap();
    auto result = sa->decapsulate(packet, out);
    // A second delivery of the same packet must be refused.
    if (result && sa->decapsulate(packet, out)) __builtin_trap();
  } else {
    auto sa = crypto::AhSa::create(params);
    if (!sa) __builtin_trap();
    auto result = sa->decapsulate(packet, out);
    if (result && sa->decapsulate(packet, out)) __builtin_trap();
  }
  return 0;
}
