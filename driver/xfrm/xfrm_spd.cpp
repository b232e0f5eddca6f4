#include "driver/xfrm/xfrm_spd.h"

#include <arpa/inet.h>

#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include "driver/xfrm/port_masks.h"

namespace ward::driver::xfrm {

namespace {

constexpr std::uint8_t kEspProtocol = 50;

void put_address(xfrm_address_t& out, const IpAddress& address) {
  std::memcpy(&out, address.bytes().data(), address.family() == IpFamily::V4 ? 4 : 16);
}

std::uint16_t family_of(const IpPrefix& prefix) { return prefix.family() == IpFamily::V4 ? AF_INET : AF_INET6; }

xfrm_selector selector_for(const DriverFilter& filter, const PortMask& sport, const PortMask& dport) {
  xfrm_selector selector{};
  put_address(selector.saddr, filter.source.address());
  put_address(selector.daddr, filter.destination.address());
  selector.prefixlen_s = static_cast<std::uint8_t>(filter.source.length());
  selector.prefixlen_d = static_cast<std::uint8_t>(filter.destination.length());
  selector.family = family_of(filter.source);
  selector.proto = filter.protocol;
  selector.sport = htons(sport.port);
  selector.sport_mask = htons(sport.mask);
  selector.dport = htons(dport.port);
  selector.dport_mask = htons(dport.mask);
  return selector;
}

std::string errno_message(const std::string& what, int error) { return what + ": " + std::strerror(error); }

Expected<void, std::string> add_policy(XfrmSocket& socket, const DriverFilter& filter, const xfrm_selector& selector,
                                       std::uint8_t direction, std::uint32_t priority, std::uint64_t idle_seconds = 0) {
  // UPDPOLICY replaces a policy with the same selector and direction in one step (the kernel allows
  // only one), which is how the old table's twin of each new policy is swapped out.
  nlmsghdr* message = socket.new_message(XFRM_MSG_UPDPOLICY, NLM_F_CREATE);
  auto* info = static_cast<xfrm_userpolicy_info*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_userpolicy_info)));
  info->sel = selector;
  info->priority = priority;
  info->dir = direction;
  info->action = filter.action == FilterAction::Block ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
  info->lft.soft_byte_limit = info->lft.hard_byte_limit = XFRM_INF;
  info->lft.soft_packet_limit = info->lft.hard_packet_limit = XFRM_INF;
  info->lft.hard_use_expires_seconds = idle_seconds;  // 0: none; else the kernel drops it this long after its last use
  if (filter.action == FilterAction::Negotiate) {
    xfrm_user_tmpl tmpl{};
    tmpl.id.proto = kEspProtocol;
    tmpl.family = selector.family;
    tmpl.reqid = filter.id;
    tmpl.mode = XFRM_MODE_TRANSPORT;
    if (filter.tunnel_endpoint) {
      tmpl.mode = XFRM_MODE_TUNNEL;
      put_address(direction == XFRM_POLICY_OUT ? tmpl.id.daddr : tmpl.saddr, *filter.tunnel_endpoint);
    }
    tmpl.aalgos = tmpl.ealgos = tmpl.calgos = ~0U;
    // Inbound pass-through: clear traffic is accepted too (`level use`); outbound still needs the SA.
    if (filter.accept_unsecured && direction == XFRM_POLICY_IN) tmpl.optional = 1;
    mnl_attr_put(message, XFRMA_TMPL, sizeof tmpl, &tmpl);
  }
  if (auto done = socket.request(message); !done) {
    return unexpected(errno_message("adding XFRM policy for filter " + std::to_string(filter.id) + " (" + filter.source.to_string() +
                                        " -> " + filter.destination.to_string() + ")",
                                    done.error()));
  }
  return {};
}

struct InstalledPolicy {
  xfrm_selector selector;
  std::uint8_t direction;
  std::uint32_t priority;
};

Expected<std::vector<InstalledPolicy>, std::string> list_band(XfrmSocket& socket, std::uint32_t low, std::uint32_t high) {
  std::vector<InstalledPolicy> found;
  nlmsghdr* message = socket.new_message(XFRM_MSG_GETPOLICY);
  auto dumped = socket.dump(message, [&](const nlmsghdr* reply) {
    if (reply->nlmsg_type != XFRM_MSG_NEWPOLICY) return;
    xfrm_userpolicy_info info{};
    std::memcpy(&info, mnl_nlmsg_get_payload(reply), sizeof info);
    if (info.priority >= low && info.priority < high) found.push_back({info.sel, info.dir, info.priority});
  });
  if (!dumped) return unexpected(errno_message("listing XFRM policies", dumped.error()));
  return found;
}

Expected<std::size_t, std::string> delete_band(XfrmSocket& socket, std::uint32_t low, std::uint32_t high) {
  auto policies = list_band(socket, low, high);
  if (!policies) return unexpected(policies.error());
  for (const auto& policy : *policies) {
    nlmsghdr* message = socket.new_message(XFRM_MSG_DELPOLICY);
    auto* id = static_cast<xfrm_userpolicy_id*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_userpolicy_id)));
    id->sel = policy.selector;
    id->dir = policy.direction;
    if (auto done = socket.request(message); !done && done.error() != ENOENT) {
      return unexpected(errno_message("deleting XFRM policy at priority " + std::to_string(policy.priority), done.error()));
    }
  }
  return policies->size();
}

}  // namespace

Expected<SpdSummary, std::string> install_policies(XfrmSocket& socket, const FilterTable& table, std::uint64_t generation,
                                                   const SpdOptions& options) {
  const std::uint32_t new_half = options.priority_band + (generation % 2 == 0 ? 0 : kHalfBand);
  const std::uint32_t old_half = options.priority_band + (generation % 2 == 0 ? kHalfBand : 0);
  SpdSummary summary;
  summary.first_priority = new_half;
  // Leftovers in the half we are about to fill (an earlier crash) would collide with the new ones.
  if (auto stale = delete_band(socket, new_half, new_half + kHalfBand); !stale) return unexpected(stale.error());

  std::uint32_t rank = 0;
  std::set<std::string> seen;  // a later filter with an earlier one's selector can never win
  for (const auto& filter : table.filters) {
    if (filter.source.family() != filter.destination.family()) continue;
    for (const auto& sport : port_range_to_masks(filter.source_ports)) {
      for (const auto& dport : port_range_to_masks(filter.destination_ports)) {
        if (rank >= kHalfBand) return unexpected(std::string("the table needs more than 65536 XFRM policies"));
        const auto selector = selector_for(filter, sport, dport);
        if (!seen.insert(std::string(reinterpret_cast<const char*>(&selector), sizeof selector)).second) continue;
        for (const std::uint8_t direction : {std::uint8_t{XFRM_POLICY_OUT}, std::uint8_t{XFRM_POLICY_IN}, std::uint8_t{XFRM_POLICY_FWD}}) {
          if (direction == XFRM_POLICY_FWD && !filter.tunnel_endpoint) continue;
          if (auto added = add_policy(socket, filter, selector, direction, new_half + rank); !added) return unexpected(added.error());
          ++summary.policies_added;
        }
        summary.filter_ids.push_back(filter.id);
        ++rank;
      }
    }
  }
  auto removed = delete_band(socket, old_half, old_half + kHalfBand);
  if (!removed) return unexpected(removed.error());
  summary.policies_removed = *removed;
  return summary;
}

namespace {

// Dynamic filters and soft associations name one port or any.
PortMask exact(const PortRange& ports) {
  return ports.is_any() ? PortMask{} : PortMask{ports.first, std::uint16_t{0xffff}};
}

// The filter as written (outbound) or its mirror (inbound), and its selector.
std::pair<DriverFilter, xfrm_selector> extra_direction(const DriverFilter& filter, std::uint8_t direction) {
  DriverFilter f = filter;
  if (direction == XFRM_POLICY_IN) {
    std::swap(f.source, f.destination);
    std::swap(f.source_ports, f.destination_ports);
  }
  const auto selector = selector_for(f, exact(f.source_ports), exact(f.destination_ports));
  return {f, selector};
}

}  // namespace

Expected<void, std::string> add_extra_policy(XfrmSocket& socket, const DriverFilter& filter, ExtraPolicy kind, std::uint32_t slot,
                                             std::uint64_t idle_seconds, const SpdOptions& options) {
  if (slot >= kExtraBand) return unexpected("more than " + std::to_string(kExtraBand) + " extra XFRM policies");
  const std::uint32_t priority = kind == ExtraPolicy::DynamicFilter ? options.priority_band + 2 * kHalfBand + slot
                                                                    : options.priority_band - kExtraBand + slot;
  for (const std::uint8_t direction : {std::uint8_t{XFRM_POLICY_OUT}, std::uint8_t{XFRM_POLICY_IN}}) {
    const auto [f, selector] = extra_direction(filter, direction);
    if (auto added = add_policy(socket, f, selector, direction, priority, idle_seconds); !added) return added;
  }
  return {};
}

Expected<void, std::string> delete_extra_policy(XfrmSocket& socket, const DriverFilter& filter) {
  for (const std::uint8_t direction : {std::uint8_t{XFRM_POLICY_OUT}, std::uint8_t{XFRM_POLICY_IN}}) {
    const auto [f, selector] = extra_direction(filter, direction);
    nlmsghdr* message = socket.new_message(XFRM_MSG_DELPOLICY);
    auto* id = static_cast<xfrm_userpolicy_id*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_userpolicy_id)));
    id->sel = selector;
    id->dir = direction;
    if (auto done = socket.request(message); !done && done.error() != ENOENT) {
      return unexpected(errno_message("deleting the XFRM policy of filter " + std::to_string(f.id), done.error()));
    }
  }
  return {};
}

Expected<std::vector<std::uint32_t>, std::string> extra_policy_slots(XfrmSocket& socket, ExtraPolicy kind, const SpdOptions& options) {
  const std::uint32_t low = kind == ExtraPolicy::DynamicFilter ? options.priority_band + 2 * kHalfBand : options.priority_band - kExtraBand;
  auto found = list_band(socket, low, low + kExtraBand);
  if (!found) return unexpected(found.error());
  std::set<std::uint32_t> slots;
  for (const auto& policy : *found) slots.insert(policy.priority - low);
  return std::vector<std::uint32_t>(slots.begin(), slots.end());
}

Expected<std::size_t, std::string> remove_policies(XfrmSocket& socket, const SpdOptions& options) {
  return delete_band(socket, options.priority_band - kExtraBand, options.priority_band + 2 * kHalfBand + kExtraBand);
}

}  // namespace ward::driver::xfrm
