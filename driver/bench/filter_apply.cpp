// filter_apply: how long installing a filter table takes on the nfqueue dataplane (kernel
// transaction and engine, as install_filter_table does it) and this process's peak memory, for
// Windows-shaped tables (policy_tables.h) of 1,000 and 10,000 filters. Each size is applied three
// times (a fresh install, then replacing the installed table). Then what the installed table costs
// a packet: CPU per UDP datagram sent through the kernel table's output hook (into a TUN device no program holds, which drops it)
// to a peer of a permit filter at the table's end, and to an address no filter covers, against the
// same before any table. Needs root (it creates a namespace).
//   filter_apply [--map-elements N] [sizes...]   (default: 1000 10000; N: KernelTableOptions's
//                                    max_map_elements, default its default)
//   filter_apply --xfrm [sizes...]   the xfrm backend instead (default: 1000), in the same run both
//                                    placements of permit and block: XFRM policies (a kernel without
//                                    the nftables inet family) and the nftables table with the SPD
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "driver/bench/policy_tables.h"
#include "driver/engine/packet_engine.h"
#include "driver/kernel_table/kernel_layers.h"
#include "driver/nfqueue/nfqueue_dataplane.h"
#include "driver/xfrm/xfrm_dataplane.h"
#include "tests/netns/netns.h"

namespace {

using namespace ward;
using namespace ward::driver;

struct QuietListener : DataplaneListener {
  void on_acquire(const Acquire&) override {}
  void on_expiry(const SaExpiry&) override {}
};

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

constexpr const char* kDropDevice = "apply-drop0";
const IpAddress kNowhere = IpAddress::v4(0xC0000209);  // 192.0.2.9: outside every filter

// A TUN device no program holds (no carrier: its queue drops what is sent) carrying this host's
// address and a route to kNowhere: what is sent there goes through the output hook and no further.
// (This kernel has no dummy devices.)
void add_drop_device(const ward::testing::Netns& ns, const IpAddress& self) {
  if (ns.exec(std::string("ip tuntap add dev ") + kDropDevice + " mode tun && ip addr add " + self.to_string() + "/8 dev " + kDropDevice +
              " && ip link set " + kDropDevice + " up && ip route add 192.0.2.0/24 dev " + kDropDevice) != 0) {
    throw std::runtime_error("cannot set up the TUN device that drops what is sent");
  }
}

// CPU ns per 16-byte UDP datagram from `self` to `destination` (sendmmsg, 64 at a time, about
// 0.3 s of this thread), from inside `ns`.
double output_ns_per_packet(const ward::testing::Netns& ns, const IpAddress& self, const IpAddress& destination) {
  double result = -1;
  ns.run_inside([&] {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    std::memcpy(&local.sin_addr, self.bytes().data(), 4);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(9);
    std::memcpy(&remote.sin_addr, destination.bytes().data(), 4);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
      close(fd);
      return;
    }
    constexpr std::size_t kBurst = 64;
    std::array<std::byte, 16> payload{};
    std::array<iovec, kBurst> vectors{};
    std::array<mmsghdr, kBurst> messages{};
    for (std::size_t i = 0; i < kBurst; ++i) {
      vectors[i] = {payload.data(), payload.size()};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    std::uint64_t sent = 0;
    const double start = thread_cpu_ns();
    double elapsed = 0;
    while (elapsed < 0.3e9) {
      const int n = sendmmsg(fd, messages.data(), kBurst, 0);
      if (n <= 0) break;
      sent += static_cast<std::uint64_t>(n);
      elapsed = thread_cpu_ns() - start;
    }
    close(fd);
    if (sent > 0) result = elapsed / static_cast<double>(sent);
  });
  return result;
}

// The table's last permit filter from this host to one peer host, over UDP: its lookup walks
// every map of its layer before the one that holds it.
std::optional<IpAddress> last_permitted_peer(const FilterTable& table, const IpAddress& self) {
  for (auto it = table.filters.rbegin(); it != table.filters.rend(); ++it) {
    if (it->action == FilterAction::Permit && it->source == IpPrefix::host(self) && it->destination.is_host() &&
        (it->protocol == 0 || it->protocol == 17)) {
      return it->destination.address();
    }
  }
  return std::nullopt;
}

// The xfrm backend: each size three times per placement, each placement in a namespace of its own.
int run_xfrm(const std::vector<std::size_t>& sizes) {
  QuietListener listener;
  for (const bool kernel_table : {false, true}) {
    ward::testing::Netns ns(kernel_table ? "apply-xn" : "apply-xp");
    std::unique_ptr<XfrmDataplane> dataplane;
    ns.run_inside([&] {
      XfrmOptions options;
      options.kernel_table = kernel_table;
      auto started = XfrmDataplane::start(listener, options);
      if (!started) throw std::runtime_error(started.error());
      dataplane = std::move(*started);
    });
    std::printf("xfrm, permit and block in %s\n", dataplane->filter_placement().c_str());
    for (const auto size : sizes) {
      const auto table = bench::windows_like_table(size);
      for (int round = 0; round < 3; ++round) {
        const auto start = std::chrono::steady_clock::now();
        auto installed = dataplane->install_filter_table(table);
        const double apply_ms = ms_since(start);
        if (!installed) {
          std::cerr << "install failed: " << installed.error() << "\n";
          return 1;
        }
        std::printf("  %zu filters, apply %d: %.1f ms\n", table.filters.size(), round + 1, apply_ms);
      }
      const auto policies = ns.exec_output("ip xfrm policy | grep -c '^src'");
      const auto start = std::chrono::steady_clock::now();
      const auto counters = dataplane->counters();
      std::printf("  %zu filters: %s kernel XFRM policies; counters (%zu filters): %.1f ms\n", table.filters.size(),
                  policies.substr(0, policies.find('\n')).c_str(), counters.filters.size(), ms_since(start));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  const bool xfrm = argc > 1 && std::string(argv[1]) == "--xfrm";
  NfqueueOptions options;
  for (int i = xfrm ? 2 : 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--map-elements" && i + 1 < argc) {
      options.kernel.max_map_elements = static_cast<std::size_t>(std::stoul(argv[++i]));
      continue;
    }
    sizes.push_back(static_cast<std::size_t>(std::stoul(argv[i])));
  }
  if (sizes.empty()) sizes = xfrm ? std::vector<std::size_t>{1000} : std::vector<std::size_t>{1000, 10000};
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) {
    std::cerr << "filter_apply: " << why << "\n";
    return 2;
  }
  if (xfrm) return run_xfrm(sizes);
  ward::testing::Netns ns("apply");
  QuietListener listener;
  std::unique_ptr<NfqueueDataplane> dataplane;
  ns.run_inside([&] {
    auto started = NfqueueDataplane::start(listener, options);
    if (!started) throw std::runtime_error(started.error());
    dataplane = std::move(*started);
  });
  const auto self = IpAddress::v4(0x0A000001);  // windows_like_table's
  add_drop_device(ns, self);
  const double bare_ns = output_ns_per_packet(ns, self, kNowhere);
  std::printf("peak RSS before any table: %ld KB; maps of at most %zu elements; a UDP datagram out: %.0f CPU ns\n", peak_rss_kb(),
              options.kernel.max_map_elements, bare_ns);
  for (const auto size : sizes) {
    const auto table = bench::windows_like_table(size);
    auto start = std::chrono::steady_clock::now();
    const auto plan = plan_kernel_layers(table.filters);
    const double plan_ms = ms_since(start);
    std::printf("%zu filters: kernel plan %.1f ms (%zu map elements, %zu shadowed, layers v4 TCP/UDP %zu, other %zu)\n", table.filters.size(),
                plan_ms, plan.element_count(), plan.shadowed, plan.of(IpFamily::V4, KeyKind::Ported).size(),
                plan.of(IpFamily::V4, KeyKind::Portless).size());
    for (int round = 0; round < 3; ++round) {
      start = std::chrono::steady_clock::now();
      auto installed = dataplane->install_filter_table(table);
      const double apply_ms = ms_since(start);
      if (!installed) {
        std::cerr << "install failed: " << installed.error() << "\n";
        return 1;
      }
      std::printf("  apply %d: %.1f ms, peak RSS %ld KB\n", round + 1, apply_ms, peak_rss_kb());
    }
    // The two halves alone: the engine's classifier, and the kernel transaction.
    PacketEngine engine(listener);
    start = std::chrono::steady_clock::now();
    auto prepared = engine.prepare_table(table);
    const double engine_ms = ms_since(start);
    start = std::chrono::steady_clock::now();
    auto kernel = dataplane->kernel_table().install(table, {});
    const double kernel_ms = ms_since(start);
    std::printf("  of which: engine (classifier) %.1f ms, kernel transaction %.1f ms (%zu netlink messages)\n", engine_ms, kernel_ms,
                kernel ? kernel->messages : 0);
    start = std::chrono::steady_clock::now();
    const auto counters = dataplane->counters();
    std::printf("  counters (%zu filters, kernel and engine): %.1f ms\n", counters.filters.size(), ms_since(start));
    // The last measurement installed the table on the kernel alone; the engine is not involved in
    // permit decisions or in traffic no filter covers.
    if (const auto peer = last_permitted_peer(table, self)) {
      const double permit_ns = output_ns_per_packet(ns, self, *peer);
      const double nowhere_ns = output_ns_per_packet(ns, self, kNowhere);
      std::printf("  a UDP datagram out, CPU ns: to %s (the last permit filter) %.0f, to %s (no filter) %.0f; %.0f before any table\n",
                  peer->to_string().c_str(), permit_ns, kNowhere.to_string().c_str(), nowhere_ns, bare_ns);
    }
  }
  return 0;
}
