#include "driver/classifier/classifier.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "driver/classifier/test_rules.h"

namespace ward::driver {
namespace {

using testing::linear_lookup;
using testing::RuleGenerator;

constexpr std::uint8_t kIcmp = 1;
constexpr std::uint8_t kIcmpV6 = 58;

Address ip(const char* text) {
  std::array<std::uint8_t, 4> v4{};
  if (inet_pton(AF_INET, text, v4.data()) == 1) return Address::v4(v4);
  std::array<std::uint8_t, 16> v6{};
  EXPECT_EQ(inet_pton(AF_INET6, text, v6.data()), 1) << text;
  return Address::v6(v6);
}

Prefix net(const char* text, unsigned length) { return {ip(text), static_cast<std::uint8_t>(length)}; }

ClassifierRule rule(Prefix source, Prefix destination, std::uint32_t weight, std::uint32_t id) {
  ClassifierRule r;
  r.source = source;
  r.destination = destination;
  r.weight = weight;
  r.id = id;
  return r;
}

PacketKey packet(const char* source, const char* destination, std::uint8_t protocol = kProtocolTcp,
                 std::uint16_t source_port = 40000, std::uint16_t destination_port = 80) {
  return {ip(source), ip(destination), protocol, source_port, destination_port};
}

ClassifierPtr make(const std::vector<ClassifierRule>& rules) {
  auto built = Classifier::build(rules);
  EXPECT_TRUE(built.has_value()) << (built ? "" : built.error().to_string());
  return std::move(built).value();
}

// The classifier against the linear reference on every packet, reporting the first difference.
void expect_same_as_linear(const Classifier& classifier, const std::vector<ClassifierRule>& rules,
                           const std::vector<PacketKey>& packets) {
  std::size_t matched = 0;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto expected = linear_lookup(rules, packets[i]);
    const auto got = classifier.lookup(packets[i]);
    ASSERT_EQ(got.has_value(), expected.has_value()) << "packet " << i;
    if (expected) {
      ++matched;
      ASSERT_EQ(*got, rules[*expected].id) << "packet " << i;
    }
  }
  // The packets must exercise matches, not only misses.
  EXPECT_GT(matched, packets.size() / 3);
}

TEST(Classifier, EmptyTableMatchesNothing) {
  const auto c = make({});
  EXPECT_FALSE(c->lookup(packet("10.0.0.1", "10.0.0.2")));
  EXPECT_FALSE(c->lookup(packet("2001:db8::1", "2001:db8::2")));
  EXPECT_EQ(c->stats().rules, 0U);
}

TEST(Classifier, HostBeatsSubnetBeatsAnyThroughWeights) {
  const auto c = make({rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), 0, 1),
                       rule(Prefix::any(AddressFamily::V4), net("10.1.0.0", 16), 64, 2),
                       rule(Prefix::any(AddressFamily::V4), Prefix::host(ip("10.1.2.3")), 128, 3)});
  EXPECT_EQ(c->lookup(packet("192.0.2.1", "10.1.2.3")), 3U);
  EXPECT_EQ(c->lookup(packet("192.0.2.1", "10.1.2.4")), 2U);
  EXPECT_EQ(c->lookup(packet("192.0.2.1", "10.2.0.1")), 1U);
}

TEST(Classifier, WeightDecidesNotInsertionOrderNorSpecificity) {
  // The weight is authoritative: a subnet given a higher weight beats a host.
  const auto c = make({rule(Prefix::any(AddressFamily::V4), Prefix::host(ip("10.1.2.3")), 10, 1),
                       rule(Prefix::any(AddressFamily::V4), net("10.0.0.0", 8), 20, 2)});
  EXPECT_EQ(c->lookup(packet("192.0.2.1", "10.1.2.3")), 2U);
}

TEST(Classifier, TiesGoToTheLowerTieBreakThenToTheEarlierRule) {
  auto a = rule(net("10.0.0.0", 8), Prefix::any(AddressFamily::V4), 50, 1);
  auto b = rule(Prefix::any(AddressFamily::V4), net("10.0.0.0", 8), 50, 2);
  a.tie_break = 7;
  b.tie_break = 3;
  EXPECT_EQ(make({a, b})->lookup(packet("10.0.0.1", "10.0.0.2")), 2U);
  b.tie_break = 7;
  EXPECT_EQ(make({a, b})->lookup(packet("10.0.0.1", "10.0.0.2")), 1U);
  EXPECT_EQ(make({b, a})->lookup(packet("10.0.0.1", "10.0.0.2")), 2U);
}

TEST(Classifier, PortsMatchOnlyTcpAndUdp) {
  auto web = rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), 100, 1);
  web.destination_ports = PortRange::single(80);  // protocol any, but a port: TCP or UDP only
  const auto any = rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), 0, 2);
  const auto c = make({web, any});
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolTcp, 1234, 80)), 1U);
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolUdp, 1234, 80)), 1U);
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolTcp, 1234, 81)), 2U);
  // An ICMP packet whose port fields happen to say 80 still has no ports.
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kIcmp, 1234, 80)), 2U);
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", 0, 0, 80)), 2U);
}

TEST(Classifier, ProtocolAndPortsTogether) {
  auto icmp_with_port = rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), 200, 1);
  icmp_with_port.protocol = kIcmp;
  icmp_with_port.destination_ports = PortRange::single(0);  // can never match: ICMP has no ports
  auto udp = rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), 100, 2);
  udp.protocol = kProtocolUdp;
  auto icmp = rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), 50, 3);
  icmp.protocol = kIcmp;
  const auto c = make({icmp_with_port, udp, icmp});
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kIcmp, 0, 0)), 3U);
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolUdp, 0, 0)), 2U);
  EXPECT_FALSE(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolTcp, 0, 0)));
}

TEST(Classifier, SlashZeroMatchesItsFamilyOnly) {
  const auto c = make({rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), 0, 4),
                       rule(Prefix::any(AddressFamily::V6), Prefix::any(AddressFamily::V6), 0, 6)});
  EXPECT_EQ(c->lookup(packet("0.0.0.0", "255.255.255.255", kIcmp)), 4U);
  EXPECT_EQ(c->lookup(packet("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", kIcmpV6)), 6U);
  // Mixed-family keys (cannot occur on the wire) match nothing.
  EXPECT_FALSE(c->lookup({ip("10.0.0.1"), ip("2001:db8::1"), kProtocolTcp, 1, 2}));
}

TEST(Classifier, PortEdges) {
  std::vector<ClassifierRule> rules;
  const PortRange ranges[] = {{0, 0}, {65535, 65535}, {1, 65535}, {0, 65534}, {1, 65534}, {0, 65535}};
  for (std::uint32_t i = 0; i < std::size(ranges); ++i) {
    auto r = rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), 100 - i, i);
    r.destination_ports = ranges[i];
    rules.push_back(r);
  }
  const auto c = make(rules);
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolTcp, 5, 0)), 0U);
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolTcp, 5, 65535)), 1U);
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolTcp, 5, 1)), 2U);
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kProtocolUdp, 5, 65534)), 2U);
  // {0, 65534} is not "any": it does not match a packet without ports. Only {0, 65535} does.
  EXPECT_EQ(c->lookup(packet("10.0.0.1", "10.0.0.2", kIcmp, 0, 0)), 5U);
}

TEST(Classifier, OverlappingPortRangesEveryPort) {
  std::vector<ClassifierRule> rules;
  const PortRange ranges[] = {{100, 200}, {150, 250}, {180, 190}, {0, 160}, {240, 65535}, {185, 185}, {200, 200}};
  const std::uint32_t weights[] = {5, 6, 4, 6, 1, 3, 9};
  for (std::uint32_t i = 0; i < std::size(ranges); ++i) {
    auto r = rule(Prefix::any(AddressFamily::V4), net("10.0.0.0", 8), weights[i], i);
    r.destination_ports = ranges[i];
    r.source_ports = i % 2 == 0 ? PortRange::any() : PortRange{1000, 2000};
    r.tie_break = i % 3;
    rules.push_back(r);
  }
  const auto c = make(rules);
  std::vector<PacketKey> packets;
  for (std::uint32_t port = 0; port <= 300; ++port) {
    for (const std::uint16_t source_port : {999, 1000, 1500, 2000, 2001}) {
      packets.push_back(packet("192.0.2.1", "10.9.9.9", kProtocolTcp, source_port, static_cast<std::uint16_t>(port)));
    }
  }
  packets.push_back(packet("192.0.2.1", "10.9.9.9", kProtocolTcp, 1, 65535));
  expect_same_as_linear(*c, rules, packets);
}

TEST(Classifier, Ipv6PrefixesAroundTheHalfWordBoundary) {
  const auto any6 = Prefix::any(AddressFamily::V6);
  const auto c = make({rule(any6, net("2001:db8::", 32), 32, 32), rule(any6, net("2001:db8:0:1::", 64), 64, 64),
                       rule(any6, net("2001:db8:0:1:8000::", 65), 65, 65),
                       rule(any6, net("2001:db8:0:1::fffe", 127), 127, 127),
                       rule(any6, Prefix::host(ip("2001:db8:0:1::1")), 128, 128), rule(any6, net("8000::", 1), 1, 1)});
  EXPECT_EQ(c->lookup(packet("::1", "2001:db8:0:1::1")), 128U);
  EXPECT_EQ(c->lookup(packet("::1", "2001:db8:0:1::ffff")), 127U);
  EXPECT_EQ(c->lookup(packet("::1", "2001:db8:0:1::2")), 64U);
  EXPECT_EQ(c->lookup(packet("::1", "2001:db8:0:1:8000::1")), 65U);
  EXPECT_EQ(c->lookup(packet("::1", "2001:db8:0:2::1")), 32U);
  EXPECT_EQ(c->lookup(packet("::1", "ff02::1")), 1U);
  EXPECT_FALSE(c->lookup(packet("::1", "2002::1")));
  // An IPv4 packet with the same leading bits matches no IPv6 rule.
  EXPECT_FALSE(c->lookup(packet("32.1.13.184", "32.1.13.184")));
}

TEST(Classifier, HostBitsBeyondThePrefixAreIgnored) {
  const auto c = make({rule(Prefix::any(AddressFamily::V4), net("10.1.2.3", 16), 1, 1)});
  EXPECT_EQ(c->lookup(packet("192.0.2.1", "10.1.200.200")), 1U);
  EXPECT_FALSE(c->lookup(packet("192.0.2.1", "10.2.2.3")));
}

TEST(Classifier, RefusesRulesThatCanNeverMatch) {
  auto mixed = rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V6), 0, 0);
  auto built = Classifier::build(std::vector{mixed});
  ASSERT_FALSE(built);
  EXPECT_EQ(built.error().to_string(), "rules[0].destination: source is IPv4 but destination is IPv6");

  auto long_prefix = rule(net("10.0.0.0", 33), Prefix::any(AddressFamily::V4), 0, 0);
  EXPECT_EQ(validate_rule(long_prefix).error().to_string(), "source: prefix length 33 exceeds 32");

  auto inverted = rule(Prefix::any(AddressFamily::V6), Prefix::any(AddressFamily::V6), 0, 0);
  inverted.destination_ports = {443, 80};
  ClassifierBuilder builder;
  auto handle = builder.insert(inverted);
  ASSERT_FALSE(handle);
  EXPECT_EQ(handle.error().to_string(), "destination_ports: first port 443 is after last port 80");
  EXPECT_EQ(builder.size(), 0U);
}

struct RandomCase {
  std::uint64_t seed;
  std::size_t rules;
  unsigned v6_percent;
};

class ClassifierRandom : public ::testing::TestWithParam<RandomCase> {};

TEST_P(ClassifierRandom, SameWinnerAsLinearScan) {
  RuleGenerator gen(GetParam().seed);
  const auto rules = gen.rules(GetParam().rules, GetParam().v6_percent);
  const auto c = make(rules);
  EXPECT_EQ(c->stats().rules, rules.size());
  expect_same_as_linear(*c, rules, gen.packets(rules, 4000, GetParam().v6_percent));
}

INSTANTIATE_TEST_SUITE_P(Seeds, ClassifierRandom,
                         ::testing::Values(RandomCase{1, 10, 50}, RandomCase{2, 100, 0}, RandomCase{3, 1000, 30},
                                           RandomCase{4, 3000, 100}, RandomCase{5, 3000, 0}),
                         [](const ::testing::TestParamInfo<RandomCase>& param_info) {
                           return "seed" + std::to_string(param_info.param.seed) + "_rules" + std::to_string(param_info.param.rules) +
                                  "_v6pct" + std::to_string(param_info.param.v6_percent);
                         });

TEST(Classifier, DegenerateSetsStayExactAndSmall) {
  // Many identical rules; a chain of nested port ranges; thousands of full wildcards.
  std::vector<ClassifierRule> rules;
  for (std::uint32_t i = 0; i < 500; ++i) rules.push_back(rule(net("10.0.0.0", 8), net("10.0.0.0", 8), 7, i));
  for (std::uint32_t i = 0; i < 500; ++i) {
    auto r = rule(Prefix::any(AddressFamily::V4), Prefix::any(AddressFamily::V4), i % 13, 500 + i);
    r.protocol = kProtocolTcp;
    r.destination_ports = {static_cast<std::uint16_t>(i * 50), static_cast<std::uint16_t>(65535 - i * 50)};
    rules.push_back(r);
  }
  for (std::uint32_t i = 0; i < 2000; ++i) {
    rules.push_back(rule(Prefix::any(AddressFamily::V6), Prefix::any(AddressFamily::V6), i % 5, 1000 + i));
  }
  const auto c = make(rules);
  RuleGenerator gen(99);
  expect_same_as_linear(*c, rules, gen.packets(rules, 3000, 30));
  EXPECT_LT(c->stats().leaf_entries, 32 * rules.size());
}

// Build N, remove and insert some, build again: the same winners as a fresh build of what is left.
TEST(ClassifierBuilder, IncrementalUpdatesEqualAFreshBuild) {
  RuleGenerator gen(42);
  const auto initial = gen.rules(2000, 30);
  ClassifierBuilder builder;
  std::vector<std::pair<ClassifierBuilder::RuleHandle, ClassifierRule>> live;
  for (const auto& r : initial) live.emplace_back(builder.insert(r).value(), r);
  const auto first = builder.build();
  EXPECT_EQ(first->stats().rules, 2000U);

  for (int i = 0; i < 300; ++i) {
    const auto victim = gen.next() % live.size();
    ASSERT_TRUE(builder.remove(live[victim].first));
    EXPECT_FALSE(builder.remove(live[victim].first));
    live.erase(live.begin() + static_cast<std::ptrdiff_t>(victim));
  }
  for (std::uint32_t i = 0; i < 300; ++i) {
    auto r = gen.rule(gen.family(30));
    r.id = 10000 + i;
    live.emplace_back(builder.insert(r).value(), r);
  }
  const auto second = builder.build();

  std::vector<ClassifierRule> remaining;
  for (const auto& [handle, r] : live) remaining.push_back(r);  // handle order = insertion order
  const auto fresh = make(remaining);
  const auto packets = gen.packets(remaining, 5000, 30);
  expect_same_as_linear(*second, remaining, packets);
  for (const auto& p : packets) ASSERT_EQ(second->lookup(p), fresh->lookup(p));
  // The first version is untouched by the updates.
  expect_same_as_linear(*first, initial, gen.packets(initial, 2000, 30));
}

TEST(ClassifierBuilder, UnchangedFamilyIsReused) {
  RuleGenerator gen(7);
  ClassifierBuilder builder;
  for (const auto& r : gen.rules(500, 50)) ASSERT_TRUE(builder.insert(r));
  const auto before = builder.build();
  auto extra = rule(Prefix::any(AddressFamily::V4), Prefix::host(ip("192.0.2.9")), 1000, 777);
  const auto handle = builder.insert(extra).value();
  const auto after = builder.build();
  EXPECT_EQ(after->lookup(packet("198.51.100.1", "192.0.2.9")), 777U);
  builder.remove(handle);
  const auto removed = builder.build();
  EXPECT_NE(removed->lookup(packet("198.51.100.1", "192.0.2.9")), std::optional<std::uint32_t>(777U));
  EXPECT_EQ(removed->stats().rules, 500U);
  builder.clear();
  EXPECT_EQ(builder.build()->stats().rules, 0U);
}

TEST(Classifier, BurstLookupEqualsOneByOne) {
  RuleGenerator gen(12);
  const auto rules = gen.rules(1500, 40);
  const auto c = make(rules);
  auto packets = gen.packets(rules, 1003, 40);  // not a multiple of the internal batch
  packets[5].destination = ip("2001:db8::1");  // mixed families: matches nothing
  std::vector<std::optional<std::uint32_t>> out(packets.size(), 12345U);
  c->lookup(packets, out);
  for (std::size_t i = 0; i < packets.size(); ++i) ASSERT_EQ(out[i], c->lookup(packets[i])) << "packet " << i;
  EXPECT_FALSE(out[5]);
  // A shorter output span: only that many are written.
  std::vector<std::optional<std::uint32_t>> short_out(3);
  c->lookup(packets, short_out);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(short_out[i], out[i]);
}

TEST(Classifier, ConcurrentReadersSeeTheSameAnswers) {
  RuleGenerator gen(11);
  const auto rules = gen.rules(1000, 30);
  const auto c = make(rules);
  const auto packets = gen.packets(rules, 2000, 30);
  std::vector<std::optional<std::uint32_t>> expected;
  for (const auto& p : packets) expected.push_back(c->lookup(p));
  std::vector<std::thread> readers;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (std::size_t i = 0; i < packets.size(); ++i) {
        if (c->lookup(packets[i]) != expected[i]) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& r : readers) r.join();
  for (const int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace ward::driver

namespace ward::driver {
namespace {

constexpr SimdLevel kAllLevels[] = {SimdLevel::Portable, SimdLevel::Sse2, SimdLevel::Avx2, SimdLevel::Avx512};

TEST(ClassifierSimd, PortableIsAlwaysAvailableAndTheBestIsTheDefault) {
  EXPECT_EQ(simd_level(), best_simd_level());
  EXPECT_TRUE(set_simd_level(SimdLevel::Portable));
  EXPECT_EQ(simd_level(), SimdLevel::Portable);
  for (const SimdLevel level : kAllLevels) {
    // A level above the CPU's best is refused and changes nothing.
    EXPECT_EQ(set_simd_level(level), level <= best_simd_level()) << to_string(level);
  }
  EXPECT_TRUE(set_simd_level(best_simd_level()));
  EXPECT_EQ(simd_level(), best_simd_level());
}

// Every level (forced in turn) against the linear scan, one by one and in bursts, on a table
// updated incrementally: leaves of every size and padding, both families, mixed bursts.
TEST(ClassifierSimd, EveryLevelAgreesWithTheLinearScanAfterUpdates) {
  RuleGenerator gen(31);
  ClassifierBuilder builder;
  std::vector<std::pair<ClassifierBuilder::RuleHandle, ClassifierRule>> live;
  for (const auto& r : gen.rules(2500, 35)) live.emplace_back(builder.insert(r).value(), r);
  const auto first = builder.build();
  for (int i = 0; i < 200; ++i) {
    const auto victim = gen.next() % live.size();
    ASSERT_TRUE(builder.remove(live[victim].first));
    live.erase(live.begin() + static_cast<std::ptrdiff_t>(victim));
  }
  for (std::uint32_t i = 0; i < 200; ++i) {
    auto r = gen.rule(gen.family(35));
    r.id = 20000 + i;
    live.emplace_back(builder.insert(r).value(), r);
  }
  const auto updated = builder.build();
  std::vector<ClassifierRule> remaining;
  for (const auto& [handle, r] : live) remaining.push_back(r);
  const auto packets = gen.packets(remaining, 3001, 35);

  std::size_t tested = 0;
  for (const SimdLevel level : kAllLevels) {
    if (!set_simd_level(level)) {
      std::printf("skipping %s: this CPU's best is %s\n", to_string(level), to_string(best_simd_level()));
      continue;
    }
    SCOPED_TRACE(to_string(level));
    ++tested;
    expect_same_as_linear(*updated, remaining, packets);
    std::vector<std::optional<std::uint32_t>> out(packets.size());
    updated->lookup(packets, out);
    for (std::size_t i = 0; i < packets.size(); ++i) {
      const auto expected = linear_lookup(remaining, packets[i]);
      ASSERT_EQ(out[i], expected ? std::optional<std::uint32_t>(remaining[*expected].id) : std::nullopt) << "burst packet " << i;
    }
  }
  set_simd_level(best_simd_level());
  EXPECT_GE(tested, 1U);
}

}  // namespace
}  // namespace ward::driver
