// The SAs that the ESP/AH fuzz target decapsulates with, shared with the corpus generator so
// that the seeds are valid packets for them. Fixed, public test keys: never used outside tests.
#pragma once

#include <string>
#include <vector>

#include "driver/crypto/sa_params.h"

namespace ward::driver::crypto::fuzzing {

struct FuzzSa {
  std::string name;     // seed file prefix
  SaParams outbound;    // the sending side; inbound_of() gives the receiving side
  bool ipv6_packets;    // which inner packets the seeds carry
};

std::vector<FuzzSa> fuzz_sas();
SaParams inbound_of(const SaParams& outbound);

}  // namespace ward::driver::crypto::fuzzing
