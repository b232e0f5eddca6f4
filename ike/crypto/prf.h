// IKEv1's hash and PRF (RFC 2409 4: the PRF is HMAC with the negotiated hash unless a PRF
// attribute says otherwise; Ward negotiates none), random bytes, and the concatenation helper
// every derivation uses.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "driver/crypto/secure_bytes.h"
#include "ike/constants.h"

namespace ward::ike::crypto {

using driver::crypto::SecureBytes;
using Bytes = std::span<const std::byte>;

// MD5, SHA-1, SHA2-256 and SHA2-384. MD5 (HMAC-MD5 as the PRF) is legacy: negotiated only where
// the caller allows legacy algorithms (is_legacy_hash).
bool is_supported_hash(IkeHashAlgorithm hash) noexcept;
bool is_legacy_hash(IkeHashAlgorithm hash) noexcept;
std::size_t hash_size(IkeHashAlgorithm hash) noexcept;   // 16, 20, 32, 48; 0 if unsupported
std::string_view hash_name(IkeHashAlgorithm hash) noexcept;

// hash(parts...) with the negotiated hash.
std::vector<std::byte> hash(IkeHashAlgorithm algorithm, std::initializer_list<Bytes> parts);
// prf(key, parts...) = HMAC-<hash>(key, parts concatenated). Secret output.
SecureBytes prf(IkeHashAlgorithm algorithm, Bytes key, std::initializer_list<Bytes> parts);

// RFC 2409 appendix B: K1 = prf(K, 0x00), K2 = prf(K, K1), ... truncated to `size`
// (used when SKEYID_e is shorter than the cipher key). If K is long enough, its first bytes.
SecureBytes expand_encryption_key(IkeHashAlgorithm algorithm, const SecureBytes& skeyid_e, std::size_t size);

// RAND_bytes; aborts the exchange's caller with an error if the DRBG fails.
Expected<std::vector<std::byte>, std::string> random_bytes(std::size_t count);

// Constant-time equality (CRYPTO_memcmp) for MACs and hashes; sizes are compared first.
bool equal_constant_time(Bytes a, Bytes b) noexcept;

inline Bytes as_bytes(const SecureBytes& secret) noexcept { return secret.reveal(); }

}  // namespace ward::ike::crypto
