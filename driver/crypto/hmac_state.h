// HMAC (RFC 2104) with the keyed inner and outer digest states computed once per SA.
//
// Why not EVP_MAC: OpenSSL 3.0's HMAC re-initialisation copies its prepared digest contexts with
// EVP_MD_CTX_copy_ex, which frees and allocates the provider's digest context on every copy (two
// allocations per MAC), and goes through parameter lookups by name. At 64-byte packets that was
// about a third of the time spent on HMAC. Here the prepared states are plain structs copied by
// value: no allocation, no lookup per packet. The compression functions are OpenSSL's own
// (SHA-NI / AVX2 code selected at run time), so the hashing itself is unchanged.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "common/expected.h"
#include "driver/crypto/sa_params.h"

namespace ward::driver::crypto {

// The two keyed states (inner: key XOR ipad absorbed, outer: key XOR opad absorbed). Wiped when freed.
struct HmacKeyState;
struct HmacKeyStateDeleter {
  void operator()(HmacKeyState* state) const noexcept;
};
using HmacKeyStatePtr = std::unique_ptr<HmacKeyState, HmacKeyStateDeleter>;

// Keys the states; any non-empty key (longer than the digest's block is hashed first, RFC 2104 2).
Expected<HmacKeyStatePtr, std::string> make_hmac_key_state(Integrity integrity, std::span<const std::byte> key);

// The digest size of the state's hash (20, 32 or 16 bytes).
std::size_t hmac_digest_length(const HmacKeyState& state) noexcept;

// The full MAC over the concatenation of `parts` into out (out.size() >= digest length).
// Intermediate states and the inner digest are wiped before returning.
bool hmac_compute(const HmacKeyState& state, std::span<const std::span<const std::byte>> parts,
                  std::span<unsigned char> out) noexcept;

}  // namespace ward::driver::crypto
