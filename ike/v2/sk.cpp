#include "ike/v2/sk.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>

#include "ike/crypto/fetched.h"

namespace ward::ike::v2 {
namespace {

constexpr std::size_t kAesBlock = 16;
constexpr std::size_t kGcmSalt = 4;
constexpr std::size_t kGcmIv = 8;
constexpr std::size_t kGcmTag = 16;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const EVP_CIPHER* cipher_of(const SkSuite& suite) {
  if (suite.aead()) return crypto::fetched_cipher(suite.key_bits == 128 ? "AES-128-GCM" : "AES-256-GCM");
  return crypto::fetched_cipher(suite.key_bits == 128 ? "AES-128-CBC" : "AES-256-CBC");
}

const char* digest_of(IntegrityId id) {
  switch (id) {
    case IntegrityId::HmacSha1_96: return "SHA1";
    case IntegrityId::HmacSha2_256_128: return "SHA2-256";
    case IntegrityId::HmacSha2_384_192: return "SHA2-384";
    case IntegrityId::None: break;
  }
  return nullptr;
}

Expected<Bytes, std::string> hmac(IntegrityId id, const SecureBytes& key, std::span<const std::byte> data) {
  EVP_MAC* mac = crypto::fetched_mac("HMAC");
  if (mac == nullptr) return unexpected(std::string("HMAC unavailable"));
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac), EVP_MAC_CTX_free);
  char* digest = const_cast<char*>(digest_of(id));
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  const auto k = key.reveal();
  Bytes out(EVP_MAX_MD_SIZE);
  std::size_t size = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(k.data()), k.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &size, out.size()) != 1) {
    return unexpected(std::string("HMAC failed"));
  }
  out.resize(size);
  return out;
}

const unsigned char* u(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* u(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

MessageError sk_error(std::size_t offset, std::string field, std::string message) {
  return MessageError{NotifyType::InvalidSyntax, ParseError{"IKEv2 SK payload", std::move(field), offset, std::move(message)}};
}

}  // namespace

std::size_t SkSuite::encryption_key_size() const noexcept { return key_bits / 8 + (aead() ? kGcmSalt : 0); }

std::size_t SkSuite::integrity_key_size() const noexcept {
  switch (integrity) {
    case IntegrityId::HmacSha1_96: return 20;
    case IntegrityId::HmacSha2_256_128: return 32;
    case IntegrityId::HmacSha2_384_192: return 48;
    case IntegrityId::None: break;
  }
  return 0;
}

std::size_t SkSuite::iv_size() const noexcept { return aead() ? kGcmIv : kAesBlock; }
std::size_t SkSuite::block_size() const noexcept { return aead() ? 1 : kAesBlock; }

std::size_t SkSuite::icv_size() const noexcept {
  if (aead()) return kGcmTag;
  switch (integrity) {
    case IntegrityId::HmacSha1_96: return 12;
    case IntegrityId::HmacSha2_256_128: return 16;
    case IntegrityId::HmacSha2_384_192: return 24;
    case IntegrityId::None: break;
  }
  return 0;
}

std::string SkSuite::name() const {
  std::string n = (aead() ? "AES-GCM-16-" : "AES-CBC-") + std::to_string(key_bits);
  switch (integrity) {
    case IntegrityId::HmacSha1_96: return n + "/HMAC-SHA1-96";
    case IntegrityId::HmacSha2_256_128: return n + "/HMAC-SHA2-256-128";
    case IntegrityId::HmacSha2_384_192: return n + "/HMAC-SHA2-384-192";
    case IntegrityId::None: break;
  }
  return n;
}

Expected<SkSuite, std::string> sk_suite(EncryptionId encryption, unsigned key_bits, IntegrityId integrity) {
  if (encryption != EncryptionId::AesCbc && encryption != EncryptionId::AesGcm16) {
    return unexpected("encryption transform " + std::to_string(static_cast<unsigned>(encryption)) + " is not supported");
  }
  if (key_bits != 128 && key_bits != 256) return unexpected("AES key length " + std::to_string(key_bits) + " is not 128 or 256");
  SkSuite s{encryption, key_bits, integrity};
  if (s.aead() && integrity != IntegrityId::None) return unexpected(std::string("AES-GCM with an integrity transform"));
  if (!s.aead() && s.integrity_key_size() == 0) {
    return unexpected("integrity transform " + std::to_string(static_cast<unsigned>(integrity)) + " is not supported with AES-CBC");
  }
  return s;
}

std::size_t sealed_body_size(const SkSuite& suite, std::size_t inner_size) noexcept {
  const std::size_t block = suite.block_size();
  const std::size_t padded = (inner_size + 1 + block - 1) / block * block;
  return suite.iv_size() + padded + suite.icv_size();
}

Expected<void, std::string> seal_body(const SkSuite& suite, const SkKeys& keys, ByteWriter& w,
                                      std::span<const std::byte> inner) {
  if (keys.encryption.size() != suite.encryption_key_size() || keys.integrity.size() != suite.integrity_key_size()) {
    return unexpected("SK keys of the wrong size for " + suite.name());
  }
  // Plaintext: inner | padding | Pad Length. CBC pads to the block; GCM needs none.
  Bytes plaintext(inner.begin(), inner.end());
  const std::size_t block = suite.block_size();
  const std::size_t pad = (block - (plaintext.size() + 1) % block) % block;
  plaintext.insert(plaintext.end(), pad, std::byte{0});
  plaintext.push_back(std::byte{static_cast<std::uint8_t>(pad)});

  Bytes iv(suite.iv_size());
  if (RAND_bytes(u(iv.data()), static_cast<int>(iv.size())) != 1) return unexpected(std::string("RAND_bytes failed"));
  const std::size_t aad_end = w.size();
  w.bytes(iv);
  const std::size_t cipher_start = w.size();
  w.zeros(plaintext.size());

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const auto key = keys.encryption.reveal();
  int out_len = 0;
  auto out = w.written();
  if (suite.aead()) {
    Bytes nonce(key.end() - kGcmSalt, key.end());
    nonce.insert(nonce.end(), iv.begin(), iv.end());
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher_of(suite), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
        EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, u(key.data()), u(nonce.data())) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &out_len, u(out.data()), static_cast<int>(aad_end)) != 1 ||
        EVP_EncryptUpdate(ctx.get(), u(out.data() + cipher_start), &out_len, u(plaintext.data()),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), u(out.data() + cipher_start + out_len), &out_len) != 1) {
      OPENSSL_cleanse(plaintext.data(), plaintext.size());
      return unexpected(std::string("AES-GCM encryption failed"));
    }
    Bytes tag(kGcmTag);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTag, tag.data()) != 1) {
      OPENSSL_cleanse(plaintext.data(), plaintext.size());
      return unexpected(std::string("AES-GCM tag failed"));
    }
    w.bytes(tag);
  } else {
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher_of(suite), nullptr, u(key.data()), u(iv.data())) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
        EVP_EncryptUpdate(ctx.get(), u(out.data() + cipher_start), &out_len, u(plaintext.data()),
                          static_cast<int>(plaintext.size())) != 1) {
      OPENSSL_cleanse(plaintext.data(), plaintext.size());
      return unexpected(std::string("AES-CBC encryption failed"));
    }
    auto icv = hmac(suite.integrity, keys.integrity, w.data());
    if (!icv) return unexpected(icv.error());
    icv->resize(suite.icv_size());
    w.bytes(*icv);
  }
  OPENSSL_cleanse(plaintext.data(), plaintext.size());
  return {};
}

Expected<Bytes, std::string> seal_chain(const SkSuite& suite, const SkKeys& keys, Header header, PayloadType first_inner,
                                        std::span<const std::byte> chain) {
  const std::size_t sk_length = kGenericPayloadHeaderSize + sealed_body_size(suite, chain.size());
  if (sk_length > 0xffff) return unexpected("SK payload of " + std::to_string(sk_length) + " bytes");
  header.next_payload = PayloadType::Encrypted;
  header.length = static_cast<std::uint32_t>(kHeaderSize + sk_length);
  ByteWriter w;
  header.encode(w);
  w.u8(static_cast<std::uint8_t>(first_inner));
  w.u8(0);
  w.u16_be(static_cast<std::uint16_t>(sk_length));
  if (auto sealed = seal_body(suite, keys, w, chain); !sealed) return unexpected(sealed.error());
  return std::move(w).take();
}

Expected<Bytes, std::string> seal_message(const SkSuite& suite, const SkKeys& keys, Header header,
                                          std::span<const Payload> inner) {
  auto chain = encode_payload_chain(inner);
  if (!chain) return unexpected(chain.error());
  auto sealed = seal_chain(suite, keys, header, inner.empty() ? PayloadType::None : type_of(inner.front()), *chain);
  OPENSSL_cleanse(chain->data(), chain->size());
  return sealed;
}

Expected<Bytes, MessageError> open_body(const SkSuite& suite, const SkKeys& keys, std::span<const std::byte> datagram,
                                        std::size_t body_offset, std::string_view structure) {
  auto error = [&](std::size_t offset, std::string field, std::string message) {
    return MessageError{NotifyType::InvalidSyntax, ParseError{std::string(structure), std::move(field), offset, std::move(message)}};
  };
  if (keys.encryption.size() != suite.encryption_key_size() || keys.integrity.size() != suite.integrity_key_size()) {
    return unexpected(error(body_offset, "keys", "SK keys of the wrong size for " + suite.name()));
  }
  if (body_offset > datagram.size()) return unexpected(error(body_offset, "Encrypted Payloads", "no body"));
  const auto body = datagram.subspan(body_offset);
  const std::size_t minimum = suite.iv_size() + suite.block_size() + suite.icv_size();
  if (body.size() < minimum) {
    return unexpected(error(body_offset, "Encrypted Payloads",
                            "encrypted body of " + std::to_string(body.size()) + " bytes, at least " + std::to_string(minimum) + " needed"));
  }
  const std::size_t cipher_size = body.size() - suite.iv_size() - suite.icv_size();
  if (cipher_size % suite.block_size() != 0) {
    return unexpected(error(body_offset + suite.iv_size(), "Encrypted Payloads",
                            "ciphertext of " + std::to_string(cipher_size) + " bytes is not a multiple of 16"));
  }
  const auto iv = body.first(suite.iv_size());
  const auto ciphertext = body.subspan(suite.iv_size(), cipher_size);
  const auto icv = body.last(suite.icv_size());
  const std::size_t icv_offset = datagram.size() - suite.icv_size();

  Bytes plaintext(cipher_size);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const auto key = keys.encryption.reveal();
  int out_len = 0;
  if (suite.aead()) {
    Bytes nonce(key.end() - kGcmSalt, key.end());
    nonce.insert(nonce.end(), iv.begin(), iv.end());
    Bytes tag(icv.begin(), icv.end());
    int final_len = 0;
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), cipher_of(suite), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, u(key.data()), u(nonce.data())) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &out_len, u(datagram.data()), static_cast<int>(body_offset)) != 1 ||
        EVP_DecryptUpdate(ctx.get(), u(plaintext.data()), &out_len, u(ciphertext.data()), static_cast<int>(cipher_size)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTag, tag.data()) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), u(plaintext.data()) + out_len, &final_len) != 1) {
      OPENSSL_cleanse(plaintext.data(), plaintext.size());
      return unexpected(error(icv_offset, "Integrity Checksum Data", "AES-GCM tag does not verify"));
    }
  } else {
    auto expected_icv = hmac(suite.integrity, keys.integrity, datagram.first(icv_offset));
    if (!expected_icv) return unexpected(error(icv_offset, "Integrity Checksum Data", expected_icv.error()));
    if (CRYPTO_memcmp(expected_icv->data(), icv.data(), suite.icv_size()) != 0) {
      return unexpected(error(icv_offset, "Integrity Checksum Data", "ICV does not verify"));
    }
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), cipher_of(suite), nullptr, u(key.data()), u(iv.data())) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
        EVP_DecryptUpdate(ctx.get(), u(plaintext.data()), &out_len, u(ciphertext.data()), static_cast<int>(cipher_size)) != 1) {
      return unexpected(error(body_offset, "Encrypted Payloads", "AES-CBC decryption failed"));
    }
  }
  const std::size_t pad = std::to_integer<std::size_t>(plaintext.back());
  if (pad + 1 > plaintext.size()) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return unexpected(error(icv_offset - 1, "Pad Length",
                            "Pad Length " + std::to_string(pad) + " exceeds the " + std::to_string(plaintext.size()) + " decrypted bytes"));
  }
  OPENSSL_cleanse(plaintext.data() + plaintext.size() - pad - 1, pad + 1);
  plaintext.resize(plaintext.size() - pad - 1);
  return plaintext;
}

Expected<std::vector<Payload>, MessageError> open_message(const SkSuite& suite, const SkKeys& keys,
                                                          std::span<const std::byte> datagram,
                                                          const EncryptedPayload& sk) {
  const std::size_t body_offset = sk.offset + kGenericPayloadHeaderSize;
  if (sk.offset + kGenericPayloadHeaderSize + sk.body.size() != datagram.size()) {
    return unexpected(sk_error(sk.offset, "Payload Length", "the SK payload does not end the message"));
  }
  auto inner = open_body(suite, keys, datagram, body_offset, "IKEv2 SK payload");
  if (!inner) return unexpected(std::move(inner).error());
  auto payloads = parse_payload_chain(sk.first_inner, *inner, body_offset + suite.iv_size());
  OPENSSL_cleanse(inner->data(), inner->size());
  return payloads;
}

}  // namespace ward::ike::v2
