// The kernel half of the nfqueue backend: the filter table rendered as iptables rules in the raw
// table, so that permit and block are decided in the kernel at the first hook, before connection
// tracking, and only traffic that needs crypto (negotiate filters, inbound ESP/AH and NAT-T) is
// queued to Ward. Rules keep the table's precedence order: iptables' first match is the table's
// first match. Packets that match no filter go on to the dynamic chains (the engine's dynamic
// filters, Windows' default response: queued to Ward, who protects them or drops them clear), and
// those that match nothing there either pass in clear, as on Windows.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/api/filter_table.h"

namespace ward::driver {

struct ChainOptions {
  std::string outbound_chain = "WARD-OUT";  // jumped to from raw OUTPUT
  std::string inbound_chain = "WARD-IN";    // jumped to from raw PREROUTING
  std::string dynamic_outbound_chain = "WARD-DOUT";  // jumped to at the end of outbound_chain
  std::string dynamic_inbound_chain = "WARD-DIN";
  std::uint16_t first_queue = 0;
  std::uint16_t queue_count = 1;            // more than one spreads flows over queues (threads)
  std::vector<std::string> exempt_interfaces{"lo"};
  // TCP MSS for connections through negotiate filters: a 1500-byte link minus IP and TCP headers
  // minus room for the largest ESP overhead (tunnel mode, UDP encapsulation, CBC padding, ICV).
  std::uint16_t tcp_mss_ipv4 = 1360;
  std::uint16_t tcp_mss_ipv6 = 1340;
};

// IKE's own ports, exempt from filtering as Windows exempts IKE.
inline constexpr std::uint16_t kIkePort = 500;
inline constexpr std::uint16_t kNatTraversalPort = 4500;

// Input for `iptables-restore --noflush` (IPv4) or `ip6tables-restore --noflush` (IPv6): declares
// (and so flushes) the four chains and fills them, in one transaction. `dynamic`: the engine's
// dynamic filters (PacketEngine::dynamic_filters()).
std::string render_chain_rules(IpFamily family, const FilterTable& table, const ChainOptions& options,
                               std::span<const DriverFilter> dynamic = {});
// The same for the two dynamic chains alone (a dynamic filter came or went).
std::string render_dynamic_chain_rules(IpFamily family, std::span<const DriverFilter> dynamic, const ChainOptions& options);

// Loads the rules for both families atomically per family and hooks the chains into raw
// OUTPUT/PREROUTING once. Needs CAP_NET_ADMIN in the target network namespace.
Expected<void, std::string> install_chain_rules(const FilterTable& table, const ChainOptions& options,
                                                std::span<const DriverFilter> dynamic = {});
// Loads rendered rules (render_*) for one family.
Expected<void, std::string> load_chain_rules(IpFamily family, const std::string& rules);

// Unhooks and deletes both chains (shutdown). Missing chains are not an error.
Expected<void, std::string> remove_chain_rules(const ChainOptions& options);

}  // namespace ward::driver
