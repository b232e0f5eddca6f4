// Drives a responder through a datagram sequence (responder_scenario.h's format): the body of
// ike_responder_fuzz, and what ike_responder_replay_test checks the seeds with.
#pragma once

#include <cstddef>
#include <span>

#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"

namespace ward::ike::fuzz {

struct ReplayOutcome {
  std::size_t datagrams = 0;
  bool main_mode_started = false;      // message 1 was accepted
  bool main_mode_established = false;
  bool quick_mode_done = false;        // SAs installed in the SimDataplane
  std::size_t installed_sas = 0;
};

// Restarts the responder's random stream, then plays every datagram to a fresh responder.
ReplayOutcome replay_to_responder(std::span<const std::byte> input);

}  // namespace ward::ike::fuzz
