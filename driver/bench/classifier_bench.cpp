// Classifier throughput against a linear scan, on ClassBench-style rule sets (classbench.h).
//
//   lookup/<set>/<rules>/<family>   the decision-tree classifier, one lookup per iteration
//   batch/<set>/<rules>/<family>    the classifier's burst lookup, 32 packets per iteration
//   linear/<set>/<rules>/<family>   a tight linear scan of the same rules in precedence order
//   build/<set>/<rules>/<family>    Classifier::build from scratch
// --simd=portable|sse2|avx2|avx512 forces the lookup's SIMD level (default: the best this CPU has).
// Counters: items_per_second = lookups/s on one core; bytes = the classifier's memory; depth,
// nodes, leaf_entries = tree shape; matched = share of trace packets that some rule matches.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "driver/bench/classbench.h"
#include "driver/classifier/classifier.h"

namespace ward::driver::bench {
namespace {

constexpr std::size_t kTracePackets = 1U << 15;  // a power of two: the index wraps with a mask
constexpr std::uint64_t kSeed = 20261125;

// The baseline: rules in precedence order with their masks precomputed; the first match wins.
class LinearScan {
 public:
  explicit LinearScan(std::vector<ClassifierRule> rules) {
    std::stable_sort(rules.begin(), rules.end(), rule_precedes);
    for (const auto& r : rules) rules_.push_back(compact(r));
  }

  std::optional<std::uint32_t> lookup(const PacketKey& p) const noexcept {
    const bool ports = p.protocol == kProtocolTcp || p.protocol == kProtocolUdp;
    const bool v6 = p.source.family == AddressFamily::V6;
    for (const auto& r : rules_) {
      if (r.v6 != v6) continue;
      if (((p.source.high & r.source_mask[0]) != r.source[0]) | ((p.source.low & r.source_mask[1]) != r.source[1]) |
          ((p.destination.high & r.destination_mask[0]) != r.destination[0]) |
          ((p.destination.low & r.destination_mask[1]) != r.destination[1])) {
        continue;
      }
      if (r.protocol != kAnyProtocol && r.protocol != p.protocol) continue;
      if (!ports) {
        if (r.any_ports) return r.id;
        continue;
      }
      if (p.source_port >= r.source_first && p.source_port <= r.source_last && p.destination_port >= r.destination_first &&
          p.destination_port <= r.destination_last) {
        return r.id;
      }
    }
    return std::nullopt;
  }

 private:
  struct Compact {
    std::uint64_t source[2];
    std::uint64_t source_mask[2];
    std::uint64_t destination[2];
    std::uint64_t destination_mask[2];
    std::uint16_t source_first, source_last, destination_first, destination_last;
    std::uint8_t protocol;
    bool any_ports;
    bool v6;
    std::uint32_t id;
  };

  static void masks(const Prefix& p, std::uint64_t value[2], std::uint64_t mask[2]) {
    const auto top = [](unsigned bits, unsigned width) -> std::uint64_t {
      if (bits == 0) return 0;
      const std::uint64_t all = width == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1;
      return (all << (width - bits)) & all;
    };
    if (p.address.family == AddressFamily::V4) {
      mask[0] = top(p.length, 32);
      mask[1] = 0;
    } else {
      mask[0] = top(std::min<unsigned>(p.length, 64), 64);
      mask[1] = top(p.length > 64 ? p.length - 64U : 0U, 64);
    }
    value[0] = p.address.high & mask[0];
    value[1] = p.address.low & mask[1];
  }

  static Compact compact(const ClassifierRule& r) {
    Compact c{};
    masks(r.source, c.source, c.source_mask);
    masks(r.destination, c.destination, c.destination_mask);
    c.source_first = r.source_ports.first;
    c.source_last = r.source_ports.last;
    c.destination_first = r.destination_ports.first;
    c.destination_last = r.destination_ports.last;
    c.protocol = r.protocol;
    c.any_ports = r.source_ports.is_any() && r.destination_ports.is_any();
    c.v6 = r.source.address.family == AddressFamily::V6;
    c.id = r.id;
    return c;
  }

  std::vector<Compact> rules_;
};

struct Config {
  RuleSetKind kind;
  std::size_t rules;
  AddressFamily family;

  std::string name() const {
    return std::string(name_of(kind)) + "/" + std::to_string(rules) + "/" + (family == AddressFamily::V4 ? "v4" : "v6");
  }
};

struct Fixture {
  std::vector<ClassifierRule> rules;
  std::vector<PacketKey> trace;
  ClassifierPtr classifier;
  std::unique_ptr<LinearScan> linear;
  double matched = 0;
};

// Made once per configuration, on first use (so a filtered run only pays for what it runs).
Fixture& fixture(const Config& c) {
  static std::map<std::tuple<RuleSetKind, std::size_t, AddressFamily>, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[{c.kind, c.rules, c.family}];
  if (!slot) {
    slot = std::make_unique<Fixture>();
    ClassBenchGenerator gen(c.kind, c.family, kSeed + c.rules);
    slot->rules = gen.rules(c.rules);
    slot->trace = gen.trace(slot->rules, kTracePackets);
    auto built = Classifier::build(slot->rules);
    if (!built) {
      std::fprintf(stderr, "classifier_bench: %s: %s\n", c.name().c_str(), built.error().to_string().c_str());
      std::abort();
    }
    slot->classifier = std::move(built).value();
    slot->linear = std::make_unique<LinearScan>(slot->rules);
    std::size_t matched = 0;
    for (const auto& p : slot->trace) {
      const auto a = slot->classifier->lookup(p);
      if (a != slot->linear->lookup(p)) {
        std::fprintf(stderr, "classifier_bench: %s: classifier and linear scan disagree\n", c.name().c_str());
        std::abort();
      }
      matched += a.has_value() ? 1 : 0;
    }
    slot->matched = static_cast<double>(matched) / static_cast<double>(slot->trace.size());
  }
  return *slot;
}

void add_shape(benchmark::State& state, const Fixture& f) {
  const auto& s = f.classifier->stats();
  state.counters["bytes"] = static_cast<double>(s.memory_bytes);
  state.counters["depth"] = static_cast<double>(s.max_depth);
  state.counters["nodes"] = static_cast<double>(s.nodes);
  state.counters["leaf_entries"] = static_cast<double>(s.leaf_entries);
  state.counters["matched"] = f.matched;
}

void lookup(benchmark::State& state, Config c) {
  const Fixture& f = fixture(c);
  std::size_t i = 0;
  for (auto _ : state) {
    auto id = f.classifier->lookup(f.trace[i]);
    benchmark::DoNotOptimize(id);
    i = (i + 1) & (kTracePackets - 1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  add_shape(state, f);
}

// Bursts of 32 packets through the batch lookup (as the driver gets them from a queue).
void batch(benchmark::State& state, Config c) {
  constexpr std::size_t kBurst = 32;
  const Fixture& f = fixture(c);
  std::optional<std::uint32_t> out[kBurst];
  std::size_t i = 0;
  for (auto _ : state) {
    f.classifier->lookup(std::span(f.trace).subspan(i, kBurst), out);
    benchmark::DoNotOptimize(out);
    i = (i + kBurst) & (kTracePackets - 1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBurst));
}

void linear(benchmark::State& state, Config c) {
  const Fixture& f = fixture(c);
  std::size_t i = 0;
  for (auto _ : state) {
    auto id = f.linear->lookup(f.trace[i]);
    benchmark::DoNotOptimize(id);
    i = (i + 1) & (kTracePackets - 1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void build(benchmark::State& state, Config c) {
  const Fixture& f = fixture(c);
  for (auto _ : state) {
    auto built = Classifier::build(f.rules);
    benchmark::DoNotOptimize(built);
  }
  add_shape(state, f);
}

}  // namespace
}  // namespace ward::driver::bench

int main(int argc, char** argv) {
  using namespace ward::driver;
  using namespace ward::driver::bench;
  std::vector<Config> configs;
  for (const auto kind : {RuleSetKind::Acl, RuleSetKind::Fw, RuleSetKind::Ipc}) {
    for (const std::size_t rules : {100U, 1000U, 10000U}) configs.push_back({kind, rules, AddressFamily::V4});
  }
  for (const std::size_t rules : {100U, 1000U, 10000U}) configs.push_back({RuleSetKind::Ipc, rules, AddressFamily::V6});
  for (const auto& c : configs) {
    benchmark::RegisterBenchmark(("lookup/" + c.name()).c_str(), lookup, c);
    benchmark::RegisterBenchmark(("batch/" + c.name()).c_str(), batch, c);
    benchmark::RegisterBenchmark(("linear/" + c.name()).c_str(), linear, c);
    benchmark::RegisterBenchmark(("build/" + c.name()).c_str(), build, c)->Unit(benchmark::kMillisecond);
  }
  // --simd=portable|sse2|avx2|avx512 forces the lookup's SIMD level (default: the CPU's best).
  std::vector<char*> args(argv, argv + argc);
  SimdLevel level = best_simd_level();
  for (auto it = args.begin() + 1; it != args.end();) {
    constexpr std::string_view kSimdFlag = "--simd=";
    const std::string arg = *it;
    if (arg.rfind(kSimdFlag, 0) != 0) {
      ++it;
      continue;
    }
    const std::string name = arg.substr(kSimdFlag.size());
    bool known = false;
    for (const auto l : {SimdLevel::Portable, SimdLevel::Sse2, SimdLevel::Avx2, SimdLevel::Avx512}) {
      if (name == to_string(l)) {
        level = l;
        known = true;
      }
    }
    if (!known || !set_simd_level(level)) {
      std::fprintf(stderr, "classifier_bench: --simd=%s: unknown or not supported by this CPU (best: %s)\n", name.c_str(),
                   to_string(best_simd_level()));
      return 1;
    }
    it = args.erase(it);
  }
  argc = static_cast<int>(args.size());
  benchmark::AddCustomContext("classifier_simd", to_string(simd_level()));
  benchmark::Initialize(&argc, args.data());
  if (benchmark::ReportUnrecognizedArguments(argc, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
