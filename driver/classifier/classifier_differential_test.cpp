// The classifier against the policy model's reference: random rules become a ward::model compiled
// table (weighted by the model's filter_weight, or by random weights full of ties, and sorted by
// the model's takes_precedence), and for many random packets the classifier must pick the filter
// that ward::model::first_match picks. Only this test links ward_model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "directory/model/compile.h"
#include "directory/model/filter_weight.h"
#include "driver/classifier/classifier.h"
#include "driver/classifier/test_rules.h"

namespace ward::driver {
namespace {

model::IpAddress to_model(const Address& a) {
  if (a.family == AddressFamily::V4) return model::IpAddress::v4(static_cast<std::uint32_t>(a.high));
  std::array<std::uint8_t, 16> bytes{};
  for (int i = 0; i < 8; ++i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(a.high >> (56 - 8 * i));
    bytes[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(a.low >> (56 - 8 * i));
  }
  return model::IpAddress::v6(bytes);
}

model::IpPrefix to_model(const Prefix& p) {
  const auto prefix = model::IpPrefix::make(to_model(p.address), p.length);
  EXPECT_TRUE(prefix.has_value());
  return *prefix;
}

Address from_model(const model::IpAddress& a) {
  if (a.family() == model::IpFamily::V4) return Address::v4(a.v4_host_order());
  return Address::v6(a.bytes());
}

Prefix from_model(const model::IpPrefix& p) { return {from_model(p.address()), static_cast<std::uint8_t>(p.length())}; }

enum class Weights { FromModel, RandomWithTies };

struct Case {
  std::uint64_t seed;
  std::size_t rules;
  std::size_t packets;
  unsigned v6_percent;
  Weights weights;
};

// Every case runs at every SIMD level the lookup can use (each forced in turn; levels this CPU
// lacks are skipped with a message).
class ClassifierVsModel : public ::testing::TestWithParam<std::tuple<Case, SimdLevel>> {
 protected:
  void SetUp() override {
    const SimdLevel level = std::get<1>(GetParam());
    if (!set_simd_level(level)) {
      GTEST_SKIP() << "this CPU lacks " << to_string(level) << " (best: " << to_string(best_simd_level()) << ")";
    }
  }
  void TearDown() override { set_simd_level(best_simd_level()); }
};

TEST_P(ClassifierVsModel, SameWinnerAsFirstMatch) {
  const Case c = std::get<0>(GetParam());
  ASSERT_EQ(simd_level(), std::get<1>(GetParam()));
  testing::RuleGenerator gen(c.seed);
  const model::ActionKind actions[] = {model::ActionKind::Permit, model::ActionKind::Block, model::ActionKind::Negotiate};

  model::CompiledTable table;
  for (std::size_t i = 0; i < c.rules; ++i) {
    const ClassifierRule r = gen.rule(gen.family(c.v6_percent));
    model::CompiledFilter f;
    f.source = to_model(r.source);
    f.destination = to_model(r.destination);
    f.protocol = r.protocol;
    f.source_ports = {r.source_ports.first, r.source_ports.last};
    f.destination_ports = {r.destination_ports.first, r.destination_ports.last};
    f.action = actions[gen.next() % 3];
    f.weight = c.weights == Weights::FromModel
                   ? model::filter_weight(f.source, f.destination, f.protocol, f.source_ports, f.destination_ports)
                   : r.weight;
    f.rule_index = gen.next() % 20;
    f.filter_index = i;
    table.filters.push_back(f);
  }
  std::stable_sort(table.filters.begin(), table.filters.end(), model::takes_precedence);

  // The table's order is the model's full precedence; below the weight it becomes the tie-break.
  std::vector<ClassifierRule> rules;
  for (std::size_t i = 0; i < table.filters.size(); ++i) {
    const auto& f = table.filters[i];
    ClassifierRule r;
    r.source = from_model(f.source);
    r.destination = from_model(f.destination);
    r.protocol = f.protocol;
    r.source_ports = {f.source_ports.first, f.source_ports.last};
    r.destination_ports = {f.destination_ports.first, f.destination_ports.last};
    r.weight = f.weight;
    r.tie_break = static_cast<std::uint32_t>(i);
    r.id = static_cast<std::uint32_t>(i);
    rules.push_back(r);
  }
  // Shuffle the input: the classifier must not depend on receiving the table sorted.
  std::vector<ClassifierRule> shuffled = rules;
  for (std::size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[gen.next() % i]);
  auto built = Classifier::build(shuffled);
  ASSERT_TRUE(built) << built.error().to_string();
  const Classifier& classifier = **built;

  std::size_t matched = 0;
  std::vector<PacketKey> packets;
  std::vector<std::optional<std::uint32_t>> expected_ids;
  for (std::size_t i = 0; i < c.packets; ++i) {
    const PacketKey p = gen.chance(70) ? gen.packet_in(rules[gen.next() % rules.size()]) : gen.random_packet(c.v6_percent);
    const model::PacketTuple tuple{to_model(p.source), to_model(p.destination), p.protocol, p.source_port, p.destination_port};
    const auto expected = model::first_match(table, tuple);
    const auto got = classifier.lookup(p);
    ASSERT_EQ(got.has_value(), expected.has_value()) << "packet " << i << " to " << tuple.destination.to_string();
    if (expected) {
      ++matched;
      ASSERT_EQ(*got, *expected) << "packet " << i << " to " << tuple.destination.to_string();
    }
    packets.push_back(p);
    expected_ids.emplace_back(expected ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*expected)) : std::nullopt);
  }
  EXPECT_GT(matched, c.packets / 2);

  // The burst lookup (IPv4 and IPv6 mixed in one burst) picks the same.
  std::vector<std::optional<std::uint32_t>> burst(packets.size());
  classifier.lookup(packets, burst);
  for (std::size_t i = 0; i < packets.size(); ++i) ASSERT_EQ(burst[i], expected_ids[i]) << "burst packet " << i;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ClassifierVsModel,
                         ::testing::Combine(::testing::Values(Case{101, 2000, 5000, 0, Weights::FromModel},
                                                              Case{102, 2000, 5000, 100, Weights::FromModel},
                                                              Case{103, 3000, 5000, 40, Weights::FromModel},
                                                              Case{104, 3000, 5000, 40, Weights::RandomWithTies},
                                                              Case{105, 200, 5000, 20, Weights::RandomWithTies}),
                                            ::testing::Values(SimdLevel::Portable, SimdLevel::Sse2, SimdLevel::Avx2,
                                                              SimdLevel::Avx512)),
                         [](const ::testing::TestParamInfo<std::tuple<Case, SimdLevel>>& param_info) {
                           const Case& c = std::get<0>(param_info.param);
                           return "seed" + std::to_string(c.seed) + "_rules" + std::to_string(c.rules) +
                                  (c.weights == Weights::FromModel ? "_model_weights_" : "_random_weights_") +
                                  to_string(std::get<1>(param_info.param));
                         });

}  // namespace
}  // namespace ward::driver
