// The one use of EVP_CIPHER_meth_dup, deprecated in OpenSSL 3 (see builtin_gcm.h for why).
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "driver/crypto/builtin_gcm.h"

#include "driver/crypto/constants.h"

namespace ward::driver::crypto {

const EVP_CIPHER* builtin_gcm_cipher(std::size_t key_length) noexcept {
  // Held for the life of the process: contexts of SAs in static objects may outlive main().
  static const EVP_CIPHER* const aes128 = EVP_CIPHER_meth_dup(EVP_aes_128_gcm());
  static const EVP_CIPHER* const aes256 = EVP_CIPHER_meth_dup(EVP_aes_256_gcm());
  switch (key_length) {
    case kAes128KeyLength:
      return aes128;
    case kAes256KeyLength:
      return aes256;
    default:
      return nullptr;
  }
}

}  // namespace ward::driver::crypto
