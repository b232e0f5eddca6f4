// One agent's state in a line, for the fleet view: its policy, main modes, quick mode SAs, soft
// associations, recent failed negotiations and bytes, from its show-sa and show-policy answers.
#pragma once

#include <cstdint>

#include <QString>
#include <nlohmann/json.hpp>

namespace ward::gui {

struct FleetSummary {
  QString policy;        // the policy's name, "(none)" when the agent enforces none
  QString policy_state;  // show-policy's "state" (applied, cached, none ...)
  int main_modes = 0;    // established main modes
  int negotiating = 0;   // main and quick modes under way
  int quick_modes = 0;   // quick mode SAs (each direction counts)
  int soft = 0;          // soft associations (the peer did not answer IKE: clear)
  int failures = 0;      // recent failed negotiations
  std::uint64_t bytes = 0;  // over the quick mode SAs
};

FleetSummary summarize(const nlohmann::json& show_sa, const nlohmann::json& show_policy);

// Rows of show-sa (main modes, quick mode SAs, soft associations, failures) whose peer is `peer`
// (every row when `peer` is empty), each with "kind": main mode, quick mode, soft association,
// failed: what the two-host view lists for one side.
nlohmann::json rows_with_peer(const nlohmann::json& show_sa, const QString& peer);

}  // namespace ward::gui
