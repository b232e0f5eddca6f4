// nfqueue_throughput: TCP throughput between two network namespaces over a veth pair (iperf3, one
// and four streams), in one run: the plain veth (the baseline), an accept-all NFQUEUE program
// (every packet between the hosts through a queue and back unchanged; per packet, and with the
// GSO flag), and Ward's nfqueue dataplane on both sides with static SAs (AES-GCM-128, AES-GCM-256,
// AES-CBC-256 with HMAC-SHA-256; the fast path, and AES-GCM-128 with the fast path off: one queue
// round trip per MTU-sized packet; and AES-GCM-128 with ESP in UDP, whose superpackets cross the
// kernel with UDP GSO). Prints Gbit/s, the ratio to the plain veth of the same round,
// and the CPU time of this process (both hosts' dataplanes, or both accept-all programs; iperf3
// runs apart) and of the whole machine per Gbit carried. Each round runs every case; the table gives
// medians. Then what this machine allows any userspace ESP path (throughput_ceiling.h), from the
// same run's figures; then filter_apply: apply time and peak memory for 1,000- and 10,000-filter
// policies.
// Needs root (it creates namespaces); sends traffic only between its own namespaces.
//   nfqueue_throughput [seconds per iperf3 run, default 3] [rounds, default 3] [queues per side, default 1]
//                      [only the cases whose name contains this; several separated by '|']
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver/kernel_table/kernel_table.h"
#include "driver/nfqueue/netfilter_queue.h"
#include "driver/nfqueue/nfqueue_dataplane.h"
#include "driver/nfqueue/static_sas.h"
#include "driver/bench/throughput_ceiling.h"
#include "tests/netns/netns.h"

namespace {

using namespace ward;
using namespace ward::driver;
using namespace std::chrono_literals;

const IpAddress kA = *IpAddress::parse("10.20.9.1");
const IpAddress kB = *IpAddress::parse("10.20.9.2");
constexpr int kStreamCounts[] = {1, 4};

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

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

struct Measure {
  double gbits = 0;
  double cpu_per_gbit = 0;
  double machine_cpu_per_gbit = 0;  // every core: endpoints, kernels, dataplanes
  std::int64_t retransmits = 0;  // the sender's TCP retransmissions (losses on the path)
};

Measure iperf(const ward::testing::Netns& client, int seconds, int streams) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const double cpu_before = process_cpu_seconds();
    const double machine_before = bench::machine_busy_seconds();
    // timeout: an iperf3 3.12 client was once seen spinning long after its -t had passed.
    const auto output = client.exec_output("timeout -s KILL " + std::to_string(seconds + 20) + " iperf3 -c " + kB.to_string() +
                                           " -p 5299 -t " + std::to_string(seconds) + " -P " + std::to_string(streams) + " -J");
    const double cpu = process_cpu_seconds() - cpu_before;
    const double machine = bench::machine_busy_seconds() - machine_before;
    try {
      const auto json = nlohmann::json::parse(output);
      if (json.contains("error")) throw std::runtime_error(json.at("error").get<std::string>());
      const double gbits = json.at("end").at("sum_received").at("bits_per_second").get<double>() / 1e9;
      const double carried = json.at("end").at("sum_received").at("bytes").get<double>() * 8 / 1e9;
      const auto& sent = json.at("end").at("sum_sent");
      return {gbits, carried > 0 ? cpu / carried : 0, carried > 0 ? machine / carried : 0, sent.contains("retransmits") ? sent.at("retransmits").get<std::int64_t>() : 0};
    } catch (const std::exception& e) {
      std::cerr << "iperf3 gave no result (" << e.what() << "), again\n";
      std::this_thread::sleep_for(300ms);
    }
  }
  return {};
}

// Serves `queue` in `ns`, accepting every packet unchanged, until destroyed.
class AcceptAll {
 public:
  AcceptAll(const ward::testing::Netns& ns, std::uint16_t queue, bool gso) {
    std::atomic<bool> ready{false};
    thread_ = std::thread([&, queue, gso] {
      ns.run_inside([&] {
        QueueOptions options{queue};
        options.gso = gso;
        auto opened = NetfilterQueue::open(options);
        ready = true;
        if (!opened) {
          std::cerr << "accept-all queue: " << opened.error() << "\n";
          return;
        }
        while (!stop_) {
          (void)(*opened)->receive([&](const QueuedPacket& packet) { (void)(*opened)->verdict(packet.id, Verdict::Accept); }, 100ms);
          (void)(*opened)->flush();
        }
      });
    });
    while (!ready) std::this_thread::sleep_for(1ms);
  }
  ~AcceptAll() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Setup {
  std::vector<std::unique_ptr<KernelTable>> tables;
  std::vector<std::unique_ptr<AcceptAll>> programs;
  std::vector<std::unique_ptr<NfqueueDataplane>> dataplanes;
  // Where Ward's packets were lost (both hosts, over the case's runs): engine drops, ring overflow,
  // raw socket and TUN refusals, refused verdicts.
  std::string losses() const {
    std::uint64_t engine = 0, ring = 0, raw = 0, inject = 0, verdicts = 0, segmentation = 0, unsplit = 0;
    std::uint64_t gso_datagrams = 0, gso_sends = 0, superpackets = 0, ring_packets = 0;
    for (const auto& dataplane : dataplanes) {
      const auto counters = dataplane->counters();
      for (const auto n : counters.drops_by_reason) engine += n;
      engine += counters.malformed + counters.unknown_spi + counters.policy_mismatch + counters.hold_dropped;
      const auto backend = dataplane->backend_counters();
      ring += backend.ring_drops;
      raw += backend.raw_send_errors;
      inject += backend.inject_errors;
      verdicts += backend.verdict_errors;
      segmentation += backend.segmentation_errors;
      unsplit += backend.ring_unsplit;
      gso_datagrams += backend.udp_gso_datagrams;
      gso_sends += backend.udp_gso_sends;
      superpackets += backend.ring_superpackets;
      ring_packets += backend.ring_packets;
    }
    if (dataplanes.empty()) return "";
    std::string gso;
    if (gso_sends > 0 || superpackets > 0) {
      gso = "; UDP GSO: " + std::to_string(gso_datagrams) + " ESP packets in " + std::to_string(gso_sends) + " sends, ring " +
            std::to_string(ring_packets) + " packets from " + std::to_string(superpackets) + " superpackets (" + std::to_string(unsplit) +
            " not cut)";
    }
    return "; dropped: engine " + std::to_string(engine) + ", ring " + std::to_string(ring) + ", raw send " + std::to_string(raw) +
           ", TUN " + std::to_string(inject) + ", verdicts " + std::to_string(verdicts) + ", uncut " + std::to_string(segmentation) + gso;
  }
};

struct Case {
  std::string name;
  std::function<void(Setup&)> start;
};

std::unique_ptr<NfqueueDataplane> start_ward(const ward::testing::Netns& ns, QuietListener& listener, const IpAddress& self,
                                             const IpAddress& peer, std::uint32_t spi_out, std::uint32_t spi_in,
                                             const crypto::testing::SaShape& shape, std::uint16_t queues, bool fast) {
  std::unique_ptr<NfqueueDataplane> dataplane;
  ns.run_inside([&] {
    NfqueueOptions options;
    options.kernel.queue_count = queues;
    options.tcp_segmentation = fast;
    options.tun_injection = fast;
    options.esp_ring = fast;
    auto started = NfqueueDataplane::start(listener, options);
    if (!started) throw std::runtime_error(started.error());
    dataplane = std::move(*started);
  });
  if (auto installed = dataplane->install_filter_table(negotiate_between(self, peer)); !installed) throw std::runtime_error(installed.error());
  for (const auto& [spi, direction] : {std::pair{spi_out, crypto::Direction::Outbound}, std::pair{spi_in, crypto::Direction::Inbound}}) {
    auto added = dataplane->add_sa(SaInstall{ward::driver::testing::static_sa(spi, direction, shape, self, peer), 1, peer, {}});
    if (!added) throw std::runtime_error(added.error());
  }
  if (fast && !dataplane->tun_error().empty()) std::cerr << "no TUN device: " << dataplane->tun_error() << "\n";
  return dataplane;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

using PerStreams = std::vector<std::array<std::vector<double>, 2>>;

// What any userspace ESP path could carry here with one stream (throughput_ceiling.h), from the plain
// veth and the accept-all GSO program of this run and a seal-and-open loop run now.
void print_ceiling(const std::vector<Case>& cases, const PerStreams& gbits, const PerStreams& machine) {
  const auto find = [&](const std::string& name) {
    for (std::size_t c = 0; c < cases.size(); ++c) {
      if (cases[c].name == name && !machine[c][0].empty()) return static_cast<int>(c);
    }
    return -1;
  };
  const int plain = find("plain veth, no IPsec");
  const int accept_all = find("NFQUEUE accept-all, GSO flag");
  if (plain < 0 || accept_all < 0) {
    std::printf("ceiling: needs the accept-all GSO case in the run\n");
    return;
  }
  crypto::testing::SaShape shape;
  shape.cipher = crypto::Cipher::AesGcm128;
  shape.udp = true;
  auto outbound = crypto::EspSa::create(ward::driver::testing::static_sa(0x3001, crypto::Direction::Outbound, shape, kA, kB));
  auto inbound = crypto::EspSa::create(ward::driver::testing::static_sa(0x3001, crypto::Direction::Inbound, shape, kB, kA));
  if (!outbound || !inbound) {
    std::printf("ceiling: no SA (%s)\n", (outbound ? inbound.error() : outbound.error()).c_str());
    return;
  }
  // The clamped MSS counts TCP's options (timestamps: 12 bytes) against the payload, not the headers.
  constexpr std::size_t kHeaders = 40, kTimestampOption = 12;
  const std::size_t segment = KernelTableOptions{}.tcp_mss_ipv4 + kHeaders;
  const double seal_and_open =
      bench::seal_and_open_seconds_per_gbit(*outbound, *inbound, segment, KernelTableOptions{}.tcp_mss_ipv4 - kTimestampOption, 1.0);
  const auto cores = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
  const double plain_cost = median(machine[plain][0]);
  const auto ceiling = bench::userspace_esp_ceiling(plain_cost, median(machine[accept_all][0]), seal_and_open, cores);
  const double plain_gbits = median(gbits[plain][0]);
  std::printf("\nceiling, one stream, any userspace ESP on this machine (%u cores; machine CPU s/Gbit): plain veth %.3f + AES-GCM-128 "
              "seal and open of %zu-byte segments %.3f + two crossings per host ~%.3f (2 x accept-all GSO above plain) = %.3f"
              " -> about %.2f Gbit/s, %.0f%% of plain veth\n",
              cores, plain_cost, segment, seal_and_open, ceiling.crossings, ceiling.needed, ceiling.gbits,
              plain_gbits > 0 ? 100 * ceiling.gbits / plain_gbits : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines as they come, also into a pipe
  const int seconds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  const auto queues = static_cast<std::uint16_t>(argc > 3 ? std::clamp(std::atoi(argv[3]), 1, 16) : 1);
  // Run only the cases whose name contains one of these ('|'-separated; the plain veth always runs).
  std::vector<std::string> only;
  for (std::string rest = argc > 4 ? argv[4] : ""; !rest.empty();) {
    const auto bar = rest.find('|');
    only.push_back(rest.substr(0, bar));
    rest = bar == std::string::npos ? "" : rest.substr(bar + 1);
  }
  const auto selected = [&](const std::string& name) {
    return only.empty() || std::any_of(only.begin(), only.end(), [&](const std::string& part) { return name.find(part) != std::string::npos; });
  };
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) {
    std::cerr << "nfqueue_throughput: " << why << "\n";
    return 2;
  }
  ward::testing::Netns a("bench-a");
  ward::testing::Netns b("bench-b");
  ward::testing::connect_veth(a, kA.to_string() + "/24", b, kB.to_string() + "/24");
  const std::string server_pid_file = "/tmp/ward-nfqueue-throughput-" + std::to_string(getpid()) + ".iperf3";
  if (b.exec("iperf3 -s -D -p 5299 --pidfile " + server_pid_file) != 0) {
    std::cerr << "nfqueue_throughput: cannot start iperf3\n";
    return 1;
  }
  // The daemon outlives its namespace: stop it (by its pid) however main ends.
  const std::unique_ptr<const std::string, void (*)(const std::string*)> stop_server(&server_pid_file, [](const std::string* file) {
    (void)ward::testing::command_output("kill $(cat " + *file + ") 2>/dev/null; rm -f " + *file);
  });
  std::this_thread::sleep_for(300ms);
  QuietListener listener;

  const auto accept_all = [&](bool gso) {
    return [&, gso](Setup& setup) {
      for (const auto* ns : {&a, &b}) {
        const bool on_a = ns == &a;
        ns->run_inside([&] {
          auto table = KernelTable::open({});
          if (!table) throw std::runtime_error(table.error());
          auto installed = (*table)->install(negotiate_between(on_a ? kA : kB, on_a ? kB : kA), {});
          if (!installed) throw std::runtime_error(installed.error());
          setup.tables.push_back(std::move(*table));
        });
        setup.programs.push_back(std::make_unique<AcceptAll>(*ns, 0, gso));
      }
    };
  };
  const auto ward = [&](crypto::Cipher cipher, crypto::Integrity integrity, bool fast, bool udp = false) {
    return [&, cipher, integrity, fast, udp](Setup& setup) {
      crypto::testing::SaShape shape;
      shape.cipher = cipher;
      shape.integrity = integrity;
      shape.udp = udp;  // ESP in UDP 4500 (RFC 3948), as IKE negotiates behind a NAT
      setup.dataplanes.push_back(start_ward(a, listener, kA, kB, 0x1001, 0x2001, shape, queues, fast));
      setup.dataplanes.push_back(start_ward(b, listener, kB, kA, 0x2001, 0x1001, shape, queues, fast));
    };
  };
  const std::vector<Case> cases = {
      {"plain veth, no IPsec", [](Setup&) {}},
      {"NFQUEUE accept-all, per packet", accept_all(false)},
      {"NFQUEUE accept-all, GSO flag", accept_all(true)},
      {"Ward AES-GCM-128", ward(crypto::Cipher::AesGcm128, crypto::Integrity::None, true)},
      {"Ward AES-GCM-128, ESP in UDP", ward(crypto::Cipher::AesGcm128, crypto::Integrity::None, true, true)},
      {"Ward AES-GCM-256", ward(crypto::Cipher::AesGcm256, crypto::Integrity::None, true)},
      {"Ward AES-CBC-256/HMAC-SHA-256", ward(crypto::Cipher::AesCbc256, crypto::Integrity::HmacSha256_128, true)},
      {"Ward AES-GCM-128, fast path off", ward(crypto::Cipher::AesGcm128, crypto::Integrity::None, false)},
  };

  std::printf("load average at start: %s; %d s per run, %d rounds, %u queue(s) per side\n", load_average().c_str(), seconds, rounds,
              static_cast<unsigned>(queues));
  // [case][streams] -> per round
  std::vector<std::array<std::vector<double>, 2>> gbits(cases.size()), ratios(cases.size()), cpu(cases.size()), machine(cases.size());
  for (int round = 0; round < rounds; ++round) {
    double plain[2] = {};
    for (std::size_t c = 0; c < cases.size(); ++c) {
      if (c > 0 && !selected(cases[c].name)) continue;
      Setup setup;
      cases[c].start(setup);
      std::int64_t retransmits[2] = {};
      for (int s = 0; s < 2; ++s) {
        const auto measured = iperf(a, seconds, kStreamCounts[s]);
        retransmits[s] = measured.retransmits;
        if (c == 0) plain[s] = measured.gbits;
        gbits[c][s].push_back(measured.gbits);
        ratios[c][s].push_back(plain[s] > 0 ? measured.gbits / plain[s] : 0);
        cpu[c][s].push_back(measured.cpu_per_gbit);
        machine[c][s].push_back(measured.machine_cpu_per_gbit);
      }
      std::printf("  %-34s %.2f / %.2f Gbit/s (1 / 4 streams), load %s; retransmits %lld / %lld%s\n", cases[c].name.c_str(),
                  gbits[c][0].back(), gbits[c][1].back(), load_average().c_str(), static_cast<long long>(retransmits[0]),
                  static_cast<long long>(retransmits[1]), setup.losses().c_str());
    }
    std::printf("round %d done, load average %s\n", round + 1, load_average().c_str());
  }
  std::printf("\n%-34s %-8s %9s %9s %13s %13s   %s\n", "case", "streams", "Gbit/s", "of plain", "CPU s/Gbit", "machine s/Gbit",
              "Gbit/s by round");
  for (std::size_t c = 0; c < cases.size(); ++c) {
    if (gbits[c][0].empty()) continue;
    for (int s = 0; s < 2; ++s) {
      std::string each;
      for (const double g : gbits[c][s]) {
        char text[16];
        std::snprintf(text, sizeof text, "%.2f ", g);
        each += text;
      }
      std::printf("%-34s %-8d %9.2f %8.0f%% %13.3f %13.3f   %s\n", cases[c].name.c_str(), kStreamCounts[s], median(gbits[c][s]),
                  100 * median(ratios[c][s]), c == 0 ? 0.0 : median(cpu[c][s]), median(machine[c][s]), each.c_str());
    }
  }
  std::printf("load average at end: %s (CPU s/Gbit: this process, i.e. both hosts' dataplanes or accept-all programs; machine "
              "s/Gbit: every core)\n",
              load_average().c_str());
  print_ceiling(cases, gbits, machine);
  // Apply time and memory of large policies, in the same run: filter_apply (next to this binary)
  // in a process of its own, so that its peak RSS is a dataplane's with those tables and nothing
  // of the throughput rounds above.
  std::fflush(stdout);
  const auto self = std::filesystem::read_symlink("/proc/self/exe");
  const auto apply = self.parent_path() / "filter_apply";
  std::printf("\nfilter tables (%s 1000 10000):\n", apply.c_str());
  std::fflush(stdout);
  if (std::system((apply.string() + " 1000 10000").c_str()) != 0) std::fprintf(stderr, "filter_apply failed\n");
  return 0;
}
