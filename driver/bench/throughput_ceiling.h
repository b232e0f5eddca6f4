// What the machine itself allows nfqueue_throughput's cases, measured in the same run.
//
// Every case of the harness runs both TCP endpoints, both hosts' kernels and (where there is one)
// both dataplanes on the same cores, so a case's rate is bounded by the CPU it needs per Gbit of
// the whole machine. A userspace ESP path needs: what the plain veth needs (the TCP endpoints and
// their kernel), the ESP seal and open of every segment, and two crossings of the user/kernel
// boundary per host (intercepted in, injected out). The accept-all program with the GSO flag makes
// one crossing per host (a superpacket to userspace, an accept verdict that reinjects the original
// without copying it back), so twice its cost above the plain veth estimates the crossings: an
// injection copies what a verdict does not, a packet ring saves the verdict's system call.
#pragma once

#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "driver/crypto/esp.h"
#include "driver/crypto/test_packets.h"

namespace ward::driver::bench {

// Busy CPU seconds of the whole machine since boot (every core; /proc/stat's first line).
inline double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// CPU seconds that sealing on one SA and opening on its peer cost per Gbit of TCP payload (what
// iperf3 counts): `inner_size`-byte IPv4 TCP segments carrying `payload_size` bytes each, as the
// fast path cuts them, for at least `cpu_seconds` of this thread.
inline double seal_and_open_seconds_per_gbit(crypto::EspSa& outbound, crypto::EspSa& inbound, std::size_t inner_size,
                                             std::size_t payload_size, double cpu_seconds) {
  constexpr std::uint8_t kTcp = 6;
  constexpr std::size_t kIpv4Header = 20;
  const auto packet = crypto::testing::make_ipv4_packet(crypto::IpAddress::v4(10, 20, 9, 1), crypto::IpAddress::v4(10, 20, 9, 2), kTcp,
                                                        crypto::testing::pattern_bytes(inner_size - kIpv4Header));
  std::vector<std::byte> wire;
  std::vector<std::byte> back;
  std::uint64_t packets = 0;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  while (elapsed < cpu_seconds) {
    for (int i = 0; i < 1000; ++i) {
      if (!outbound.encapsulate(packet, wire) || !inbound.decapsulate(wire, back)) return -1;
    }
    packets += 1000;
    elapsed = thread_cpu_seconds() - start;
  }
  const double gbits = static_cast<double>(packets * payload_size * 8) / 1e9;
  return elapsed / gbits;
}

struct Ceiling {
  double crossings = 0;  // machine CPU s/Gbit of two crossings per host, estimated
  double needed = 0;     // plain + seal and open + crossings
  double gbits = 0;      // the cores' worth of `needed`
};

// All figures machine CPU seconds per Gbit (crypto: one thread's), from the same run.
inline Ceiling userspace_esp_ceiling(double plain, double accept_all_gso, double seal_and_open, unsigned cores) {
  Ceiling ceiling;
  ceiling.crossings = 2 * (accept_all_gso - plain);
  ceiling.needed = plain + seal_and_open + ceiling.crossings;
  ceiling.gbits = ceiling.needed > 0 ? cores / ceiling.needed : 0;
  return ceiling;
}

}  // namespace ward::driver::bench
