// The cryptographic transforms of one SA, over OpenSSL 3 EVP. Each holds its OpenSSL context,
// keyed once when the SA is made and reused for every packet: no per-packet allocation and no
// per-packet re-initialisation of a CBC context.
//
// Thread safety: a transform is used by one thread at a time (EVP contexts are not shareable):
// the engine keeps each SA's transforms under that SA's own mutex (PacketEngine's SaEntry), so
// queues on several threads share no context. Only the built-in GCM method (builtin_gcm.h) is
// shared by every SA's context, and it is only read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <openssl/evp.h>

#include "common/expected.h"
#include "driver/crypto/constants.h"
#include "driver/crypto/hmac_state.h"
#include "driver/crypto/sa_params.h"

namespace ward::driver::crypto {

struct EvpCipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
struct EvpCipherDeleter {
  void operator()(EVP_CIPHER* cipher) const noexcept { EVP_CIPHER_free(cipher); }
};
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxDeleter>;
using EvpCipherPtr = std::unique_ptr<EVP_CIPHER, EvpCipherDeleter>;

enum class CipherOperation : std::uint8_t { Encrypt, Decrypt };

// The encryption transform: AES-GCM (RFC 4106), AES-CBC (RFC 3602), 3DES-CBC or NULL (RFC 2410).
class CipherTransform {
 public:
  // key_material: the cipher key, followed for GCM by the 4-byte salt. Checks its length.
  static Expected<CipherTransform, std::string> create(Cipher cipher, std::span<const std::byte> key_material,
                                                      CipherOperation operation);

  Cipher cipher() const noexcept { return cipher_; }
  bool is_aead() const noexcept { return cipher_ == Cipher::AesGcm128 || cipher_ == Cipher::AesGcm256; }
  std::size_t iv_length() const noexcept { return iv_length_; }
  std::size_t block_length() const noexcept { return block_length_; }  // 1 for stream-like modes
  std::size_t icv_length() const noexcept;                              // AEAD tag; 0 otherwise

  // AEAD (GCM) with a chosen IV (test vectors): nonce = salt || iv. Encrypts `data` in place and
  // writes the tag. Re-initialises the context (OpenSSL 3.0 then looks the IV length up again)
  // and re-arms seal_next()'s IV generator with a fresh random start.
  bool seal(std::span<const std::byte> iv, std::span<const std::byte> aad, std::span<const std::byte> in,
            std::span<std::byte> out, std::span<std::byte> tag) noexcept;
  bool seal(std::span<const std::byte> iv, std::span<const std::byte> aad, std::span<std::byte> data,
            std::span<std::byte> tag) noexcept {
    return seal(iv, aad, data, data, tag);
  }
  // AEAD, the packet path: the IV is OpenSSL's own generator (RFC 4106 3.1 wants it unique per
  // key, and a counter is: salt || 64-bit invocation counter from a random start, RFC 5116 3.2),
  // written to `iv`. Encrypts `in` into `out` (same size; may be the same memory) and writes the
  // tag. Two ctrl calls of the built-in GCM method per packet (builtin_gcm.h: no OSSL_PARAM
  // lookups) and no context re-initialisation (OpenSSL 3.0's EVP_EncryptInit_ex2 with an IV looks
  // the IV length up through the provider every time).
  bool seal_next(std::span<std::byte> iv, std::span<const std::byte> aad, std::span<const std::byte> in,
                 std::span<std::byte> out, std::span<std::byte> tag) noexcept;
  // AEAD: decrypts `in` into `out` (same size) and verifies `tag`; false if it does not verify.
  // The expected tag and the explicit IV go in by two ctrl calls (the salt was fixed once),
  // without re-initialising the context.
  bool open(std::span<const std::byte> iv, std::span<const std::byte> aad, std::span<const std::byte> in,
            std::span<std::byte> out, std::span<const std::byte> tag) noexcept;
  // CBC encryption of one packet without re-initialising the EVP context: `iv_and_text` is the
  // IV field followed by the padded plaintext (a multiple of block_length()), encrypted in place
  // in one pass; the IV field is overwritten with the packet's IV. RFC 3602 2.1 wants CBC IVs
  // unpredictable; as NIST SP 800-38A Appendix C suggests, the IV is a nonce encrypted under the
  // SA's own key: nonce = sequence number XOR a random per-SA mask (so two SAs that share a key
  // still get different IVs). The context's CBC chain still holds the previous packet's last
  // ciphertext block; feeding (nonce XOR that block) as the first block makes the first output
  // block E_K(nonce) = the IV, and the rest is plain CBC under that IV.
  bool cbc_seal(std::uint64_t sequence, std::span<std::byte> iv_and_text) noexcept;
  // CBC / NULL with a given IV: `in` and `out` are the same size, a multiple of block_length(); may
  // be the same memory. Encryption re-initialises the context with the IV (test vectors);
  // decryption does not: it runs the IV through the chain first and discards that block, which
  // leaves the IV as the chain value for `in` (CBC decryption only needs the previous block).
  bool crypt(std::span<const std::byte> iv, std::span<const std::byte> in, std::span<std::byte> out) noexcept;

 private:
  CipherTransform(Cipher cipher, CipherOperation operation) : cipher_(cipher), operation_(operation) {}
  // GCM: fixes the salt as the nonce's fixed field; for encryption OpenSSL draws a random start
  // for the invocation counter (EVP_CTRL_GCM_SET_IV_FIXED).
  bool arm_gcm_iv() noexcept;

 public:
  CipherTransform(CipherTransform&&) noexcept = default;
  CipherTransform& operator=(CipherTransform&&) noexcept = default;
  ~CipherTransform();

 private:

  Cipher cipher_;
  CipherOperation operation_;
  std::size_t iv_length_ = 0;
  std::size_t block_length_ = 1;
  std::array<std::byte, kGcmSaltLength> salt_{};  // GCM key material; wiped by the destructor
  EvpCipherPtr evp_cipher_;  // the provider's cipher, fetched once; unset for the shared built-in GCM
  EvpCipherCtxPtr ctx_;
  // CBC encryption: the last ciphertext block the context chained from (its CBC state), and the
  // random nonce mask of cbc_seal (wiped by the destructor).
  std::array<std::byte, kMaxBlockLength> chain_{};
  std::array<std::byte, kMaxBlockLength> iv_mask_{};
};

// The integrity transform: HMAC (RFC 2104) over keyed states prepared once (hmac_state.h),
// truncated to the ICV length.
class IntegrityTransform {
 public:
  // Any non-empty key is accepted here (test vectors use odd sizes); SA setup checks RFC sizes.
  static Expected<IntegrityTransform, std::string> create(Integrity integrity, std::span<const std::byte> key);

  Integrity integrity() const noexcept { return integrity_; }
  std::size_t icv_length() const noexcept { return icv_length_; }
  std::size_t digest_length() const noexcept { return digest_length_; }

  // The MAC over the concatenation of `parts`, truncated to out.size() (at most digest_length()).
  bool compute(std::span<const std::span<const std::byte>> parts, std::span<std::byte> out) noexcept;
  // Recomputes the MAC over `parts` and compares it with `icv` in constant time (CRYPTO_memcmp).
  bool verify(std::span<const std::span<const std::byte>> parts, std::span<const std::byte> icv) noexcept;

 private:
  explicit IntegrityTransform(Integrity integrity) : integrity_(integrity) {}

  Integrity integrity_;
  std::size_t icv_length_ = 0;
  std::size_t digest_length_ = 0;
  HmacKeyStatePtr state_;
};

}  // namespace ward::driver::crypto
