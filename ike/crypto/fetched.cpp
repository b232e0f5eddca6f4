#include "ike/crypto/fetched.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ward::ike::crypto {
namespace {

// A handful of names per thread: a list is enough.
template <typename T, void (*Free)(T*), T* (*Fetch)(OSSL_LIB_CTX*, const char*, const char*)>
T* fetched(std::string_view name) {
  struct Deleter {
    void operator()(T* p) const noexcept { Free(p); }
  };
  thread_local std::vector<std::pair<std::string, std::unique_ptr<T, Deleter>>> cache;
  for (const auto& [n, p] : cache) {
    if (n == name) return p.get();
  }
  std::string key(name);
  std::unique_ptr<T, Deleter> made(Fetch(nullptr, key.c_str(), nullptr));
  if (!made) return nullptr;   // not cached: an unavailable name stays an error each time
  T* out = made.get();
  cache.emplace_back(std::move(key), std::move(made));
  return out;
}

}  // namespace

const EVP_CIPHER* fetched_cipher(std::string_view name) {
  return fetched<EVP_CIPHER, EVP_CIPHER_free, EVP_CIPHER_fetch>(name);
}

EVP_MAC* fetched_mac(std::string_view name) { return fetched<EVP_MAC, EVP_MAC_free, EVP_MAC_fetch>(name); }

const EVP_MD* fetched_md(std::string_view name) { return fetched<EVP_MD, EVP_MD_free, EVP_MD_fetch>(name); }

}  // namespace ward::ike::crypto
