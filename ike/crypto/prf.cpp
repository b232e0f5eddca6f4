#include "ike/crypto/prf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <array>
#include <cstdlib>
#include <memory>

#include "ike/crypto/fetched.h"

namespace ward::ike::crypto {
namespace {

const EVP_MD* digest(IkeHashAlgorithm algorithm) {
  switch (algorithm) {
    case IkeHashAlgorithm::Md5: return EVP_md5();
    case IkeHashAlgorithm::Sha: return EVP_sha1();
    case IkeHashAlgorithm::Sha2_256: return EVP_sha256();
    case IkeHashAlgorithm::Sha2_384: return EVP_sha384();
    default: return nullptr;
  }
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

const char* digest_name(IkeHashAlgorithm algorithm) {
  switch (algorithm) {
    case IkeHashAlgorithm::Md5: return "MD5";
    case IkeHashAlgorithm::Sha: return "SHA1";
    case IkeHashAlgorithm::Sha2_256: return "SHA2-256";
    case IkeHashAlgorithm::Sha2_384: return "SHA2-384";
    default: return nullptr;
  }
}

// A keyless HMAC context for `algorithm`, made once per thread and hash and duplicated for each
// prf(): OpenSSL 3's one-shot HMAC() fetches the MAC and the digest by name on every call (locks,
// string compares), about thirty times a handshake. Holds no key, so nothing secret outlives a call.
const EVP_MAC_CTX* hmac_template(IkeHashAlgorithm algorithm) {
  constexpr std::size_t kHashes = 4;
  thread_local std::array<MacCtxPtr, kHashes> templates;
  const char* name = digest_name(algorithm);
  if (name == nullptr) std::abort();
  const std::size_t index = algorithm == IkeHashAlgorithm::Md5 ? 0 : algorithm == IkeHashAlgorithm::Sha ? 1
                            : algorithm == IkeHashAlgorithm::Sha2_256 ? 2 : 3;
  auto& ctx = templates[index];
  if (!ctx) {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) std::abort();
    ctx.reset(EVP_MAC_CTX_new(mac));
    EVP_MAC_free(mac);   // the context keeps its own reference
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(name), 0),
                           OSSL_PARAM_construct_end()};
    if (!ctx || EVP_MAC_CTX_set_params(ctx.get(), params) != 1) std::abort();
  }
  return ctx.get();
}

}  // namespace

bool is_supported_hash(IkeHashAlgorithm hash) noexcept { return digest(hash) != nullptr; }

bool is_legacy_hash(IkeHashAlgorithm hash) noexcept { return hash == IkeHashAlgorithm::Md5; }

std::size_t hash_size(IkeHashAlgorithm hash) noexcept {
  const EVP_MD* md = digest(hash);
  return md == nullptr ? 0 : static_cast<std::size_t>(EVP_MD_get_size(md));
}

std::string_view hash_name(IkeHashAlgorithm hash) noexcept {
  switch (hash) {
    case IkeHashAlgorithm::Md5: return "MD5";
    case IkeHashAlgorithm::Sha: return "SHA-1";
    case IkeHashAlgorithm::Sha2_256: return "SHA2-256";
    case IkeHashAlgorithm::Sha2_384: return "SHA2-384";
    default: return "unsupported hash";
  }
}

std::vector<std::byte> hash(IkeHashAlgorithm algorithm, std::initializer_list<Bytes> parts) {
  const char* name = digest_name(algorithm);
  const EVP_MD* md = name == nullptr ? nullptr : fetched_md(name);
  if (md == nullptr) std::abort();  // callers negotiate only supported hashes
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::vector<std::byte> out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int size = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) std::abort();
  for (const auto part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) std::abort();
  }
  if (EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &size) != 1) std::abort();
  return out;
}

SecureBytes prf(IkeHashAlgorithm algorithm, Bytes key, std::initializer_list<Bytes> parts) {
  const EVP_MD* md = digest(algorithm);
  if (md == nullptr) std::abort();
  MacCtxPtr ctx(EVP_MAC_CTX_dup(hmac_template(algorithm)));
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t size = 0;
  static const unsigned char kEmpty = 0;
  const unsigned char* key_data = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (!ctx || EVP_MAC_init(ctx.get(), key_data, key.size(), nullptr) != 1) std::abort();
  for (const auto part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()), part.size()) != 1) std::abort();
  }
  if (EVP_MAC_final(ctx.get(), out.data(), &size, out.size()) != 1 || size != static_cast<std::size_t>(EVP_MD_get_size(md))) {
    std::abort();
  }
  SecureBytes result(std::as_bytes(std::span<const unsigned char>(out.data(), size)));
  OPENSSL_cleanse(out.data(), out.size());
  return result;
}

SecureBytes expand_encryption_key(IkeHashAlgorithm algorithm, const SecureBytes& skeyid_e, std::size_t size) {
  if (skeyid_e.size() >= size) return SecureBytes(skeyid_e.reveal().first(size));
  std::vector<std::byte> material;
  const std::byte zero{0};
  SecureBytes block = prf(algorithm, skeyid_e.reveal(), {Bytes(&zero, 1)});
  while (true) {
    material.insert(material.end(), block.reveal().begin(), block.reveal().end());
    if (material.size() >= size) break;
    block = prf(algorithm, skeyid_e.reveal(), {block.reveal()});
  }
  SecureBytes out(std::span<const std::byte>(material).first(size));
  OPENSSL_cleanse(material.data(), material.size());
  return out;
}

Expected<std::vector<std::byte>, std::string> random_bytes(std::size_t count) {
  std::vector<std::byte> out(count);
  if (count > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    return unexpected(std::string("RAND_bytes failed for ") + std::to_string(count) + " bytes");
  }
  return out;
}

bool equal_constant_time(Bytes a, Bytes b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ward::ike::crypto
