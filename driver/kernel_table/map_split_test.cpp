// Spreading a key's layers over maps: every element once, in its own layer, no map over the
// limit, and each keyed by its rarer address first.
#include "driver/kernel_table/map_split.h"

#include <set>

#include <gtest/gtest.h>

namespace ward::driver::map_split_test {
namespace {

IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }

// This host with `peers` peer hosts, both directions, then a general filter for 10.0.0.0/8 each way.
std::vector<DriverFilter> host_and_peers(std::size_t peers) {
  std::vector<DriverFilter> filters;
  const auto me = prefix("10.0.0.1");
  for (std::size_t i = 0; i < peers; ++i) {
    const auto peer = *IpPrefix::parse("10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1));
    const auto action = i % 3 == 0 ? FilterAction::Permit : FilterAction::Negotiate;
    const auto id = static_cast<std::uint32_t>(i + 1);
    filters.push_back({id, me, peer, 0, PortRange::any(), PortRange::any(), action, 0, {}});
    filters.push_back({id, peer, me, 0, PortRange::any(), PortRange::any(), action, 0, {}});
  }
  const auto network = prefix("10.0.0.0/8");
  filters.push_back({9999, me, network, 0, PortRange::any(), PortRange::any(), FilterAction::Block, 0, {}});
  filters.push_back({9999, network, me, 0, PortRange::any(), PortRange::any(), FilterAction::Block, 0, {}});
  return filters;
}

TEST(MapSplit, EveryElementOnceInItsOwnLayerAndNoMapOverTheLimit) {
  const auto filters = host_and_peers(500);
  const auto plan = plan_kernel_layers(filters);
  const auto& layers = plan.of(IpFamily::V4, KeyKind::Portless);
  ASSERT_GE(layers.size(), 2U);  // the general filters overlap every host filter
  for (const std::size_t limit : {1UL, 7UL, 256UL, 100000UL}) {
    const auto maps = split_into_maps(layers, limit);
    std::set<const KernelElement*> seen;
    std::size_t previous_layer = 0;
    for (const auto& map : maps) {
      EXPECT_LE(map.elements.size(), limit);
      EXPECT_FALSE(map.elements.empty());
      EXPECT_GE(map.layer, previous_layer);  // lookup order is layer order
      previous_layer = map.layer;
      for (const auto* element : map.elements) {
        EXPECT_TRUE(seen.insert(element).second);
        const auto& layer = layers[map.layer];
        EXPECT_TRUE(element >= layer.data() && element < layer.data() + layer.size());
      }
    }
    std::size_t total = 0;
    for (const auto& layer : layers) total += layer.size();
    EXPECT_EQ(seen.size(), total) << "limit " << limit;
  }
  EXPECT_TRUE(split_into_maps({}, 10).empty());
  EXPECT_EQ(split_into_maps(layers, 0).size(), split_into_maps(layers, 1).size());  // 0 taken as 1
}

// This host's address is on one side of every filter: each element is keyed by its peer side.
TEST(MapSplit, AnElementIsKeyedByTheAddressFewerElementsShare) {
  const auto filters = host_and_peers(50);
  const auto plan = plan_kernel_layers(filters);
  const auto maps = split_into_maps(plan.of(IpFamily::V4, KeyKind::Portless), 2048);
  const std::array<std::uint8_t, 16> me{10, 0, 0, 1};
  std::size_t outbound = 0, inbound = 0;
  for (const auto& map : maps) {
    for (const auto* element : map.elements) {
      const bool from_me = element->source_first == me && element->source_last == me;
      const bool to_me = element->destination_first == me && element->destination_last == me;
      ASSERT_NE(from_me, to_me);
      EXPECT_EQ(map.order, from_me ? KeyOrder::DestinationFirst : KeyOrder::SourceFirst);
      (from_me ? outbound : inbound)++;
    }
  }
  EXPECT_EQ(outbound, 51U);
  EXPECT_EQ(inbound, 51U);
}

TEST(MapSplit, ASourceAsRareAsTheDestinationComesFirst) {
  const std::vector<DriverFilter> filters = {
      {1, prefix("192.0.2.1"), prefix("198.51.100.1"), 0, PortRange::any(), PortRange::any(), FilterAction::Permit, 0, {}}};
  const auto plan = plan_kernel_layers(filters);
  const auto maps = split_into_maps(plan.of(IpFamily::V4, KeyKind::Portless), 16);
  ASSERT_EQ(maps.size(), 1U);
  EXPECT_EQ(maps[0].order, KeyOrder::SourceFirst);
}

}  // namespace
}  // namespace ward::driver::map_split_test
