// Deterministic randomness for the IKE responder fuzz target and its corpus generator only: a
// legacy OpenSSL RAND_METHOD (which OpenSSL 3.0 still consults for RAND_bytes, RAND_priv_bytes
// and the providers' key generation) that draws from named streams of a seeded generator.
//
// Why: a captured exchange replays past main mode 4 only if the responder picks the same DH key
// and nonces as when it was captured. The generator runs initiator and responder in one process,
// each on its own stream; the fuzz target resets the responder's stream before every input, so
// the responder's draws, and so its keys, depend on nothing but the input. Never linked into Ward.
#pragma once

#include <cstdint>

namespace ward::ike::fuzz {

enum class RandomStream : std::uint8_t { Initiator, Responder };

// Installs the method (once) and makes `stream` the one drawn from, restarted from `seed`.
void use_deterministic_random(RandomStream stream, std::uint64_t seed);
// Switches to `stream` without restarting it.
void switch_random_stream(RandomStream stream);

}  // namespace ward::ike::fuzz
