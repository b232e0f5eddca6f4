// Fuzz target: a GSO frame of ESP in UDP comes from the network (a peer's datagrams the kernel
// joined, or a hostile peer's frames); cutting it must never read or write out of bounds, and
// whatever it cuts must lie inside the scratch buffer. The first two bytes are the segment size
// (the virtio-net header's gso_size), the rest the frame from its IP header on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <utility>
#include <vector>

#include "driver/nfqueue/udp_gso.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t segment = (std::size_t{data[0]} << 8) | data[1];
  const std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data) + 2, size - 2);
  std::vector<std::byte> scratch(3);
  std::vector<std::pair<std::size_t, std::size_t>> pieces;
  if (ward::driver::append_udp_datagrams(frame, segment, scratch, pieces)) {
    std::vector<std::span<const std::byte>> cut;
    for (const auto& [offset, length] : pieces) {
      if (offset < 3 || offset + length > scratch.size()) std::abort();
      cut.emplace_back(scratch.data() + offset, length);
    }
    // What the sender would make of the same datagrams.
    for (std::size_t i = 0; i < cut.size(); ++i) {
      if (!ward::driver::plain_udp(cut[i])) continue;
      std::size_t end = i + 1;
      while (end < cut.size() && ward::driver::plain_udp(cut[end])) ++end;
      const auto run = ward::driver::udp_gso_run(std::span(cut).subspan(i, end - i), 0);
      if (run == 0 || run > end - i) std::abort();
    }
  } else if (scratch.size() != 3 || !pieces.empty()) {
    std::abort();
  }
  return 0;
}
