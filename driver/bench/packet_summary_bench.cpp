// The engine's per-packet parse (summarize_ip_packet, on every packet outbound for the classifier
// and on every decrypted packet inbound for the SA's filter check) against the checked reader it
// replaces for well-formed IPv4, in one run:
//   summary/<packet>   summarize_ip_packet (a well-formed IPv4 header read at fixed offsets)
//   checked/<packet>   summarize_ip_packet_checked (every field through ByteReader)
// <packet>: tcp (an MSS-sized IPv4 TCP segment), esp (IPv4 ESP), v6 (IPv6 TCP: the same code in both).
#include <benchmark/benchmark.h>

#include "driver/packet/packet_summary.h"
#include "driver/packet/test_packets.h"

namespace ward::driver {
namespace {

std::vector<std::byte> packet_of(int kind) {
  const auto v4a = *IpAddress::parse("10.20.9.1");
  const auto v4b = *IpAddress::parse("10.20.9.2");
  if (kind == 0) return testing::make_packet(v4a, v4b, ip_proto::kTcp, 40000, 5201, 1408);
  if (kind == 1) return testing::make_packet(v4a, v4b, ip_proto::kEsp, 0, 0, 1400, 0x1001);
  return testing::make_packet(*IpAddress::parse("2001:db8::1"), *IpAddress::parse("2001:db8::2"), ip_proto::kTcp, 40000, 5201, 1388);
}

template <bool Checked>
void summarize(benchmark::State& state) {
  const auto packet = packet_of(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto summary = Checked ? summarize_ip_packet_checked(packet) : summarize_ip_packet(packet);
    benchmark::DoNotOptimize(summary);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(summarize<false>)->Name("summary/tcp")->Arg(0);
BENCHMARK(summarize<true>)->Name("checked/tcp")->Arg(0);
BENCHMARK(summarize<false>)->Name("summary/esp")->Arg(1);
BENCHMARK(summarize<true>)->Name("checked/esp")->Arg(1);
BENCHMARK(summarize<false>)->Name("summary/v6")->Arg(2);
BENCHMARK(summarize<true>)->Name("checked/v6")->Arg(2);

}  // namespace
}  // namespace ward::driver

BENCHMARK_MAIN();
