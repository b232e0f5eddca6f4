// Fuzz target: decrypted packets come from a peer (authenticated, but the peer may be hostile);
// joining them for the TUN device must never read or write out of bounds. The input is split
// into packets at 0xFF 0xFE markers.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "driver/nfqueue/tun_injector.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::span<const std::byte>> packets;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < size; ++i) {
    if (data[i] == 0xFF && data[i + 1] == 0xFE) {
      packets.emplace_back(bytes + start, i - start);
      start = i + 2;
    }
  }
  packets.emplace_back(bytes + start, size - start);
  std::vector<ward::driver::TunPacket> out;
  const std::size_t count = ward::driver::join_tcp_segments(packets, out);
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t odd = 0;  // touch every byte of every write, as writev would
    for (const auto b : out[i].bytes()) odd += std::to_integer<std::size_t>(b) & 1U;
    (void)odd;
  }
  return 0;
}
