#include "ike/auth/signature.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace ward::ike::auth {
namespace {

// RFC 8017 9.2, note 1: the DER of DigestInfo up to the hash, per hash.
constexpr std::array<unsigned char, 15> kSha1Prefix{0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                                    0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
constexpr std::array<unsigned char, 19> kSha256Prefix{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
constexpr std::array<unsigned char, 19> kSha384Prefix{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                      0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
constexpr std::array<unsigned char, 19> kSha512Prefix{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                      0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

std::span<const unsigned char> digest_info_prefix(SignatureHash hash) noexcept {
  switch (hash) {
    case SignatureHash::Sha1: return kSha1Prefix;
    case SignatureHash::Sha256: return kSha256Prefix;
    case SignatureHash::Sha384: return kSha384Prefix;
    case SignatureHash::Sha512: return kSha512Prefix;
  }
  return {};
}

const EVP_MD* md_of(SignatureHash hash) noexcept {
  switch (hash) {
    case SignatureHash::Sha1: return EVP_sha1();
    case SignatureHash::Sha256: return EVP_sha256();
    case SignatureHash::Sha384: return EVP_sha384();
    case SignatureHash::Sha512: return EVP_sha512();
  }
  return nullptr;
}

std::size_t size_of(SignatureHash hash) noexcept {
  switch (hash) {
    case SignatureHash::Sha1: return 20;
    case SignatureHash::Sha256: return 32;
    case SignatureHash::Sha384: return 48;
    case SignatureHash::Sha512: return 64;
  }
  return 0;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

}  // namespace

std::string_view name(SignatureHash hash) noexcept {
  switch (hash) {
    case SignatureHash::Sha1: return "SHA-1";
    case SignatureHash::Sha256: return "SHA-256";
    case SignatureHash::Sha384: return "SHA-384";
    case SignatureHash::Sha512: return "SHA-512";
  }
  return "?";
}

std::string_view name(KeyKind kind) noexcept {
  switch (kind) {
    case KeyKind::Rsa: return "RSA";
    case KeyKind::EcdsaP256: return "ECDSA P-256";
    case KeyKind::EcdsaP384: return "ECDSA P-384";
    case KeyKind::EcdsaP521: return "ECDSA P-521";
    case KeyKind::Unsupported: return "unsupported";
  }
  return "?";
}

bool is_ecdsa(KeyKind kind) noexcept {
  return kind == KeyKind::EcdsaP256 || kind == KeyKind::EcdsaP384 || kind == KeyKind::EcdsaP521;
}

SignatureHash natural_hash(KeyKind kind) noexcept {
  switch (kind) {
    case KeyKind::EcdsaP384: return SignatureHash::Sha384;
    case KeyKind::EcdsaP521: return SignatureHash::Sha512;
    default: return SignatureHash::Sha256;
  }
}

KeyKind key_kind_of(EVP_PKEY* key) noexcept {
  if (key == nullptr) return KeyKind::Unsupported;
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) return KeyKind::Rsa;
  if (id != EVP_PKEY_EC) return KeyKind::Unsupported;
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &length) != 1) {
    ERR_clear_error();
    return KeyKind::Unsupported;
  }
  const int nid = OBJ_txt2nid(group);
  if (nid == NID_X9_62_prime256v1) return KeyKind::EcdsaP256;
  if (nid == NID_secp384r1) return KeyKind::EcdsaP384;
  if (nid == NID_secp521r1) return KeyKind::EcdsaP521;
  return KeyKind::Unsupported;
}

bool is_signable_digest(std::span<const std::byte> digest) noexcept {
  const std::size_t n = digest.size();
  if (n == 16 || n == 20 || n == 32 || n == 48 || n == 64) return true;
  for (const auto hash : {SignatureHash::Sha1, SignatureHash::Sha256, SignatureHash::Sha384, SignatureHash::Sha512}) {
    const auto prefix = digest_info_prefix(hash);
    if (n == prefix.size() + size_of(hash) && std::memcmp(digest.data(), prefix.data(), prefix.size()) == 0) return true;
  }
  return false;
}

Expected<std::vector<std::byte>, std::string> digest_to_sign(KeyKind kind, SignatureHash hash, std::span<const std::byte> octets) {
  if (kind == KeyKind::Unsupported) return unexpected(std::string("the key is neither RSA nor ECDSA on P-256, P-384 or P-521"));
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  if (EVP_Digest(octets.data(), octets.size(), md.data(), &size, md_of(hash), nullptr) != 1) {
    ERR_clear_error();
    return unexpected("cannot hash the signed octets with " + std::string(name(hash)));
  }
  std::vector<std::byte> out;
  if (kind == KeyKind::Rsa) {
    const auto prefix = digest_info_prefix(hash);
    const auto* p = reinterpret_cast<const std::byte*>(prefix.data());
    out.assign(p, p + prefix.size());
  }
  const auto* h = reinterpret_cast<const std::byte*>(md.data());
  out.insert(out.end(), h, h + size);
  return out;
}

bool verify_signature(EVP_PKEY* key, SignatureHash hash, std::span<const std::byte> octets, std::span<const std::byte> signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const bool ok = ctx && key != nullptr && EVP_DigestVerifyInit(ctx.get(), nullptr, md_of(hash), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(octets.data()), octets.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace ward::ike::auth
