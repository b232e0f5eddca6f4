// The xfrm backend's security policy database: the filter table, and what SAs and IKE add to it,
// as kernel XFRM policies whose priorities carry Ward's precedence ("the most specific filter
// wins": the table arrives in precedence order, and the kernel prefers the lowest priority value).
//
// The table: every filter becomes an outbound and an inbound policy per port value/mask pair
// (port_masks.h), and a forward policy too when it names a tunnel endpoint: block ->
// XFRM_POLICY_BLOCK, permit -> allow without templates, negotiate -> allow with an ESP template
// (reqid = the filter's id), so that the kernel raises an acquire when it has no SA and drops clear
// inbound traffic that should have been protected (inbound pass-through: the template is optional).
// Selector rank r of a table gets priorities base + 4r .. base + 4r + 3:
//
//   base + 4r + 0   soft associations of filter r: allow in clear, narrowed to the peer
//   base + 4r + 1   the SAs of filter r with one peer: narrowed to the peer (transport mode; tunnel
//                   mode keeps the filter's selector, and adds inbound policies for its reply
//                   direction: Windows' unmirrored tunnel rule pairs), templates for what was
//                   negotiated (ESP, AH, AH+ESP), so AH and bundles are carried and checked by the kernel
//   base + 4r + 2   filter r itself
//
// Narrowing never changes precedence: a narrowed policy matches a subset of filter r's packets
// and sits between filter r - 1 and filter r. Dynamic filters (default response SAs) live above
// every table (they apply only where no table filter matches), in their own slots.
//
// The kernel allows one policy per selector and direction. Where two claims name the same
// selector (a host-to-host filter narrowed to its own peer, a later filter repeating an earlier
// one), the one with the lower priority is the kernel's, and the other comes back when it goes.
//
// A new table is installed below the one it replaces (its base lower than the old one's), its
// policies added in priority order (a twin of an old policy replaces it in one step, UPDPOLICY),
// then what is left of the old one deleted. Every packet therefore meets either the whole old table
// or the whole new one, never a mixture: a packet that matches a new policy of rank k finds all the
// new ranks before k already there and every old policy above them; one that matches no new policy
// yet sees the old table (its twins, which it does not match, changed nothing for it). When the
// priority space runs out (after millions of swaps) the next table starts again at the top, and
// that one swap is not consistent (SpdSummary::consistent).
//
// Ward's policies are the ones with priorities in [floor, dynamic + kDynamicSlots); others in the
// namespace are never touched.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/expected.h"
#include "driver/api/filter_table.h"
#include "driver/xfrm/xfrm_policy.h"
#include "driver/xfrm/xfrm_socket.h"

namespace ward::driver::xfrm {

inline constexpr std::uint32_t kSlotsPerRank = 4;
inline constexpr std::uint32_t kDynamicSlots = 0x10000;
inline constexpr std::size_t kMaxTableSelectors = 0x100000;

struct SpdOptions {
  std::uint32_t floor = 0x10000000;    // the lowest priority a table may use
  std::uint32_t top = 0x70000000;      // tables are placed below this, each below the last
  std::uint32_t dynamic = 0x7f000000;  // dynamic filters: [dynamic, dynamic + kDynamicSlots)
};

struct SpdSummary {
  std::size_t policies_added = 0;    // new or changed kernel policies
  std::size_t policies_removed = 0;
  std::uint32_t base = 0;            // priority of rank 0's own policy slot minus 2
  bool consistent = true;            // false: the priorities wrapped; this swap mixed old and new
};

class Spd {
 public:
  Spd(XfrmSocket& socket, SpdOptions options = {}) : socket_(socket), options_(options) {}

  // Replaces the table; soft associations and peer policies of filters still in it move along,
  // the others are dropped (their filters went away).
  Expected<SpdSummary, std::string> install_table(const FilterTable& table);
  const FilterTable& table() const noexcept { return table_; }
  // The negotiate filter with this id in the current table, if any.
  const DriverFilter* negotiate_filter(std::uint32_t id) const;
  // Which filter a table policy at `priority` belongs to (acquires name the policy's priority).
  std::optional<std::uint32_t> filter_at(std::uint32_t priority) const;

  // The policies for the SAs of (filter, peer): replaces what was there for the pair. Nothing when
  // no negotiate filter of the table covers the pair.
  Expected<void, std::string> protect_peer(std::uint32_t filter_id, const IpAddress& peer, const Protection& protection);
  Expected<void, std::string> unprotect_peer(std::uint32_t filter_id, const IpAddress& peer);

  // Clear traffic for (filter, peer), ahead of the filter. The filter must be a negotiate filter.
  Expected<void, std::string> add_soft_association(std::uint32_t filter_id, const IpAddress& peer);
  Expected<void, std::string> remove_soft_association(std::uint32_t filter_id, const IpAddress& peer);
  // Unix seconds of the last packet each soft association's policies matched (their add time if none).
  Expected<std::map<std::pair<std::uint32_t, IpAddress>, std::uint64_t>, std::string> soft_association_use();

  // A dynamic filter (`filter` written from this host's side, id = the dynamic filter's, which is
  // also its templates' reqid) in slot `slot`; again with the same id replaces its templates.
  Expected<void, std::string> add_dynamic(const DriverFilter& filter, const Protection& protection, std::uint32_t slot);
  Expected<void, std::string> remove_dynamic(std::uint32_t id);

  // Removes every policy in Ward's priorities (shutdown, or what a crashed predecessor left).
  Expected<std::size_t, std::string> remove_all();
  std::size_t installed() const noexcept { return installed_.size(); }

  // Tests only: the next change of the kernel's policies refuses after `policies` of its additions
  // went in (the kernel then holds a mixture, as after a real refusal midway); once.
  void fail_after_for_testing(std::size_t policies) { fail_after_ = policies; }

 private:
  enum class Kind : std::uint8_t { Table, Soft, Peer, Dynamic };
  struct Owner {
    Kind kind = Kind::Table;
    std::uint32_t id = 0;  // filter id (dynamic: the dynamic filter's)
    IpAddress peer;
    friend auto operator<=>(const Owner&, const Owner&) = default;
  };
  // A table entry: one selector of one filter at one rank.
  struct Entry {
    DriverFilter filter;
    PortMask source_port, destination_port;
    std::uint32_t rank = 0;
  };

  std::vector<KernelPolicy> table_policies(const Entry& entry) const;
  std::vector<KernelPolicy> narrowed_policies(const Entry& entry, const IpAddress& peer, Kind kind, const Protection* protection) const;
  std::vector<KernelPolicy> peer_claim(std::uint32_t filter_id, const IpAddress& peer, const Protection& protection) const;
  std::vector<KernelPolicy> tunnel_return_policies(const Entry& entry, const Protection& protection) const;
  std::vector<KernelPolicy> soft_claim(std::uint32_t filter_id, const IpAddress& peer) const;
  // Replaces an owner's policies in the claims; returns the keys whose winner may have changed.
  std::set<PolicyKey> claim(const Owner& owner, std::vector<KernelPolicy> policies);
  // Makes the kernel hold the winning claim of each key: additions and changes in priority order,
  // then deletions.
  Expected<std::pair<std::size_t, std::size_t>, std::string> apply(const std::set<PolicyKey>& keys);

  XfrmSocket& socket_;
  SpdOptions options_;
  FilterTable table_;
  std::vector<Entry> entries_;
  std::uint32_t base_ = 0;
  std::map<std::uint32_t, std::uint32_t> filter_by_priority_;
  std::map<Owner, std::vector<KernelPolicy>> claims_;
  std::map<Owner, Protection> peers_;   // what protect_peer was given, to move with the table
  std::map<PolicyKey, std::map<std::pair<std::uint32_t, Owner>, KernelPolicy>> candidates_;  // by priority
  std::map<PolicyKey, KernelPolicy> installed_;
  std::optional<std::size_t> fail_after_;
};

}  // namespace ward::driver::xfrm
