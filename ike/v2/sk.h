// The Encrypted and Authenticated payload, SK {...} (RFC 7296 3.14), with the two suites Ward
// negotiates for the IKE SA:
//   AES-CBC-128/256 (RFC 3602) + HMAC-SHA1-96 / HMAC-SHA2-256-128 / HMAC-SHA2-384-192 (RFC 4868):
//     IV (16, random) | E(inner payloads | padding | Pad Length) | ICV over the whole message
//     from the IKE header up to the ICV, truncated;
//   AES-GCM-16 with 128/256-bit keys (RFC 5282): keys carry a 4-byte salt; nonce = salt | IV (8);
//     AAD = the IKE header and the SK generic header (RFC 5282 5.1); ICV = the 16-byte tag.
// Opening checks the ICV in constant time before anything is decrypted (CBC) or released (GCM).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "driver/crypto/secure_bytes.h"
#include "ike/v2/payloads.h"

namespace ward::ike::v2 {

using driver::crypto::SecureBytes;

struct SkSuite {
  EncryptionId encryption = EncryptionId::AesCbc;
  unsigned key_bits = 128;
  IntegrityId integrity = IntegrityId::HmacSha2_256_128;

  bool aead() const noexcept { return encryption == EncryptionId::AesGcm16; }
  std::size_t encryption_key_size() const noexcept;   // with GCM's 4-byte salt
  std::size_t integrity_key_size() const noexcept;    // 0 with GCM
  std::size_t iv_size() const noexcept;
  // What the ciphertext's length must be a multiple of: AES's block with CBC, 1 with GCM.
  std::size_t block_size() const noexcept;
  std::size_t icv_size() const noexcept;
  std::string name() const;                           // "AES-CBC-128/HMAC-SHA2-256-128"
};

// Checks the combination (AES-CBC needs an integrity algorithm, GCM none; 128 or 256 bits).
Expected<SkSuite, std::string> sk_suite(EncryptionId encryption, unsigned key_bits, IntegrityId integrity);

// One direction's keys: SK_ei/SK_ai for what the initiator sends, SK_er/SK_ar for the responder.
struct SkKeys {
  SecureBytes encryption;
  SecureBytes integrity;
};

// A whole message: `header` (Next Payload = SK, Length filled in), an SK payload protecting
// `inner` (whose first payload type goes into SK's Next Payload).
Expected<Bytes, std::string> seal_message(const SkSuite& suite, const SkKeys& keys, Header header,
                                          std::span<const Payload> inner);

// The SK payload's contents as raw bytes: `chain` is an encoded inner payload chain whose first
// payload is `first_inner` (a reassembled message, ike/v2/fragments.h).
Expected<Bytes, std::string> seal_chain(const SkSuite& suite, const SkKeys& keys, Header header, PayloadType first_inner,
                                        std::span<const std::byte> chain);

// The protection itself, shared by SK and SKF (RFC 7383 2.5): `w` holds the message up to the IV
// with its lengths final (the AAD for GCM, the ICV's start for CBC); IV | E(inner | padding | Pad
// Length) | ICV is appended. sealed_body_size tells the appended size beforehand.
std::size_t sealed_body_size(const SkSuite& suite, std::size_t inner_size) noexcept;
Expected<void, std::string> seal_body(const SkSuite& suite, const SkKeys& keys, ByteWriter& w, std::span<const std::byte> inner);
// The inner bytes (padding removed) of the encrypted body at `body_offset` that ends `datagram`,
// after its ICV verified; errors name `structure`, the field and the offset.
Expected<Bytes, MessageError> open_body(const SkSuite& suite, const SkKeys& keys, std::span<const std::byte> datagram,
                                        std::size_t body_offset, std::string_view structure);

// The inner payloads of `message`'s SK payload (the message's last); `datagram` is the message
// as received. Errors name the SK payload's offset; an ICV mismatch is AUTHENTICATION_FAILED's
// kin but is reported as INVALID_SYNTAX's detail so a caller drops it silently (2.21.2).
Expected<std::vector<Payload>, MessageError> open_message(const SkSuite& suite, const SkKeys& keys,
                                                          std::span<const std::byte> datagram,
                                                          const EncryptedPayload& sk);

}  // namespace ward::ike::v2
