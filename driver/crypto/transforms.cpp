#include "driver/crypto/transforms.h"

#include <algorithm>
#include <array>
#include <climits>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "driver/crypto/constants.h"

namespace ward::driver::crypto {

namespace {

struct CipherSpec {
  const char* evp_name;  // nullptr for NULL encryption
  std::size_t key_length;
  std::size_t salt_length;
  std::size_t iv_length;  // on the wire
  std::size_t block_length;
};

CipherSpec spec_of(Cipher cipher) noexcept {
  switch (cipher) {
    case Cipher::Null:
      return {nullptr, 0, 0, 0, 1};
    case Cipher::AesCbc128:
      return {"AES-128-CBC", kAes128KeyLength, 0, kAesBlockLength, kAesBlockLength};
    case Cipher::AesCbc256:
      return {"AES-256-CBC", kAes256KeyLength, 0, kAesBlockLength, kAesBlockLength};
    case Cipher::AesGcm128:
      return {"AES-128-GCM", kAes128KeyLength, kGcmSaltLength, kGcmExplicitIvLength, 1};
    case Cipher::AesGcm256:
      return {"AES-256-GCM", kAes256KeyLength, kGcmSaltLength, kGcmExplicitIvLength, 1};
    case Cipher::TripleDesCbc:
      return {"DES-EDE3-CBC", kTripleDesKeyLength, 0, kTripleDesBlockLength, kTripleDesBlockLength};
  }
  return {nullptr, 0, 0, 0, 1};
}

bool fits_int(std::size_t size) noexcept { return size <= static_cast<std::size_t>(INT_MAX); }

const unsigned char* u8(std::span<const std::byte> bytes) noexcept {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}
unsigned char* u8(std::span<std::byte> bytes) noexcept { return reinterpret_cast<unsigned char*>(bytes.data()); }

}  // namespace

Expected<CipherTransform, std::string> CipherTransform::create(Cipher cipher, std::span<const std::byte> key_material,
                                                              CipherOperation operation) {
  const CipherSpec spec = spec_of(cipher);
  const std::size_t expected_length = spec.key_length + spec.salt_length;
  if (key_material.size() != expected_length) {
    return unexpected(std::string(name_of(cipher)) + " needs " + std::to_string(expected_length) +
                      " bytes of key material" + (spec.salt_length != 0 ? " (key and 4-byte salt)" : "") + ", got " +
                      std::to_string(key_material.size()));
  }
  CipherTransform transform(cipher, operation);
  transform.iv_length_ = spec.iv_length;
  transform.block_length_ = spec.block_length;
  if (spec.evp_name == nullptr) return transform;

  transform.evp_cipher_.reset(EVP_CIPHER_fetch(nullptr, spec.evp_name, nullptr));
  if (!transform.evp_cipher_) return unexpected(std::string("OpenSSL has no ") + spec.evp_name);
  transform.ctx_.reset(EVP_CIPHER_CTX_new());
  if (!transform.ctx_) return unexpected(std::string("EVP_CIPHER_CTX_new failed"));
  const auto key = key_material.first(spec.key_length);
  const int ok = operation == CipherOperation::Encrypt
                     ? EVP_EncryptInit_ex2(transform.ctx_.get(), transform.evp_cipher_.get(), u8(key), nullptr, nullptr)
                     : EVP_DecryptInit_ex2(transform.ctx_.get(), transform.evp_cipher_.get(), u8(key), nullptr, nullptr);
  if (ok != 1) return unexpected(std::string("cannot key ") + spec.evp_name);
  if (spec.salt_length != 0) {
    std::copy_n(key_material.begin() + static_cast<std::ptrdiff_t>(spec.key_length), kGcmSaltLength,
                transform.salt_.begin());
  } else if (EVP_CIPHER_CTX_set_padding(transform.ctx_.get(), 0) != 1) {
    return unexpected(std::string("cannot turn off padding for ") + spec.evp_name);  // ESP pads itself
  }
  if (spec.salt_length == 0 && operation == CipherOperation::Encrypt) {
    std::array<unsigned char, kAes128KeyLength> iv_key{};
    EvpCipherPtr ecb(EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr));
    transform.iv_ctx_.reset(EVP_CIPHER_CTX_new());
    const bool ok_iv = ecb && transform.iv_ctx_ && RAND_bytes(iv_key.data(), static_cast<int>(iv_key.size())) == 1 &&
                       EVP_EncryptInit_ex2(transform.iv_ctx_.get(), ecb.get(), iv_key.data(), nullptr, nullptr) == 1 &&
                       EVP_CIPHER_CTX_set_padding(transform.iv_ctx_.get(), 0) == 1;
    OPENSSL_cleanse(iv_key.data(), iv_key.size());
    if (!ok_iv) return unexpected(std::string("cannot set up the CBC IV generator"));
  }
  return transform;
}

CipherTransform::~CipherTransform() { OPENSSL_cleanse(salt_.data(), salt_.size()); }

std::size_t CipherTransform::icv_length() const noexcept { return is_aead() ? kGcmIcvLength : 0; }

bool CipherTransform::seal(std::span<const std::byte> iv, std::span<const std::byte> aad, std::span<std::byte> data,
                           std::span<std::byte> tag) noexcept {
  if (!is_aead() || operation_ != CipherOperation::Encrypt || iv.size() != kGcmExplicitIvLength ||
      tag.size() != kGcmIcvLength || !fits_int(data.size()) || !fits_int(aad.size())) {
    return false;
  }
  std::array<std::byte, kGcmNonceLength> nonce{};
  std::copy(salt_.begin(), salt_.end(), nonce.begin());
  std::copy(iv.begin(), iv.end(), nonce.begin() + kGcmSaltLength);
  EVP_CIPHER_CTX* ctx = ctx_.get();
  int length = 0;
  if (EVP_EncryptInit_ex2(ctx, nullptr, nullptr, u8(std::span<const std::byte>(nonce)), nullptr) != 1) return false;
  if (!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &length, u8(aad), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!data.empty() &&
      EVP_EncryptUpdate(ctx, u8(data), &length, u8(std::span<const std::byte>(data)), static_cast<int>(data.size())) != 1) {
    return false;
  }
  if (EVP_EncryptFinal_ex(ctx, u8(data) + data.size(), &length) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag.size()), u8(tag)) == 1;
}

bool CipherTransform::open(std::span<const std::byte> iv, std::span<const std::byte> aad, std::span<const std::byte> in,
                           std::span<std::byte> out, std::span<const std::byte> tag) noexcept {
  if (!is_aead() || operation_ != CipherOperation::Decrypt || iv.size() != kGcmExplicitIvLength ||
      tag.size() != kGcmIcvLength || in.size() != out.size() || !fits_int(in.size()) || !fits_int(aad.size())) {
    return false;
  }
  std::array<std::byte, kGcmNonceLength> nonce{};
  std::copy(salt_.begin(), salt_.end(), nonce.begin());
  std::copy(iv.begin(), iv.end(), nonce.begin() + kGcmSaltLength);
  std::array<std::byte, kGcmIcvLength> expected_tag{};
  std::copy(tag.begin(), tag.end(), expected_tag.begin());
  EVP_CIPHER_CTX* ctx = ctx_.get();
  int length = 0;
  if (EVP_DecryptInit_ex2(ctx, nullptr, nullptr, u8(std::span<const std::byte>(nonce)), nullptr) != 1) return false;
  if (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &length, u8(aad), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!in.empty() && EVP_DecryptUpdate(ctx, u8(out), &length, u8(in), static_cast<int>(in.size())) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(expected_tag.size()),
                          u8(std::span<std::byte>(expected_tag))) != 1) {
    return false;
  }
  // The tag comparison inside OpenSSL's GCM final is constant time (CRYPTO_memcmp).
  return EVP_DecryptFinal_ex(ctx, u8(out) + out.size(), &length) == 1;
}

bool CipherTransform::cbc_iv(std::uint64_t sequence, std::span<std::byte> iv) noexcept {
  if (!iv_ctx_ || iv.size() > kAesBlockLength) return false;
  std::array<unsigned char, kAesBlockLength> block{};
  for (std::size_t i = 0; i < 8; ++i) block[i] = static_cast<unsigned char>(sequence >> (56 - 8 * i));
  int length = 0;
  if (EVP_EncryptUpdate(iv_ctx_.get(), block.data(), &length, block.data(), static_cast<int>(block.size())) != 1 ||
      length != static_cast<int>(block.size())) {
    return false;
  }
  std::copy_n(reinterpret_cast<const std::byte*>(block.data()), iv.size(), iv.begin());
  return true;
}

bool CipherTransform::crypt(std::span<const std::byte> iv, std::span<const std::byte> in,
                            std::span<std::byte> out) noexcept {
  if (is_aead() || iv.size() != iv_length_ || in.size() != out.size() || in.size() % block_length_ != 0 ||
      !fits_int(in.size())) {
    return false;
  }
  if (cipher_ == Cipher::Null) {
    if (in.data() != out.data()) std::copy(in.begin(), in.end(), out.begin());
    return true;
  }
  EVP_CIPHER_CTX* ctx = ctx_.get();
  int length = 0;
  int final_length = 0;
  if (operation_ == CipherOperation::Encrypt) {
    return EVP_EncryptInit_ex2(ctx, nullptr, nullptr, u8(iv), nullptr) == 1 &&
           (in.empty() || EVP_EncryptUpdate(ctx, u8(out), &length, u8(in), static_cast<int>(in.size())) == 1) &&
           EVP_EncryptFinal_ex(ctx, u8(out) + length, &final_length) == 1 &&
           static_cast<std::size_t>(length + final_length) == in.size();
  }
  return EVP_DecryptInit_ex2(ctx, nullptr, nullptr, u8(iv), nullptr) == 1 &&
         (in.empty() || EVP_DecryptUpdate(ctx, u8(out), &length, u8(in), static_cast<int>(in.size())) == 1) &&
         EVP_DecryptFinal_ex(ctx, u8(out) + length, &final_length) == 1 &&
         static_cast<std::size_t>(length + final_length) == in.size();
}

Expected<IntegrityTransform, std::string> IntegrityTransform::create(Integrity integrity,
                                                                    std::span<const std::byte> key) {
  const char* digest = nullptr;
  IntegrityTransform transform(integrity);
  switch (integrity) {
    case Integrity::None:
      return unexpected(std::string("no integrity algorithm to create"));
    case Integrity::HmacSha1_96:
      digest = "SHA1";
      transform.icv_length_ = kHmacSha1IcvLength;
      break;
    case Integrity::HmacSha256_128:
      digest = "SHA2-256";
      transform.icv_length_ = kHmacSha256IcvLength;
      break;
    case Integrity::HmacMd5_96:
      digest = "MD5";
      transform.icv_length_ = kHmacMd5IcvLength;
      break;
  }
  if (key.empty()) return unexpected(std::string(name_of(integrity)) + " needs a key, got 0 bytes");
  transform.mac_.reset(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (!transform.mac_) return unexpected(std::string("OpenSSL has no HMAC"));
  transform.ctx_.reset(EVP_MAC_CTX_new(transform.mac_.get()));
  if (!transform.ctx_) return unexpected(std::string("EVP_MAC_CTX_new failed"));
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(transform.ctx_.get(), u8(key), key.size(), params) != 1) {
    return unexpected(std::string("cannot key HMAC with ") + digest);
  }
  transform.digest_length_ = EVP_MAC_CTX_get_mac_size(transform.ctx_.get());
  return transform;
}

bool IntegrityTransform::compute(std::span<const std::span<const std::byte>> parts, std::span<std::byte> out) noexcept {
  if (out.size() > digest_length_ || out.empty()) return false;
  EVP_MAC_CTX* ctx = ctx_.get();
  // A null key re-initialises the MAC with the key it already holds.
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1) return false;
  for (const auto part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx, u8(part), part.size()) != 1) return false;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> full{};
  std::size_t full_length = 0;
  if (EVP_MAC_final(ctx, full.data(), &full_length, full.size()) != 1 || full_length < out.size()) return false;
  std::copy_n(reinterpret_cast<const std::byte*>(full.data()), out.size(), out.begin());
  OPENSSL_cleanse(full.data(), full.size());
  return true;
}

bool IntegrityTransform::verify(std::span<const std::span<const std::byte>> parts,
                                std::span<const std::byte> icv) noexcept {
  std::array<std::byte, EVP_MAX_MD_SIZE> computed{};
  if (icv.size() != icv_length_ || !compute(parts, std::span<std::byte>(computed).first(icv.size()))) return false;
  return CRYPTO_memcmp(computed.data(), icv.data(), icv.size()) == 0;
}

}  // namespace ward::driver::crypto
