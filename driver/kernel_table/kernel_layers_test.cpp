// The layered maps must give the table's first match for every packet, with no two elements of
// one layer overlapping (the kernel refuses overlapping interval elements).
#include "driver/kernel_table/kernel_layers.h"

#include <random>

#include <gtest/gtest.h>

#include "driver/engine/filter_match.h"

namespace ward::driver {
namespace {

IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }

DriverFilter filter(std::uint32_t id, const char* source, const char* destination, std::uint8_t protocol, PortRange dport,
                    FilterAction action) {
  return {id, prefix(source), prefix(destination), protocol, PortRange::any(), dport, action, 0, {}};
}

// The first filter of `filters` that covers the packet (filter_match.h, the engine's reference).
const DriverFilter* first_match(const std::vector<DriverFilter>& filters, const PacketSummary& packet, std::size_t* index) {
  for (std::size_t i = 0; i < filters.size(); ++i) {
    if (filter_matches(filters[i], packet)) {
      *index = i;
      return &filters[i];
    }
  }
  return nullptr;
}

const KernelElement* lookup(const KernelPlan& plan, const PacketSummary& packet) {
  const bool ported = packet.source_port.has_value();
  std::array<std::uint8_t, 16> source = packet.source.bytes(), destination = packet.destination.bytes();
  if (packet.source.family() == IpFamily::V4) {
    std::fill(source.begin() + 4, source.end(), 0);
    std::fill(destination.begin() + 4, destination.end(), 0);
  }
  return kernel_lookup(plan, packet.source.family(), ported ? KeyKind::Ported : KeyKind::Portless, source, destination, packet.protocol,
                       packet.source_port.value_or(0), packet.destination_port.value_or(0));
}

TEST(KernelLayers, SpecificFiltersBeforeGeneralOnesTakeOneLayerEach) {
  const std::vector<DriverFilter> filters = {
      filter(1, "10.0.0.1/32", "10.0.1.0/24", 1, PortRange::any(), FilterAction::Permit),     // ICMP to a subnet
      filter(2, "10.0.0.1/32", "10.0.1.5/32", 6, PortRange::single(80), FilterAction::Block),  // one server's web
      filter(3, "10.0.0.1/32", "10.0.0.0/8", 0, PortRange::any(), FilterAction::Negotiate),     // everything else
      filter(4, "10.0.0.1/32", "10.0.1.7/32", 6, PortRange::single(22), FilterAction::Permit),  // shadowed by 3
  };
  const auto plan = plan_kernel_layers(filters);
  // TCP and UDP: 2 in layer 1, 3 in layer 2 (it overlaps 2); 4 is inside 3 and never first.
  ASSERT_EQ(plan.of(IpFamily::V4, KeyKind::Ported).size(), 2U);
  EXPECT_EQ(plan.of(IpFamily::V4, KeyKind::Ported)[0].size(), 1U);
  EXPECT_EQ(plan.shadowed, 1U);
  // Without ports: 1 (ICMP) and 3 (any protocol) overlap.
  ASSERT_EQ(plan.of(IpFamily::V4, KeyKind::Portless).size(), 2U);
  EXPECT_TRUE(plan.of(IpFamily::V6, KeyKind::Ported).empty());

  const auto web = [](std::uint16_t port) {
    PacketSummary packet;
    packet.source = *IpAddress::parse("10.0.0.1");
    packet.destination = *IpAddress::parse("10.0.1.5");
    packet.protocol = 6;
    packet.source_port = 40000;
    packet.destination_port = port;
    return packet;
  };
  const auto* hit = lookup(plan, web(80));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->filter_index, 1U);
  hit = lookup(plan, web(22));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->filter_index, 2U);
}

TEST(KernelLayers, FiltersForPortsNeverCoverPacketsWithoutPorts) {
  const std::vector<DriverFilter> filters = {filter(1, "10.0.0.1/32", "10.0.0.2/32", 17, PortRange::single(53), FilterAction::Block),
                                             filter(2, "10.0.0.1/32", "10.0.0.2/32", 17, PortRange::any(), FilterAction::Negotiate)};
  const auto plan = plan_kernel_layers(filters);
  PacketSummary fragment;
  fragment.source = *IpAddress::parse("10.0.0.1");
  fragment.destination = *IpAddress::parse("10.0.0.2");
  fragment.protocol = 17;
  fragment.later_fragment = true;
  const auto* hit = lookup(plan, fragment);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->filter_index, 1U) << "the portless key holds filter 2 only";
  EXPECT_EQ(plan.of(IpFamily::V4, KeyKind::Portless).size(), 1U);
}

// Random tables over a small address and port space (so filters overlap a lot), random packets:
// the first layer with a hit is the table's first match, and layers never overlap inside.
TEST(KernelLayers, AgreeWithTheFirstMatchOnRandomTables) {
  std::mt19937 random(17);
  const auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const auto address = [&](bool v6, int last) {
    return v6 ? *IpAddress::parse("fd00::" + std::to_string(last)) : *IpAddress::parse("10.0.0." + std::to_string(last));
  };
  for (int round = 0; round < 200; ++round) {
    const bool v6 = round % 2 == 1;
    std::vector<DriverFilter> filters;
    const int count = 1 + pick(40);
    for (int i = 0; i < count; ++i) {
      const unsigned width = v6 ? 128 : 32;
      const auto random_prefix = [&] {
        const unsigned length = width - static_cast<unsigned>(pick(5));  // /28../32 (v4)
        auto base = address(v6, pick(16));
        auto bytes = base.bytes();
        const unsigned last_byte = v6 ? 15 : 3;
        bytes[last_byte] = static_cast<std::uint8_t>(bytes[last_byte] & ~((1U << (width - length)) - 1));
        const auto masked = v6 ? IpAddress::v6(bytes)
                               : IpAddress::v4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
                                               (std::uint32_t{bytes[2]} << 8) | bytes[3]);
        return pick(8) == 0 ? IpPrefix::any(v6 ? IpFamily::V6 : IpFamily::V4) : *IpPrefix::make(masked, length);
      };
      const std::uint8_t protocols[] = {0, 6, 17, 1};
      DriverFilter f{static_cast<std::uint32_t>(i + 1), random_prefix(), random_prefix(), protocols[pick(4)], PortRange::any(),
                     PortRange::any(), static_cast<FilterAction>(pick(3)), 0, {}};
      if (f.protocol == 6 || f.protocol == 17 || (f.protocol == 0 && pick(4) == 0)) {
        if (pick(2)) {
          const auto first = static_cast<std::uint16_t>(pick(8));
          f.destination_ports = {first, static_cast<std::uint16_t>(first + pick(4))};
        }
        if (pick(3) == 0) f.source_ports = PortRange::single(static_cast<std::uint16_t>(pick(8)));
      }
      filters.push_back(f);
    }
    const auto plan = plan_kernel_layers(filters);
    const std::uint8_t packet_protocols[] = {6, 17, 1, 58};
    for (int p = 0; p < 300; ++p) {
      PacketSummary packet;
      packet.source = address(v6, pick(16));
      packet.destination = address(v6, pick(16));
      packet.protocol = packet_protocols[pick(4)];
      packet.later_fragment = pick(6) == 0;
      if ((packet.protocol == 6 || packet.protocol == 17) && !packet.later_fragment) {
        packet.source_port = static_cast<std::uint16_t>(pick(10));
        packet.destination_port = static_cast<std::uint16_t>(pick(10));
      }
      std::size_t expected_index = 0;
      const auto* expected = first_match(filters, packet, &expected_index);
      const auto* got = lookup(plan, packet);
      if (expected == nullptr) {
        EXPECT_EQ(got, nullptr) << "round " << round << " packet " << p;
      } else {
        ASSERT_NE(got, nullptr) << "round " << round << " packet " << p << " expected filter " << expected_index;
        EXPECT_EQ(got->filter_index, expected_index) << "round " << round << " packet " << p;
        EXPECT_EQ(got->action, expected->action);
      }
    }
  }
}

}  // namespace
}  // namespace ward::driver
