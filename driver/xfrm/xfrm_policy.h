// One kernel XFRM policy as Ward writes it, and the netlink requests that add, replace, delete and
// list policies. The kernel allows one policy per (selector, direction): adding a policy whose
// twin exists replaces it in one step (XFRM_MSG_UPDPOLICY).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <linux/xfrm.h>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/api/filter_table.h"
#include "driver/xfrm/port_masks.h"
#include "driver/xfrm/xfrm_socket.h"

namespace ward::driver::xfrm {

// What an SA pair protects its traffic with: the templates of the policies that carry it. ESP and
// AH together are one AH+ESP bundle (ESP inside, AH outside: RFC 4301 transport adjacency).
struct Protection {
  bool esp = true;
  bool ah = false;
  std::optional<IpAddress> tunnel_endpoint;  // tunnel mode to (out) or from (in, fwd) this gateway

  friend bool operator==(const Protection&, const Protection&) = default;
};

// Comparable bytes of a selector and direction: the kernel's identity of a policy.
struct PolicyKey {
  std::string selector;  // the xfrm_selector's bytes (zero-filled, so comparable)
  std::uint8_t direction = XFRM_POLICY_OUT;

  friend auto operator<=>(const PolicyKey&, const PolicyKey&) = default;
};

struct KernelPolicy {
  xfrm_selector selector{};
  std::uint8_t direction = XFRM_POLICY_OUT;
  std::uint32_t priority = 0;
  bool block = false;
  std::vector<xfrm_user_tmpl> templates;  // none: allow in clear

  PolicyKey key() const;
  bool same_as(const KernelPolicy& other) const;  // every field, templates byte for byte
};

// The selector of `filter` with one port value/mask pair per side.
xfrm_selector selector_for(const DriverFilter& filter, const PortMask& source_port, const PortMask& destination_port);
// The filter with exact ports (a port or any), as dynamic filters and narrowed filters have them.
xfrm_selector exact_selector(const DriverFilter& filter);

// The templates for `protection` in `direction`, each naming `reqid`; `optional` (inbound
// pass-through) lets clear traffic through as well.
std::vector<xfrm_user_tmpl> templates_for(const Protection& protection, std::uint16_t family, std::uint8_t direction,
                                          std::uint32_t reqid, bool optional);

// Adds or replaces (UPDPOLICY) / deletes one policy; the error names the selector and errno's text.
Expected<void, std::string> put_policy(XfrmSocket& socket, const KernelPolicy& policy);
Expected<void, std::string> delete_policy(XfrmSocket& socket, const PolicyKey& key);

struct ListedPolicy {
  PolicyKey key;
  std::uint32_t priority = 0;
  std::uint64_t use_time = 0;  // unix seconds of the last packet it matched (0: none yet)
  std::uint64_t add_time = 0;
};
// Every policy with a priority in [low, high).
Expected<std::vector<ListedPolicy>, std::string> list_policies(XfrmSocket& socket, std::uint32_t low, std::uint32_t high);

std::string describe(const xfrm_selector& selector);

}  // namespace ward::driver::xfrm
