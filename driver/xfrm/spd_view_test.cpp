#include "driver/xfrm/spd_view.h"

#include <gtest/gtest.h>

namespace ward::driver::xfrm {
namespace {

DriverFilter filter(std::uint32_t id, const char* source, const char* destination, std::uint8_t protocol, PortRange ports,
                    FilterAction action) {
  return {id, *IpPrefix::parse(source), *IpPrefix::parse(destination), protocol, PortRange::any(), ports, action, 0, {}, false};
}

std::vector<std::uint32_t> ids(const FilterTable& table) {
  std::vector<std::uint32_t> out;
  for (const auto& f : table.filters) out.push_back(f.id);
  return out;
}

TEST(SpdView, OverlapNeedsAddressesProtocolAndPortsToMeet) {
  const auto web = filter(1, "10.0.0.0/8", "10.1.2.3/32", 6, PortRange::single(443), FilterAction::Negotiate);
  EXPECT_TRUE(filters_overlap(web, filter(2, "10.9.0.0/16", "0.0.0.0/0", 0, PortRange::any(), FilterAction::Block)));
  EXPECT_FALSE(filters_overlap(web, filter(3, "10.9.0.0/16", "10.1.2.4/32", 0, PortRange::any(), FilterAction::Block)));
  EXPECT_FALSE(filters_overlap(web, filter(4, "10.9.0.0/16", "0.0.0.0/0", 17, PortRange::any(), FilterAction::Block)));
  EXPECT_FALSE(filters_overlap(web, filter(5, "0.0.0.0/0", "0.0.0.0/0", 6, PortRange{444, 500}, FilterAction::Block)));
  EXPECT_TRUE(filters_overlap(web, filter(6, "0.0.0.0/0", "0.0.0.0/0", 6, PortRange{400, 443}, FilterAction::Block)));
  EXPECT_FALSE(filters_overlap(web, filter(7, "::/0", "::/0", 0, PortRange::any(), FilterAction::Block)));
}

TEST(SpdView, KeepsNegotiateFiltersAndTheBypassesTheirPrecedenceNeeds) {
  FilterTable table;
  table.filters = {filter(1, "10.0.0.1/32", "10.0.0.2/32", 1, PortRange::any(), FilterAction::Block),      // ICMP: no later negotiate filter for it
                   filter(2, "10.0.0.1/32", "10.0.0.2/32", 6, PortRange::single(22), FilterAction::Permit),  // carves SSH out of 3
                   filter(3, "10.0.0.0/24", "10.0.0.0/24", 6, PortRange::any(), FilterAction::Negotiate),
                   filter(4, "10.0.0.1/32", "10.0.0.3/32", 0, PortRange::any(), FilterAction::Block),        // after 3, overlaps 5
                   filter(5, "10.0.0.0/16", "10.0.0.0/16", 17, PortRange::any(), FilterAction::Negotiate),
                   filter(6, "0.0.0.0/0", "0.0.0.0/0", 0, PortRange::any(), FilterAction::Block)};          // nothing after it
  const auto view = spd_view(table, false);
  EXPECT_EQ(ids(view), (std::vector<std::uint32_t>{2, 3, 4, 5}));
  for (const auto& f : view.filters) {
    EXPECT_NE(f.action, FilterAction::Block) << "filter " << f.id << ": nftables blocks, the SPD only lets it through to nftables";
  }
  EXPECT_EQ(ids(spd_view(table, true)), (std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6})) << "with dynamic filters, every bypass";
  EXPECT_TRUE(spd_view(FilterTable{}, false).filters.empty());
}

}  // namespace
}  // namespace ward::driver::xfrm
