#include "driver/crypto/transforms.h"

#include <algorithm>
#include <array>
#include <climits>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "driver/crypto/builtin_gcm.h"
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

  // GCM: the built-in method, shared by every SA (builtin_gcm.h); otherwise (and should that
  // method be missing) the provider's, fetched once per SA.
  const EVP_CIPHER* method = spec.salt_length != 0 ? builtin_gcm_cipher(spec.key_length) : nullptr;
  if (method == nullptr) {
    transform.evp_cipher_.reset(EVP_CIPHER_fetch(nullptr, spec.evp_name, nullptr));
    if (!transform.evp_cipher_) return unexpected(std::string("OpenSSL has no ") + spec.evp_name);
    method = transform.evp_cipher_.get();
  }
  transform.ctx_.reset(EVP_CIPHER_CTX_new());
  if (!transform.ctx_) return unexpected(std::string("EVP_CIPHER_CTX_new failed"));
  const auto key = key_material.first(spec.key_length);
  const int ok = operation == CipherOperation::Encrypt
                     ? EVP_EncryptInit_ex2(transform.ctx_.get(), method, u8(key), nullptr, nullptr)
                     : EVP_DecryptInit_ex2(transform.ctx_.get(), method, u8(key), nullptr, nullptr);
  if (ok != 1) return unexpected(std::string("cannot key ") + spec.evp_name);
  if (spec.salt_length != 0) {
    std::copy_n(key_material.begin() + static_cast<std::ptrdiff_t>(spec.key_length), kGcmSaltLength,
                transform.salt_.begin());
    if (!transform.arm_gcm_iv()) return unexpected(std::string("cannot set the GCM salt for ") + spec.evp_name);
  } else if (EVP_CIPHER_CTX_set_padding(transform.ctx_.get(), 0) != 1) {
    return unexpected(std::string("cannot turn off padding for ") + spec.evp_name);  // ESP pads itself
  }
  if (spec.salt_length == 0) {
    // CBC: start the chain from a zero IV (crypt() and cbc_seal() never rely on it), and draw the
    // nonce mask of cbc_seal.
    const unsigned char* zero_iv = u8(std::span<const std::byte>(transform.chain_));
    const int ok_iv = operation == CipherOperation::Encrypt
                          ? EVP_EncryptInit_ex2(transform.ctx_.get(), nullptr, nullptr, zero_iv, nullptr)
                          : EVP_DecryptInit_ex2(transform.ctx_.get(), nullptr, nullptr, zero_iv, nullptr);
    const std::span<std::byte> mask(transform.iv_mask_);
    if (ok_iv != 1 || RAND_bytes(u8(mask), static_cast<int>(mask.size())) != 1) {
      return unexpected(std::string("cannot set up the CBC IV generator for ") + spec.evp_name);
    }
  }
  return transform;
}

CipherTransform::~CipherTransform() {
  OPENSSL_cleanse(salt_.data(), salt_.size());
  OPENSSL_cleanse(iv_mask_.data(), iv_mask_.size());
}

std::size_t CipherTransform::icv_length() const noexcept { return is_aead() ? kGcmIcvLength : 0; }

bool CipherTransform::arm_gcm_iv() noexcept {
  return EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_IV_FIXED, static_cast<int>(salt_.size()), salt_.data()) == 1;
}

bool CipherTransform::seal(std::span<const std::byte> iv, std::span<const std::byte> aad, std::span<const std::byte> in,
                           std::span<std::byte> out, std::span<std::byte> tag) noexcept {
  if (!is_aead() || operation_ != CipherOperation::Encrypt || iv.size() != kGcmExplicitIvLength ||
      tag.size() != kGcmIcvLength || in.size() != out.size() || !fits_int(in.size()) || !fits_int(aad.size())) {
    return false;
  }
  std::array<std::byte, kGcmNonceLength> nonce{};
  std::copy(salt_.begin(), salt_.end(), nonce.begin());
  std::copy(iv.begin(), iv.end(), nonce.begin() + kGcmSaltLength);
  EVP_CIPHER_CTX* ctx = ctx_.get();
  int length = 0;
  const bool ok = EVP_EncryptInit_ex2(ctx, nullptr, nullptr, u8(std::span<const std::byte>(nonce)), nullptr) == 1 &&
                  (aad.empty() || EVP_EncryptUpdate(ctx, nullptr, &length, u8(aad), static_cast<int>(aad.size())) == 1) &&
                  (in.empty() || EVP_EncryptUpdate(ctx, u8(out), &length, u8(in), static_cast<int>(in.size())) == 1) &&
                  EVP_EncryptFinal_ex(ctx, u8(out) + out.size(), &length) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag.size()), u8(tag)) == 1;
  // The generator's counter now sits at the chosen IV: start it afresh, or seal_next() would repeat it.
  return arm_gcm_iv() && ok;
}

bool CipherTransform::seal_next(std::span<std::byte> iv, std::span<const std::byte> aad, std::span<const std::byte> in,
                                std::span<std::byte> out, std::span<std::byte> tag) noexcept {
  if (!is_aead() || operation_ != CipherOperation::Encrypt || iv.size() != kGcmExplicitIvLength ||
      tag.size() != kGcmIcvLength || in.size() != out.size() || !fits_int(in.size()) || !fits_int(aad.size())) {
    return false;
  }
  EVP_CIPHER_CTX* ctx = ctx_.get();
  int length = 0;
  // IV_GEN: the invocation field (the IV on the wire) for this packet; OpenSSL sets the nonce and
  // moves its counter on.
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_IV_GEN, static_cast<int>(iv.size()), u8(iv)) == 1 &&
         (aad.empty() || EVP_EncryptUpdate(ctx, nullptr, &length, u8(aad), static_cast<int>(aad.size())) == 1) &&
         (in.empty() || EVP_EncryptUpdate(ctx, u8(out), &length, u8(in), static_cast<int>(in.size())) == 1) &&
         EVP_EncryptFinal_ex(ctx, u8(out) + out.size(), &length) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag.size()), u8(tag)) == 1;
}

bool CipherTransform::open(std::span<const std::byte> iv, std::span<const std::byte> aad, std::span<const std::byte> in,
                           std::span<std::byte> out, std::span<const std::byte> tag) noexcept {
  if (!is_aead() || operation_ != CipherOperation::Decrypt || iv.size() != kGcmExplicitIvLength ||
      tag.size() != kGcmIcvLength || in.size() != out.size() || !fits_int(in.size()) || !fits_int(aad.size())) {
    return false;
  }
  // ctrl wants non-const buffers; OpenSSL only reads these.
  std::array<std::byte, kGcmExplicitIvLength> invocation{};
  std::copy(iv.begin(), iv.end(), invocation.begin());
  std::array<std::byte, kGcmIcvLength> expected_tag{};
  std::copy(tag.begin(), tag.end(), expected_tag.begin());
  EVP_CIPHER_CTX* ctx = ctx_.get();
  int length = 0;
  // The expected tag, then the explicit IV after the fixed salt (SET_IV_INV resets the GCM state
  // for this packet).
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(expected_tag.size()), expected_tag.data()) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IV_INV, static_cast<int>(invocation.size()), invocation.data()) != 1) {
    return false;
  }
  if (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &length, u8(aad), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!in.empty() && EVP_DecryptUpdate(ctx, u8(out), &length, u8(in), static_cast<int>(in.size())) != 1) return false;
  // The tag comparison inside OpenSSL's GCM final is constant time (CRYPTO_memcmp).
  return EVP_DecryptFinal_ex(ctx, u8(out) + out.size(), &length) == 1;
}

bool CipherTransform::cbc_seal(std::uint64_t sequence, std::span<std::byte> iv_and_text) noexcept {
  const std::size_t block = block_length_;
  if (is_aead() || cipher_ == Cipher::Null || operation_ != CipherOperation::Encrypt || iv_length_ != block ||
      iv_and_text.size() < 2 * block || iv_and_text.size() % block != 0 || !fits_int(iv_and_text.size())) {
    return false;
  }
  // First block: (sequence number, big-endian, right-aligned) XOR mask XOR chain value.
  std::array<std::byte, kMaxBlockLength> nonce{};
  for (std::size_t i = 0; i < 8; ++i) nonce[block - 1 - i] = std::byte{static_cast<std::uint8_t>(sequence >> (8 * i))};
  for (std::size_t i = 0; i < block; ++i) iv_and_text[i] = nonce[i] ^ iv_mask_[i] ^ chain_[i];
  int length = 0;
  const bool ok = EVP_EncryptUpdate(ctx_.get(), u8(iv_and_text), &length, u8(std::span<const std::byte>(iv_and_text)),
                                    static_cast<int>(iv_and_text.size())) == 1 &&
                  static_cast<std::size_t>(length) == iv_and_text.size();
  if (!ok) {
    // The chain value is unknown after a failure: start again from a known one.
    chain_.fill(std::byte{0});
    EVP_EncryptInit_ex2(ctx_.get(), nullptr, nullptr, u8(std::span<const std::byte>(chain_)), nullptr);
    return false;
  }
  std::copy_n(iv_and_text.end() - static_cast<std::ptrdiff_t>(block), block, chain_.begin());
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
  if (operation_ == CipherOperation::Encrypt) {
    const bool ok = EVP_EncryptInit_ex2(ctx, nullptr, nullptr, u8(iv), nullptr) == 1 &&
                    (in.empty() || EVP_EncryptUpdate(ctx, u8(out), &length, u8(in), static_cast<int>(in.size())) == 1) &&
                    static_cast<std::size_t>(length) == in.size();
    const std::span<const std::byte> last = in.empty() ? iv : std::span<const std::byte>(out).last(block_length_);
    std::copy(last.begin(), last.end(), chain_.begin());
    if (!ok) {
      chain_.fill(std::byte{0});
      EVP_EncryptInit_ex2(ctx, nullptr, nullptr, u8(std::span<const std::byte>(chain_)), nullptr);
    }
    return ok;
  }
  // Decryption: P1 = D(C1) XOR IV, so chaining through the IV block (output discarded) sets it up.
  std::array<std::byte, kMaxBlockLength> discarded{};
  int discarded_length = 0;
  const bool ok = EVP_DecryptUpdate(ctx, u8(std::span<std::byte>(discarded)), &discarded_length, u8(iv),
                                    static_cast<int>(iv.size())) == 1 &&
                  static_cast<std::size_t>(discarded_length) == iv.size() &&
                  (in.empty() || EVP_DecryptUpdate(ctx, u8(out), &length, u8(in), static_cast<int>(in.size())) == 1) &&
                  static_cast<std::size_t>(length) == in.size();
  OPENSSL_cleanse(discarded.data(), discarded.size());
  return ok;
}

Expected<IntegrityTransform, std::string> IntegrityTransform::create(Integrity integrity,
                                                                    std::span<const std::byte> key) {
  IntegrityTransform transform(integrity);
  switch (integrity) {
    case Integrity::None:
      return unexpected(std::string("no integrity algorithm to create"));
    case Integrity::HmacSha1_96:
      transform.icv_length_ = kHmacSha1IcvLength;
      break;
    case Integrity::HmacSha256_128:
      transform.icv_length_ = kHmacSha256IcvLength;
      break;
    case Integrity::HmacMd5_96:
      transform.icv_length_ = kHmacMd5IcvLength;
      break;
  }
  auto state = make_hmac_key_state(integrity, key);
  if (!state) return unexpected(state.error());
  transform.state_ = std::move(*state);
  transform.digest_length_ = hmac_digest_length(*transform.state_);
  return transform;
}

bool IntegrityTransform::compute(std::span<const std::span<const std::byte>> parts, std::span<std::byte> out) noexcept {
  if (out.size() > digest_length_ || out.empty() || !state_) return false;
  std::array<unsigned char, EVP_MAX_MD_SIZE> full{};
  if (!hmac_compute(*state_, parts, full)) return false;
  std::copy_n(reinterpret_cast<const std::byte*>(full.data()), out.size(), out.begin());
  OPENSSL_cleanse(full.data(), full.size());
  return true;
}

bool IntegrityTransform::verify(std::span<const std::span<const std::byte>> parts,
                                std::span<const std::byte> icv) noexcept {
  std::array<std::byte, EVP_MAX_MD_SIZE> computed{};
  if (icv.size() != icv_length_ || !compute(parts, std::span<std::byte>(computed).first(icv.size()))) return false;
  const bool equal = CRYPTO_memcmp(computed.data(), icv.data(), icv.size()) == 0;
  OPENSSL_cleanse(computed.data(), computed.size());
  return equal;
}

}  // namespace ward::driver::crypto
