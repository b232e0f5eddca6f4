#include "driver/xfrm/xfrm_policy.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include <libmnl/libmnl.h>

#include "driver/xfrm/xfrm_address.h"

namespace ward::driver::xfrm {

namespace {

PortMask exact(const PortRange& ports) { return ports.is_any() ? PortMask{} : PortMask{ports.first, std::uint16_t{0xffff}}; }

}  // namespace

PolicyKey KernelPolicy::key() const {
  return PolicyKey{std::string(reinterpret_cast<const char*>(&selector), sizeof selector), direction};
}

bool KernelPolicy::same_as(const KernelPolicy& other) const {
  if (key() != other.key() || priority != other.priority || block != other.block || templates.size() != other.templates.size()) return false;
  return templates.empty() || std::memcmp(templates.data(), other.templates.data(), templates.size() * sizeof(xfrm_user_tmpl)) == 0;
}

xfrm_selector selector_for(const DriverFilter& filter, const PortMask& source_port, const PortMask& destination_port) {
  xfrm_selector selector;
  std::memset(&selector, 0, sizeof selector);  // padding too: keys compare the bytes
  put_address(selector.saddr, filter.source.address());
  put_address(selector.daddr, filter.destination.address());
  selector.prefixlen_s = static_cast<std::uint8_t>(filter.source.length());
  selector.prefixlen_d = static_cast<std::uint8_t>(filter.destination.length());
  selector.family = filter.source.family() == IpFamily::V4 ? AF_INET : AF_INET6;
  selector.proto = filter.protocol;
  selector.sport = htons(source_port.port);
  selector.sport_mask = htons(source_port.mask);
  selector.dport = htons(destination_port.port);
  selector.dport_mask = htons(destination_port.mask);
  return selector;
}

xfrm_selector exact_selector(const DriverFilter& filter) {
  return selector_for(filter, exact(filter.source_ports), exact(filter.destination_ports));
}

std::vector<xfrm_user_tmpl> templates_for(const Protection& protection, std::uint16_t family, std::uint8_t direction,
                                          std::uint32_t reqid, bool optional) {
  std::vector<xfrm_user_tmpl> out;
  // The first template is the innermost transform: ESP, then AH around it.
  for (const auto& [wanted, proto] : {std::pair{protection.esp, kEspProtocol}, std::pair{protection.ah, kAhProtocol}}) {
    if (!wanted) continue;
    xfrm_user_tmpl tmpl;
    std::memset(&tmpl, 0, sizeof tmpl);
    tmpl.id.proto = proto;
    tmpl.family = family;
    tmpl.reqid = reqid;
    tmpl.mode = XFRM_MODE_TRANSPORT;
    tmpl.aalgos = tmpl.ealgos = tmpl.calgos = ~0U;
    tmpl.optional = optional ? 1 : 0;
    out.push_back(tmpl);
  }
  // Tunnel mode: the outermost transform carries the tunnel (the local end is left for the kernel
  // to pick by routing; inbound and forwarded traffic must come from the gateway).
  if (protection.tunnel_endpoint && !out.empty()) {
    auto& outer = out.back();
    outer.mode = XFRM_MODE_TUNNEL;
    outer.family = protection.tunnel_endpoint->family() == IpFamily::V4 ? AF_INET : AF_INET6;
    put_address(direction == XFRM_POLICY_OUT ? outer.id.daddr : outer.saddr, *protection.tunnel_endpoint);
  }
  return out;
}

Expected<void, std::string> put_policy(XfrmSocket& socket, const KernelPolicy& policy) {
  nlmsghdr* message = socket.new_message(XFRM_MSG_UPDPOLICY, NLM_F_CREATE);
  auto* info = static_cast<xfrm_userpolicy_info*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_userpolicy_info)));
  info->sel = policy.selector;
  info->priority = policy.priority;
  info->dir = policy.direction;
  info->action = policy.block ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
  info->lft.soft_byte_limit = info->lft.hard_byte_limit = XFRM_INF;
  info->lft.soft_packet_limit = info->lft.hard_packet_limit = XFRM_INF;
  if (!policy.templates.empty()) {
    mnl_attr_put(message, XFRMA_TMPL, policy.templates.size() * sizeof(xfrm_user_tmpl), policy.templates.data());
  }
  if (auto done = socket.request(message); !done) {
    return unexpected("adding XFRM policy " + describe(policy.selector) + " dir " + std::to_string(policy.direction) + " priority " +
                      std::to_string(policy.priority) + ": " + std::strerror(done.error()));
  }
  return {};
}

Expected<void, std::string> delete_policy(XfrmSocket& socket, const PolicyKey& key) {
  nlmsghdr* message = socket.new_message(XFRM_MSG_DELPOLICY);
  auto* id = static_cast<xfrm_userpolicy_id*>(mnl_nlmsg_put_extra_header(message, sizeof(xfrm_userpolicy_id)));
  std::memcpy(&id->sel, key.selector.data(), sizeof id->sel);
  id->dir = key.direction;
  if (auto done = socket.request(message); !done && done.error() != ENOENT) {
    return unexpected("deleting XFRM policy " + describe(id->sel) + ": " + std::strerror(done.error()));
  }
  return {};
}

Expected<std::vector<ListedPolicy>, std::string> list_policies(XfrmSocket& socket, std::uint32_t low, std::uint32_t high) {
  std::vector<ListedPolicy> found;
  nlmsghdr* message = socket.new_message(XFRM_MSG_GETPOLICY);
  auto dumped = socket.dump(message, [&](const nlmsghdr* reply) {
    if (reply->nlmsg_type != XFRM_MSG_NEWPOLICY || mnl_nlmsg_get_payload_len(reply) < sizeof(xfrm_userpolicy_info)) return;
    xfrm_userpolicy_info info;
    std::memcpy(&info, mnl_nlmsg_get_payload(reply), sizeof info);
    // Socket policies (per-socket bypasses) are not in the SPD's lists.
    if (info.dir >= XFRM_POLICY_MAX || info.priority < low || info.priority >= high) return;
    KernelPolicy policy;
    policy.selector = info.sel;
    policy.direction = info.dir;
    found.push_back({policy.key(), info.priority, info.curlft.use_time, info.curlft.add_time});
  });
  if (!dumped) return unexpected(std::string("listing XFRM policies: ") + std::strerror(dumped.error()));
  return found;
}

std::string describe(const xfrm_selector& selector) {
  const auto prefix = [&](const xfrm_address_t& raw, unsigned length) {
    return address_from(raw, selector.family).to_string() + "/" + std::to_string(length);
  };
  std::string text = prefix(selector.saddr, selector.prefixlen_s) + " -> " + prefix(selector.daddr, selector.prefixlen_d);
  if (selector.proto != 0) text += " proto " + std::to_string(selector.proto);
  if (selector.sport_mask != 0) text += " sport " + std::to_string(ntohs(selector.sport)) + "/" + std::to_string(ntohs(selector.sport_mask));
  if (selector.dport_mask != 0) text += " dport " + std::to_string(ntohs(selector.dport)) + "/" + std::to_string(ntohs(selector.dport_mask));
  return text;
}

}  // namespace ward::driver::xfrm
