// Phase 1 encryption (RFC 2409 appendix B): AES-CBC-128/256 (RFC 3602), 3DES-CBC only when
// allow_legacy is set. Messages are padded to the block size (zero bytes, the last byte holding
// the pad length, as most stacks do); the receiver tolerates any padding the codec accepts.
// The IV of each message is the last ciphertext block of the previous one (per direction of
// the exchange, both sides track it identically).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "ike/crypto/prf.h"

namespace ward::ike::crypto {

struct Phase1Cipher {
  IkeEncryptionAlgorithm algorithm = IkeEncryptionAlgorithm::AesCbc;
  std::size_t key_size = 16;   // bytes

  std::size_t block_size() const noexcept;
  std::string name() const;
};

// Checks the algorithm / key length pair: AES-CBC with 128 or 256 bits; 3DES (192-bit key)
// only with allow_legacy. `key_bits` 0 = the Key Length attribute was absent.
Expected<Phase1Cipher, std::string> phase1_cipher(IkeEncryptionAlgorithm algorithm, unsigned key_bits, bool allow_legacy);

// Pads and encrypts `plaintext`; `iv` is replaced with the last ciphertext block.
Expected<std::vector<std::byte>, std::string> cbc_encrypt(const Phase1Cipher& cipher, const SecureBytes& key,
                                                          std::vector<std::byte>& iv, Bytes plaintext);
// Decrypts (no padding removal: the payload chain says where the payloads end); `iv` is replaced
// with the last ciphertext block only when decryption succeeds and the caller commits it.
Expected<std::vector<std::byte>, std::string> cbc_decrypt(const Phase1Cipher& cipher, const SecureBytes& key,
                                                          const std::vector<std::byte>& iv, Bytes ciphertext);

// The last cipher block of `ciphertext` (the next IV).
std::vector<std::byte> last_block(const Phase1Cipher& cipher, Bytes ciphertext);

}  // namespace ward::ike::crypto
