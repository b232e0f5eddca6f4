#include "ike/crypto/cbc.h"

#include <openssl/evp.h>

#include <memory>

#include "ike/crypto/fetched.h"

namespace ward::ike::crypto {
namespace {

constexpr std::size_t kAesBlockSize = 16;
constexpr std::size_t kTripleDesBlockSize = 8;
constexpr std::size_t kTripleDesKeySize = 24;
constexpr unsigned kBitsPerByte = 8;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};

const EVP_CIPHER* evp_cipher(const Phase1Cipher& cipher) {
  if (cipher.algorithm == IkeEncryptionAlgorithm::TripleDesCbc) return fetched_cipher("DES-EDE3-CBC");
  if (cipher.algorithm != IkeEncryptionAlgorithm::AesCbc) return nullptr;
  switch (cipher.key_size) {
    case 16: return fetched_cipher("AES-128-CBC");
    case 32: return fetched_cipher("AES-256-CBC");
    default: return nullptr;
  }
}

Expected<std::vector<std::byte>, std::string> run(const Phase1Cipher& cipher, const SecureBytes& key,
                                                  const std::vector<std::byte>& iv, Bytes input, bool encrypt) {
  const EVP_CIPHER* evp = evp_cipher(cipher);
  if (evp == nullptr) return unexpected(cipher.name() + " is not available");
  if (key.size() != cipher.key_size || iv.size() < cipher.block_size()) {
    return unexpected(cipher.name() + ": key or IV has the wrong size");
  }
  if (input.empty() || input.size() % cipher.block_size() != 0) {
    return unexpected(cipher.name() + ": " + std::to_string(input.size()) + " bytes is not a multiple of the " +
                      std::to_string(cipher.block_size()) + "-byte block");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::vector<std::byte> out(input.size() + cipher.block_size());
  int written = 0;
  int final_written = 0;
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), evp, nullptr, reinterpret_cast<const unsigned char*>(key.reveal().data()),
                        reinterpret_cast<const unsigned char*>(iv.data()), encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written,
                       reinterpret_cast<const unsigned char*>(input.data()), static_cast<int>(input.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + written, &final_written) != 1) {
    return unexpected(cipher.name() + (encrypt ? ": encryption failed" : ": decryption failed"));
  }
  out.resize(static_cast<std::size_t>(written + final_written));
  return out;
}

}  // namespace

std::size_t Phase1Cipher::block_size() const noexcept {
  return algorithm == IkeEncryptionAlgorithm::TripleDesCbc ? kTripleDesBlockSize : kAesBlockSize;
}

std::string Phase1Cipher::name() const {
  if (algorithm == IkeEncryptionAlgorithm::TripleDesCbc) return "3DES-CBC";
  return "AES-CBC-" + std::to_string(key_size * kBitsPerByte);
}

Expected<Phase1Cipher, std::string> phase1_cipher(IkeEncryptionAlgorithm algorithm, unsigned key_bits, bool allow_legacy) {
  if (algorithm == IkeEncryptionAlgorithm::AesCbc) {
    if (key_bits != 128 && key_bits != 256) {
      return unexpected("AES-CBC with a " + std::to_string(key_bits) + "-bit key is not offered (128 or 256)");
    }
    return Phase1Cipher{algorithm, key_bits / kBitsPerByte};
  }
  if (algorithm == IkeEncryptionAlgorithm::TripleDesCbc) {
    if (!allow_legacy) return unexpected(std::string("3DES-CBC is legacy and allow_legacy is off"));
    return Phase1Cipher{algorithm, kTripleDesKeySize};
  }
  return unexpected("phase 1 encryption algorithm " + std::to_string(static_cast<unsigned>(algorithm)) +
                    " is not supported");
}

Expected<std::vector<std::byte>, std::string> cbc_encrypt(const Phase1Cipher& cipher, const SecureBytes& key,
                                                          std::vector<std::byte>& iv, Bytes plaintext) {
  const std::size_t block = cipher.block_size();
  const std::size_t pad = block - plaintext.size() % block;   // 1..block bytes
  std::vector<std::byte> padded(plaintext.begin(), plaintext.end());
  padded.insert(padded.end(), pad, std::byte{0});
  padded.back() = static_cast<std::byte>(pad);
  auto out = run(cipher, key, iv, padded, true);
  OPENSSL_cleanse(padded.data(), padded.size());
  if (!out) return out;
  iv = last_block(cipher, *out);
  return out;
}

Expected<std::vector<std::byte>, std::string> cbc_decrypt(const Phase1Cipher& cipher, const SecureBytes& key,
                                                          const std::vector<std::byte>& iv, Bytes ciphertext) {
  return run(cipher, key, iv, ciphertext, false);
}

std::vector<std::byte> last_block(const Phase1Cipher& cipher, Bytes ciphertext) {
  const std::size_t block = cipher.block_size();
  if (ciphertext.size() < block) return {};
  const auto tail = ciphertext.last(block);
  return {tail.begin(), tail.end()};
}

}  // namespace ward::ike::crypto
