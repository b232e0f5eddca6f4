// Fuzz target: the driver's first look at every intercepted packet must never crash.
#include "driver/packet/packet_summary.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  (void)ward::driver::summarize_ip_packet(bytes);
  return 0;
}
