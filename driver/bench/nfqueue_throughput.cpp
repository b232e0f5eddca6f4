// nfqueue_throughput: TCP throughput between two network namespaces over a veth pair, first in
// clear on the plain veth (the baseline, same run), then through Ward's nfqueue dataplane with
// static ESP SAs for several algorithms, each with one TCP stream and with four (iperf3 -P 4).
// Prints Mbit/s and the ratio to the baseline with the same number of streams.
// Needs root (it creates namespaces); sends traffic only between its own namespaces.
//   nfqueue_throughput [seconds per run, default 3] [NFQUEUE queues (threads) per side, default 2]
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "driver/nfqueue/nfqueue_dataplane.h"
#include "driver/nfqueue/static_sas.h"
#include "tests/netns/netns.h"

namespace {

using namespace ward;
using namespace ward::driver;
using namespace std::chrono_literals;

const IpAddress kA = *IpAddress::parse("10.20.9.1");
const IpAddress kB = *IpAddress::parse("10.20.9.2");

struct QuietListener : DataplaneListener {
  void on_acquire(const Acquire&) override {}
  void on_expiry(const SaExpiry&) override {}
};

FilterTable negotiate_between(const IpAddress& self, const IpAddress& peer) {
  const auto me = IpPrefix::host(self);
  const auto other = IpPrefix::host(peer);
  return {{DriverFilter{1, me, other, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}},
           DriverFilter{1, other, me, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}}}};
}

double iperf_mbits(const ward::testing::Netns& client, int seconds, int streams) {
  const auto output = client.exec_output("iperf3 -c " + kB.to_string() + " -p 5299 -t " + std::to_string(seconds) +
                                         " -P " + std::to_string(streams) + " -J");
  try {
    const auto json = nlohmann::json::parse(output);
    return json.at("end").at("sum_received").at("bits_per_second").get<double>() / 1e6;
  } catch (const std::exception& e) {
    std::cerr << "iperf3 gave no result: " << output.substr(0, 300) << "\n";
    return 0;
  }
}

std::unique_ptr<NfqueueDataplane> start_dataplane(const ward::testing::Netns& ns, QuietListener& listener, const IpAddress& self,
                                                  const IpAddress& peer, std::uint32_t spi_out, std::uint32_t spi_in,
                                                  const crypto::testing::SaShape& shape, std::uint16_t queues) {
  std::unique_ptr<NfqueueDataplane> dataplane;
  ns.run_inside([&] {
    NfqueueOptions options;
    options.kernel.queue_count = queues;
    auto started = NfqueueDataplane::start(listener, options);
    if (!started) throw std::runtime_error(started.error());
    dataplane = std::move(*started);
  });
  if (auto installed = dataplane->install_filter_table(negotiate_between(self, peer)); !installed) throw std::runtime_error(installed.error());
  for (const auto& [spi, direction] : {std::pair{spi_out, crypto::Direction::Outbound}, std::pair{spi_in, crypto::Direction::Inbound}}) {
    auto added = dataplane->add_sa(SaInstall{ward::driver::testing::static_sa(spi, direction, shape, self, peer), 1, peer, {}});
    if (!added) throw std::runtime_error(added.error());
  }
  return dataplane;
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const auto queues = static_cast<std::uint16_t>(argc > 2 ? std::clamp(std::atoi(argv[2]), 1, 16) : 2);
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) {
    std::cerr << "nfqueue_throughput: " << why << "\n";
    return 2;
  }
  ward::testing::Netns a("bench-a");
  ward::testing::Netns b("bench-b");
  ward::testing::connect_veth(a, kA.to_string() + "/24", b, kB.to_string() + "/24");
  if (b.exec("iperf3 -s -D -p 5299") != 0) {
    std::cerr << "nfqueue_throughput: cannot start iperf3\n";
    return 1;
  }
  std::this_thread::sleep_for(300ms);

  constexpr int kStreamCounts[] = {1, 4};
  double plain[2] = {};
  for (int i = 0; i < 2; ++i) {
    plain[i] = iperf_mbits(a, seconds, kStreamCounts[i]);
    std::printf("%-36s %d stream%s %10.0f Mbit/s  (baseline)\n", "plain veth, no IPsec", kStreamCounts[i],
                kStreamCounts[i] == 1 ? " " : "s", plain[i]);
  }

  struct Case {
    const char* name;
    crypto::Cipher cipher;
    crypto::Integrity integrity;
  };
  for (const auto& c : {Case{"nfqueue ESP AES-GCM-128", crypto::Cipher::AesGcm128, crypto::Integrity::None},
                        Case{"nfqueue ESP AES-GCM-256", crypto::Cipher::AesGcm256, crypto::Integrity::None},
                        Case{"nfqueue ESP AES-CBC-256/HMAC-SHA256", crypto::Cipher::AesCbc256, crypto::Integrity::HmacSha256_128}}) {
    crypto::testing::SaShape shape;
    shape.cipher = c.cipher;
    shape.integrity = c.integrity;
    QuietListener listener;
    auto dataplane_a = start_dataplane(a, listener, kA, kB, 0x1001, 0x2001, shape, queues);
    auto dataplane_b = start_dataplane(b, listener, kB, kA, 0x2001, 0x1001, shape, queues);
    for (int i = 0; i < 2; ++i) {
      const double protected_rate = iperf_mbits(a, seconds, kStreamCounts[i]);
      std::printf("%-36s %d stream%s %10.0f Mbit/s  (%.1f%% of plain)\n", c.name, kStreamCounts[i],
                  kStreamCounts[i] == 1 ? " " : "s", protected_rate, plain[i] > 0 ? 100.0 * protected_rate / plain[i] : 0.0);
    }
  }
  std::printf("NFQUEUE queues (threads) per side: %u\n", static_cast<unsigned>(queues));
  return 0;
}
