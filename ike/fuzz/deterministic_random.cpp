// RAND_set_rand_method is deprecated in OpenSSL 3.0; it is the only way left to make the default
// provider's key generation repeatable without a provider of our own, and this file is built into
// the fuzz target and its corpus generator only.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "ike/fuzz/deterministic_random.h"

#include <openssl/rand.h>

#include <array>
#include <cstddef>

namespace ward::ike::fuzz {
namespace {

// SplitMix64 (Steele, Lea, Flood 2014): small, and every seed gives a full-period stream.
struct SplitMix64 {
  std::uint64_t state = 0;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

std::array<SplitMix64, 2> streams;
SplitMix64* current = &streams[0];

int bytes(unsigned char* out, int count) {
  for (int i = 0; i < count;) {
    std::uint64_t word = current->next();
    for (int b = 0; b < 8 && i < count; ++b, ++i, word >>= 8) out[i] = static_cast<unsigned char>(word);
  }
  return 1;
}
int seed(const void*, int) { return 1; }
int add(const void*, int, double) { return 1; }
int status() { return 1; }

const RAND_METHOD kMethod = {seed, bytes, nullptr, add, bytes, status};

}  // namespace

void use_deterministic_random(RandomStream stream, std::uint64_t seed_value) {
  static const bool installed = RAND_set_rand_method(&kMethod) == 1;
  (void)installed;
  auto& chosen = streams[static_cast<std::size_t>(stream)];
  chosen.state = seed_value;
  current = &chosen;
}

void switch_random_stream(RandomStream stream) { current = &streams[static_cast<std::size_t>(stream)]; }

}  // namespace ward::ike::fuzz
