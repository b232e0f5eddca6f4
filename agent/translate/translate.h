// The model's compiled table as the driver's filter table, and the way back from a driver filter
// id to the policy objects it came from (for acquires, counters and the control socket).
//
// Ids: one id per (rule GUID, filter GUID). Every concrete filter compiled from that generic
// filter shares it — its mirrored reply direction (driver/api/filter_table.h: the SA negotiated
// for the filter protects both directions) and its expansions ("my address" on a host with two
// addresses, a DNS name with several addresses). A FilterIds object lives as long as the daemon,
// so the same (rule, filter) keeps its id across refreshes and an SA whose filter still holds can
// be kept; ids of filters that disappear are never handed out again. Id 0 is never used, and ids
// stay below driver::kFirstDynamicFilterId (the driver's own).
//
// The default response rule has no filters; it gets the id of (its GUID, the nil GUID), which no
// driver filter carries: IKE's default response SAs name it, and `origins` says whose it is.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "directory/model/compile.h"
#include "directory/model/guid.h"
#include "directory/model/policy.h"
#include "driver/api/filter_table.h"

namespace ward::agent::translate {

driver::FilterAction to_driver_action(model::ActionKind kind) noexcept;

// Hands out ids, stable for a (rule GUID, filter GUID) pair for the object's lifetime.
class FilterIds {
 public:
  std::uint32_t id_for(const model::Guid& rule, const model::Guid& filter);
  std::size_t size() const noexcept { return ids_.size(); }

 private:
  std::map<std::pair<model::Guid, model::Guid>, std::uint32_t> ids_;
  std::uint32_t next_ = 1;
};

// What a driver filter id stands for.
struct FilterOrigin {
  std::size_t rule_index = 0;  // into Policy::rules
  std::size_t filter_index = 0;  // into the rule's filter list
  model::Guid rule_id;
  model::Guid filter_id;
  std::string rule_name;
  std::string filter_list_name;
  std::string filter_action_name;
  model::ActionKind action = model::ActionKind::Block;

  friend bool operator==(const FilterOrigin&, const FilterOrigin&) = default;
};

struct Translation {
  driver::FilterTable table;                   // same order as the compiled table
  std::map<std::uint32_t, FilterOrigin> origins;  // every id in `table`, and default_response_id's
  std::optional<std::uint32_t> default_response_id;  // the compiled table's default response rule
};

// `table` must have been compiled from `policy`. Compiled filters whose rule or filter cannot be
// found in the policy (never from compile()) are left out.
Translation translate(const model::Policy& policy, const model::CompiledTable& table, FilterIds& ids);

}  // namespace ward::agent::translate
