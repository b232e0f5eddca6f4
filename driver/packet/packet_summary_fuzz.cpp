// Fuzz target: the driver's first look at every intercepted packet must never crash, and its
// fixed-offset reading of IPv4 headers must agree with the checked reader's.
#include <cstdlib>

#include "driver/packet/packet_summary.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  const auto summary = ward::driver::summarize_ip_packet(bytes);
  const auto checked = ward::driver::summarize_ip_packet_checked(bytes);
  if (summary.has_value() != checked.has_value()) std::abort();
  if (!summary.has_value()) {
    if (summary.error().to_string() != checked.error().to_string()) std::abort();
    return 0;
  }
  const auto& a = *summary;
  const auto& b = *checked;
  if (a.source != b.source || a.destination != b.destination || a.protocol != b.protocol || a.source_port != b.source_port ||
      a.destination_port != b.destination_port || a.esp_spi != b.esp_spi || a.upper_layer_offset != b.upper_layer_offset ||
      a.length != b.length || a.later_fragment != b.later_fragment) {
    std::abort();
  }
  return 0;
}
