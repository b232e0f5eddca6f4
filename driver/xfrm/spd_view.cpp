#include "driver/xfrm/spd_view.h"

namespace ward::driver::xfrm {

namespace {

bool prefixes_overlap(const IpPrefix& a, const IpPrefix& b) {
  return a.family() == b.family() && (a.contains(b.address()) || b.contains(a.address()));
}

bool ranges_overlap(const PortRange& a, const PortRange& b) { return a.first <= b.last && b.first <= a.last; }

}  // namespace

bool filters_overlap(const DriverFilter& a, const DriverFilter& b) {
  if (a.protocol != 0 && b.protocol != 0 && a.protocol != b.protocol) return false;
  return prefixes_overlap(a.source, b.source) && prefixes_overlap(a.destination, b.destination) &&
         ranges_overlap(a.source_ports, b.source_ports) && ranges_overlap(a.destination_ports, b.destination_ports);
}

FilterTable spd_view(const FilterTable& table, bool every_bypass) {
  const auto& filters = table.filters;
  std::vector<bool> kept(filters.size(), false);
  // From the end: the negotiate filters seen so far are the later ones.
  std::vector<const DriverFilter*> later_negotiate;
  for (std::size_t i = filters.size(); i-- > 0;) {
    const auto& filter = filters[i];
    if (filter.action == FilterAction::Negotiate) {
      kept[i] = true;
      later_negotiate.push_back(&filter);
      continue;
    }
    kept[i] = every_bypass;
    for (const auto* negotiate : later_negotiate) {
      if (kept[i]) break;
      kept[i] = filters_overlap(filter, *negotiate);
    }
  }
  FilterTable view;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    if (!kept[i]) continue;
    view.filters.push_back(filters[i]);
    if (view.filters.back().action == FilterAction::Block) view.filters.back().action = FilterAction::Permit;  // nftables drops it
  }
  return view;
}

}  // namespace ward::driver::xfrm
