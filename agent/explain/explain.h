// explain: which filter of a compiled table applies to a packet, and why the other matching
// filters did not — for the helpdesk ("why is this traffic blocked / not encrypted?").
//
// Built on the model's own precedence (ward::model::first_match and takes_precedence), so the
// answer is the one the driver's classifier gives for the same table.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "directory/model/compile.h"
#include "directory/model/policy.h"

namespace ward::agent::explain {

// Why a matching filter lost to the winner. Declared in the order takes_precedence decides.
enum class LossReason : std::uint8_t {
  LowerWeight,     // the winner is more specific
  WeakerAction,    // same weight; block beats negotiate beats permit
  LaterRule,       // same weight and action; the winner's rule comes first in the policy
  LaterFilter,     // same rule; the winner's filter comes first in the filter list
  ReplyDirection,  // same filter; this is the generated reply direction of a mirrored filter
};
std::string_view name_of(LossReason reason) noexcept;

struct MatchedFilter {
  std::size_t position = 0;  // 1-based position in the table, as `show filters` numbers it
  model::CompiledFilter specific;
  std::string rule_name;
  std::string filter_list_name;
  std::string filter_action_name;
  model::ActionKind action = model::ActionKind::Block;
  std::optional<model::Filter> generic;  // the filter as the policy states it
  std::string note;                      // e.g. why the rule blocks instead of negotiating
};

// Per rule index: what the agent did to the rule's filters that the policy does not say, such as
// "fails closed: filter action \"Require Security\" has no usable security method (...)".
using RuleNotes = std::map<std::size_t, std::string>;

struct RunnerUp {
  MatchedFilter filter;
  LossReason reason = LossReason::LowerWeight;
  std::string why;  // e.g. "lower weight (32768 < 49152)"
};

struct Explanation {
  model::PacketTuple packet;
  std::optional<MatchedFilter> winner;  // nothing: no filter matches (the packet passes in clear)
  std::vector<RunnerUp> runners_up;     // every other matching filter, in precedence order
};

Explanation explain(const model::Policy& policy, const model::CompiledTable& table, const model::PacketTuple& packet,
                    const RuleNotes& notes = {});

// Renderings. The text form is made from the JSON form, so wardctl renders what it receives
// exactly as the agent would; render_explanation_text() throws nlohmann::json::exception on a
// JSON value of the wrong shape.
nlohmann::ordered_json to_json(const Explanation& explanation);
std::string render_explanation_text(const nlohmann::ordered_json& explanation);
inline std::string to_text(const Explanation& explanation) { return render_explanation_text(to_json(explanation)); }

// Texts shared by the renderings and by `show filters`.
std::string packet_text(const model::PacketTuple& packet);
std::string address_text(const model::AddressSpec& address);
std::string generic_filter_text(const model::Filter& filter);
std::string specific_filter_text(const model::CompiledFilter& filter);

// The `show filters` results: the compiled table ("specific") and the policy's filters as written
// ("generic"), as JSON arrays of objects.
nlohmann::ordered_json specific_filters_json(const model::Policy& policy, const model::CompiledTable& table,
                                             const RuleNotes& notes = {});
nlohmann::ordered_json generic_filters_json(const model::Policy& policy);

}  // namespace ward::agent::explain
