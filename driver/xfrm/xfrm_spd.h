// The xfrm backend's security policy database: the filter table as kernel XFRM policies.
//
// Every filter becomes an outbound and an inbound policy (one per port value/mask pair), and a
// forward policy too when it names a tunnel endpoint: block -> XFRM_POLICY_BLOCK, permit -> allow
// without templates, negotiate -> allow with an ESP template (reqid = the filter's id), so the
// kernel raises an acquire when it has no SA and drops clear inbound traffic that should have been
// protected. The template is transport mode, or tunnel mode to the filter's tunnel endpoint (out:
// the endpoint is the template's destination; in/fwd: it is the source, the kernel checks that the
// SA comes from it; the local end is left for the kernel to pick by routing). Priorities come from the table's precedence
// order (weights, then the tie rule): rank r gets priority band + r, and the kernel prefers the
// lowest priority value, so its choice equals Ward's.
//
// An inbound policy of a filter that accepts unsecured communication (inbound pass-through) has an
// optional template (`level use`): the kernel accepts clear traffic as well as ESP.
//
// Beside the table, single filters (extra policies): the dynamic filters of default response SAs
// just after the table's halves (they apply only where no table filter matches), and soft
// associations just before Ward's band (clear for one filter and peer, ahead of the filter).
//
// Ward's policies live in one priority band of their own; anything outside it belongs to someone
// else and is never touched. The kernel SPD has no transactions: a new table goes into the other
// half of the band, each policy replacing its same-selector twin of the old table in one step
// (XFRM_MSG_UPDPOLICY), and what is left of the old half is deleted afterwards. During the swap a
// packet meets either an old or a new policy for its selector, never none; old policies whose
// selectors the new table lacks stay until the end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "driver/api/filter_table.h"
#include "driver/xfrm/xfrm_socket.h"

namespace ward::driver::xfrm {

struct SpdOptions {
  std::uint32_t priority_band = 0x40000;  // Ward's policies use [band, band + 2 * kHalfBand)
};

inline constexpr std::uint32_t kHalfBand = 0x10000;  // up to 65536 kernel policies per table
inline constexpr std::uint32_t kExtraBand = 0x1000;  // dynamic filters after the halves, soft associations before

enum class ExtraPolicy : std::uint8_t { DynamicFilter, SoftAssociation };

struct SpdSummary {
  std::size_t policies_added = 0;
  std::size_t policies_removed = 0;
  std::uint32_t first_priority = 0;    // the priority of rank 0 in the half this table went into
  std::vector<std::uint32_t> filter_ids;  // by rank (priority - first_priority): whose policy it is
};

// Installs the table and removes the previous one. `generation` alternates the half of the band.
Expected<SpdSummary, std::string> install_policies(XfrmSocket& socket, const FilterTable& table, std::uint64_t generation,
                                                   const SpdOptions& options = {});

// Adds (or replaces) the outbound and inbound policies of one filter outside the table: a dynamic
// filter (negotiate, template reqid = its id) or a soft association (permit), at `slot` in its band.
// `idle_seconds` (soft associations): the kernel removes the policies that long after their last use.
Expected<void, std::string> add_extra_policy(XfrmSocket& socket, const DriverFilter& filter, ExtraPolicy kind, std::uint32_t slot,
                                             std::uint64_t idle_seconds = 0, const SpdOptions& options = {});
Expected<void, std::string> delete_extra_policy(XfrmSocket& socket, const DriverFilter& filter);
// The slots of one kind that the kernel still holds (it retires idle soft associations itself).
Expected<std::vector<std::uint32_t>, std::string> extra_policy_slots(XfrmSocket& socket, ExtraPolicy kind, const SpdOptions& options = {});

// Removes every policy in Ward's band and the extra bands (shutdown, or cleaning up after a crash).
Expected<std::size_t, std::string> remove_policies(XfrmSocket& socket, const SpdOptions& options = {});

}  // namespace ward::driver::xfrm
