// Fuzz target: the service's IKEv2 responder (Ikev2Sa, preshared key) fed a sequence of datagrams
// from host A: the first is IKE_SA_INIT (Ikev2Sa::respond), the next ones go to transition()
// (IKE_AUTH, INFORMATIONAL, CREATE_CHILD_SA, repeats, anything). The seeds are whole exchanges
// captured by ikev2_responder_corpus_gen; B's randomness restarts for every input
// (deterministic_random.h), so mutations reach IKE_AUTH and INFORMATIONAL under real keys.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ike/fuzz/ikev2_scenario.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)ward::ike::fuzz::replay_to_ikev2_responder(std::as_bytes(std::span(data, size)));
  return 0;
}
