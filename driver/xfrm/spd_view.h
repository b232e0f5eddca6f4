// What the SPD carries when the kernel filter table (driver/kernel_table, `table inet ward`)
// decides permit and block: the negotiate filters, and an allow policy (no template) for each
// permit or block filter that Ward's precedence puts ahead of traffic a kernel policy would
// otherwise protect. The kernel consults the SPD while routing, before netfilter sees the packet,
// so a permit or block filter that outranks an overlapping negotiate filter must also outrank it
// in the SPD, or the kernel would protect (or raise an acquire for) traffic Ward permits or blocks.
// With the allow policy the packet goes on to the nftables table, which drops or passes it and
// counts it for the filter.
//
// A permit or block filter needs that policy when it overlaps a later negotiate filter of the
// table, or any dynamic filter (default response: those sit below every table policy in the SPD
// but are consulted only where no table filter matches). Keeping more filters than needed is safe
// (nftables decides their packets anyway); leaving out one that overlaps nothing later changes
// nothing, as a packet that matches no SPD policy passes to nftables.
#pragma once

#include "driver/api/filter_table.h"

namespace ward::driver::xfrm {

// Whether some packet can match both filters (conservative: ports are compared as ranges).
bool filters_overlap(const DriverFilter& a, const DriverFilter& b);

// The table for the SPD: negotiate filters, and permit/block filters as Permit (allow) where they
// outrank an overlapping later negotiate filter, or all of them with `every_bypass` (dynamic
// filters exist). Order kept.
FilterTable spd_view(const FilterTable& table, bool every_bypass);

}  // namespace ward::driver::xfrm
