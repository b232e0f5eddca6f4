// filter_apply: how long installing a filter table takes on the nfqueue dataplane (kernel
// transaction and engine, as install_filter_table does it) and this process's peak memory, for
// Windows-shaped tables (policy_tables.h) of 1,000 and 10,000 filters. Each size is applied three
// times (a fresh install, then replacing the installed table). Needs root (it creates a namespace).
//   filter_apply [sizes...]          (default: 1000 10000)
//   filter_apply --xfrm [sizes...]   the xfrm backend instead (default: 1000), in the same run both
//                                    placements of permit and block: XFRM policies (a kernel without
//                                    the nftables inet family) and the nftables table with the SPD
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
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
  for (int i = xfrm ? 2 : 1; i < argc; ++i) sizes.push_back(static_cast<std::size_t>(std::stoul(argv[i])));
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
    auto started = NfqueueDataplane::start(listener, NfqueueOptions{});
    if (!started) throw std::runtime_error(started.error());
    dataplane = std::move(*started);
  });
  std::printf("peak RSS before any table: %ld KB\n", peak_rss_kb());
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
  }
  return 0;
}
