// IKE_AUTH's AUTH by a certificate's key (RFC 7296 2.15, 3.8; RFC 7427; RFC 4754), over the
// signed octets of keys.h (signed_octets):
//
//   method 14 (Digital Signature, RFC 7427), when the peer announced SIGNATURE_HASH_ALGORITHMS in
//            IKE_SA_INIT with a hash Ward signs with (SHA2-256 / 384 / 512):
//            AUTH data = ASN.1 length (1 octet) | AlgorithmIdentifier | signature
//            (sha*WithRSAEncryption: PKCS#1 v1.5; ecdsa-with-SHA*: DER Ecdsa-Sig-Value)
//   method 1  (RSA Digital Signature): PKCS#1 v1.5 with SHA-1, for a peer without RFC 7427
//   methods 9, 10, 11 (ECDSA P-256 / SHA-256, P-384 / SHA-384, P-521 / SHA-512): r | s, each the
//            curve's size, for a peer without RFC 7427
//
// Both are accepted from a peer whatever it announced, as long as the method fits its
// certificate's key. The key itself is auth::CertificateCredentials' (the key process signs under
// [privsep]); the peer's certificate chain and ID are checked by auth::CertificateProvider.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ike/auth/certificate_provider.h"
#include "ike/v2/keys.h"
#include "ike/v2/payloads.h"

namespace ward::ike::v2 {

// RFC 7427 4: the Hash Algorithm Identifiers of SIGNATURE_HASH_ALGORITHMS.
enum class HashAlgorithmId : std::uint16_t { Sha1 = 1, Sha2_256 = 2, Sha2_384 = 3, Sha2_512 = 4 };

// What Ward announces: SHA2-256, SHA2-384, SHA2-512 (2 octets each).
Bytes signature_hash_algorithms_data();
// The identifiers of a peer's SIGNATURE_HASH_ALGORITHMS notify (an odd octet is ignored).
std::vector<std::uint16_t> parse_signature_hash_algorithms(std::span<const std::byte> data);

// Our AUTH payload: `octets` signed with `credentials`' key, method 14 when `peer_hashes` (the
// peer's SIGNATURE_HASH_ALGORITHMS; empty: none sent) names a hash that fits the key, the key's
// classic method otherwise.
Expected<AuthPayload, std::string> build_signature_auth(const auth::CertificateCredentials& credentials,
                                                        std::span<const std::uint16_t> peer_hashes, ByteSpan octets);

// An AUTH payload's signature as the method says it: which key family and hash it claims, the
// curve a classic ECDSA method names, and the signature in the form the key checks (DER for
// ECDSA, r | s converted). The error says what is malformed; nothing is verified yet.
struct SignatureAuthData {
  bool ecdsa = false;
  std::optional<auth::KeyKind> curve;   // methods 9 / 10 / 11
  auth::SignatureHash hash = auth::SignatureHash::Sha256;
  std::string algorithm;                // "sha256WithRSAEncryption", "ECDSA P-256 SHA-256"
  Bytes signature;
};
Expected<SignatureAuthData, std::string> decode_signature_auth(const AuthPayload& auth);

// Whether `auth` signs `octets` with `peer`'s key; the error names the method, the key and `who`.
Expected<void, std::string> check_signature_auth(const auth::PeerCertificate& peer, const AuthPayload& auth, ByteSpan octets,
                                                 const std::string& who);

// "RSA digital signature (SHA-1)", "digital signature (RFC 7427) ecdsa-with-SHA256", ... for logs.
std::string describe_signature_auth(const AuthPayload& auth);

}  // namespace ward::ike::v2
