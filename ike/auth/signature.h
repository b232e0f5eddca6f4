// Signatures over octet strings with certificate keys, for IKEv2's AUTH (RFC 7296 2.15: the
// InitiatorSignedOctets / ResponderSignedOctets; RFC 7427 digital signatures; RFC 4754 ECDSA):
//  - RSA: PKCS#1 v1.5 (RFC 8017 8.2) over a DigestInfo of SHA-1 / SHA-2 (what charon sends for
//    sha*WithRSAEncryption and for IKEv2's classic method 1);
//  - ECDSA on P-256 / P-384 / P-521: the DER Ecdsa-Sig-Value (RFC 7427; ike/v2 turns it into
//    RFC 4754's r | s for the classic methods 9 / 10 / 11).
// The signing itself is CertificateCredentials::sign, which is the key process under [privsep]:
// it gets the hash (ECDSA) or the DigestInfo with the hash (RSA), never the octets, so its
// request stays a short digest (is_signable_digest).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

#include "common/expected.h"

namespace ward::ike::auth {

enum class SignatureHash : std::uint8_t { Sha1, Sha256, Sha384, Sha512 };
enum class KeyKind : std::uint8_t { Rsa, EcdsaP256, EcdsaP384, EcdsaP521, Unsupported };

std::string_view name(SignatureHash hash) noexcept;   // "SHA-256"
std::string_view name(KeyKind kind) noexcept;         // "RSA", "ECDSA P-256"
bool is_ecdsa(KeyKind kind) noexcept;
// The hash RFC 4754 pairs with an ECDSA curve (P-256: SHA-256, ...); SHA-256 for RSA.
SignatureHash natural_hash(KeyKind kind) noexcept;

KeyKind key_kind_of(EVP_PKEY* key) noexcept;

// What a signer may be asked to sign: a bare hash of 16, 20, 32, 48 or 64 bytes (IKEv1's HASH_I /
// HASH_R; an ECDSA digest), or a DigestInfo of SHA-1 / SHA-256 / SHA-384 / SHA-512 (RSA PKCS#1 v1.5).
// Checked by wardd and by its key process before they sign for the IKE process.
bool is_signable_digest(std::span<const std::byte> digest) noexcept;

// The input of the key's raw signature for `octets` hashed with `hash`: the DigestInfo for RSA, the
// hash for ECDSA.
Expected<std::vector<std::byte>, std::string> digest_to_sign(KeyKind kind, SignatureHash hash, std::span<const std::byte> octets);

// Whether `signature` (PKCS#1 v1.5 for RSA, DER Ecdsa-Sig-Value for ECDSA) signs `octets` hashed
// with `hash` under `key`.
bool verify_signature(EVP_PKEY* key, SignatureHash hash, std::span<const std::byte> octets, std::span<const std::byte> signature);

}  // namespace ward::ike::auth
