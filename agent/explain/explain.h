// explain: which filter of a compiled table applies to a packet, and why the other matching
// filters did not — for the helpdesk ("why is this traffic blocked / not encrypted?").
//
// Built on the model's own precedence (ward::model::first_match and takes_precedence), so the
// answer is the one the driver's classifier gives for the same table. Besides the filter, it says
// which Windows behaviour applies: inbound pass-through (accept unsecured), fallback to clear and a
// live soft association for a negotiate filter; for a packet no filter matches, the default
// response rule, and a live dynamic filter that protects the packet now.
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

// A Windows behaviour that changes what happens to the packet.
enum class BehaviourKind : std::uint8_t {
  AcceptUnsecured,  // the winner's action: clear inbound traffic accepted (inbound pass-through)
  FallbackToClear,  // the winner's action: a peer that does not answer IKE gets a soft association
  SoftAssociation,  // one is live for the winner and the packet's peer: the packet passes in clear
  DefaultResponse,  // no filter matches, and the default response rule answers a peer's quick mode
  DynamicFilter,    // no filter matches, and a live dynamic filter protects the packet
};
std::string_view name_of(BehaviourKind kind) noexcept;

struct Behaviour {
  BehaviourKind kind = BehaviourKind::AcceptUnsecured;
  std::string text;
};

struct Explanation {
  model::PacketTuple packet;
  std::optional<MatchedFilter> winner;  // nothing: no filter matches (the packet passes in clear)
  std::vector<RunnerUp> runners_up;     // every other matching filter, in precedence order
  std::vector<Behaviour> behaviours;
};

// What the dataplane holds now that changes a packet's fate (the agent reads it from the driver's
// counters). `filter_ids` are the driver's ids of the table's filters, by position.
struct LiveState {
  struct DynamicFilter {
    IpAddress local;
    IpAddress remote;
    std::uint8_t protocol = 0;        // 0: any
    std::uint16_t local_port = 0;     // 0: any
    std::uint16_t remote_port = 0;
    std::string rule;
  };
  struct SoftAssociation {
    std::uint32_t filter_id = 0;
    IpAddress peer;
    std::int64_t expires_in_seconds = 0;
  };
  std::vector<std::uint32_t> filter_ids;
  std::vector<DynamicFilter> dynamic_filters;
  std::vector<SoftAssociation> soft_associations;
};

Explanation explain(const model::Policy& policy, const model::CompiledTable& table, const model::PacketTuple& packet,
                    const RuleNotes& notes = {}, const LiveState* live = nullptr);

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
