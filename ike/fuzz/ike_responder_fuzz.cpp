// Fuzz target: a responder (host B, preshared key) fed a sequence of datagrams from host A, as in a
// real exchange: the first is main mode 1 (Phase1Sa::respond), the next ones go to the main mode
// SA until it is established, then to quick mode (QuickModeExchange::respond, then handle), whose
// SAs land in a SimDataplane (responder_replay.cpp). The seeds are whole exchanges captured by
// ike_responder_corpus_gen; the responder's randomness restarts for every input, so a seed
// replays to the end (deterministic_random.h) and mutations reach every message's parser and
// state checks, main mode 5 and quick mode under real keys included.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ike/fuzz/responder_replay.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)ward::ike::fuzz::replay_to_responder(std::as_bytes(std::span(data, size)));
  return 0;
}
