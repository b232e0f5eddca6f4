// Diffie-Hellman for IKEv1 phase 1 and quick mode PFS, on OpenSSL 3 EVP_PKEY:
//   MODP 2048 (group 14, RFC 3526) and MODP 1024 (group 2, RFC 2409 6.2; legacy, offered only
//     when the policy allows legacy algorithms): KE data is g^x mod p, big-endian, padded to the
//     prime's size (256 / 128 bytes); the shared secret g^xy is padded likewise (RFC 2409 5,
//     RFC 2631). OpenSSL has no name for group 2: it is built from BN_get_rfc2409_prime_1024.
//   ECP 256 / ECP 384 (groups 19 / 20, RFC 5903): KE data is x || y without SEC1's 0x04 prefix
//     (RFC 5903 7), the shared secret is the x coordinate only (RFC 5903 9).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "common/expected.h"
#include "driver/crypto/secure_bytes.h"
#include "ike/constants.h"

namespace ward::ike::crypto {

using driver::crypto::SecureBytes;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// True for the groups Ward negotiates (2, 14, 19, 20).
bool is_supported_group(IkeGroupDescription group) noexcept;
// Group 2: negotiated only where the caller allows legacy algorithms.
bool is_legacy_group(IkeGroupDescription group) noexcept;
// Size of the KE payload data for `group` (128, 256, 64, 96), 0 for unsupported groups.
std::size_t public_value_size(IkeGroupDescription group) noexcept;

class DiffieHellman {
 public:
  // A fresh key pair (the private key comes from OpenSSL's DRBG).
  static Expected<DiffieHellman, std::string> generate(IkeGroupDescription group);
  // For known-answer tests: a key pair from a fixed private scalar and its public value (ECP:
  // x||y; group 2: g^x, which must be what the exponent gives).
  static Expected<DiffieHellman, std::string> from_private_for_test(IkeGroupDescription group,
                                                                    std::span<const std::byte> private_scalar,
                                                                    std::span<const std::byte> public_xy);

  IkeGroupDescription group() const noexcept { return group_; }
  // The KE payload data (g^x, or x||y).
  const std::vector<std::byte>& public_value() const noexcept { return public_value_; }
  // g^xy from the peer's KE data; refuses a value of the wrong size or not on the curve / in range.
  Expected<SecureBytes, std::string> shared_secret(std::span<const std::byte> peer_public) const;

 private:
  static Expected<DiffieHellman, std::string> modp1024_from_private(std::span<const std::byte> private_exponent,
                                                                    std::span<const std::byte> expected_public);
  DiffieHellman(IkeGroupDescription group, PkeyPtr key, std::vector<std::byte> public_value)
      : group_(group), key_(std::move(key)), public_value_(std::move(public_value)) {}

  IkeGroupDescription group_;
  PkeyPtr key_;
  std::vector<std::byte> public_value_;
};

}  // namespace ward::ike::crypto
