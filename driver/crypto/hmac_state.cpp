// OpenSSL 3 marks the one-shot digest structs and functions (SHA_CTX, SHA1_Update, ...) deprecated
// in favour of EVP_MD. They are still built and exported by every OpenSSL 3 release, and they are
// the only way to copy a keyed digest state without an allocation (see hmac_state.h). This file is
// the one place in Ward that uses them. They do not go through providers: should Ward ever have to
// run with the FIPS provider only, HMAC must go back to EVP_MAC (at ~15 % more per 64-byte packet).
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "driver/crypto/hmac_state.h"

#include <algorithm>
#include <array>
#include <variant>

#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

namespace ward::driver::crypto {

namespace {

constexpr unsigned char kIpad = 0x36;  // RFC 2104 2
constexpr unsigned char kOpad = 0x5c;
constexpr std::size_t kHmacBlockLength = 64;  // SHA-1, SHA-256 and MD5 all have 64-byte blocks
static_assert(SHA_CBLOCK == kHmacBlockLength && SHA256_CBLOCK == kHmacBlockLength && MD5_CBLOCK == kHmacBlockLength);

// One hash's low-level interface, so the HMAC below is written once.
struct Sha1 {
  using Ctx = SHA_CTX;
  static constexpr std::size_t kDigestLength = SHA_DIGEST_LENGTH;
  static int init(Ctx* c) { return SHA1_Init(c); }
  static int update(Ctx* c, const void* d, std::size_t n) { return SHA1_Update(c, d, n); }
  static int final(unsigned char* md, Ctx* c) { return SHA1_Final(md, c); }
};
struct Sha256 {
  using Ctx = SHA256_CTX;
  static constexpr std::size_t kDigestLength = SHA256_DIGEST_LENGTH;
  static int init(Ctx* c) { return SHA256_Init(c); }
  static int update(Ctx* c, const void* d, std::size_t n) { return SHA256_Update(c, d, n); }
  static int final(unsigned char* md, Ctx* c) { return SHA256_Final(md, c); }
};
struct Md5 {
  using Ctx = MD5_CTX;
  static constexpr std::size_t kDigestLength = MD5_DIGEST_LENGTH;
  static int init(Ctx* c) { return MD5_Init(c); }
  static int update(Ctx* c, const void* d, std::size_t n) { return MD5_Update(c, d, n); }
  static int final(unsigned char* md, Ctx* c) { return MD5_Final(md, c); }
};

template <class Hash>
struct Keyed {
  typename Hash::Ctx inner;
  typename Hash::Ctx outer;
};

template <class Hash>
constexpr std::size_t digest_length_of(const Keyed<Hash>& /*keyed*/) noexcept {
  return Hash::kDigestLength;
}

template <class Hash>
bool key_states(Keyed<Hash>& keyed, std::span<const std::byte> key) noexcept {
  std::array<unsigned char, kHmacBlockLength> block{};
  bool ok = true;
  if (key.size() > kHmacBlockLength) {  // RFC 2104 2: a long key is hashed first
    typename Hash::Ctx ctx;
    ok = Hash::init(&ctx) == 1 && Hash::update(&ctx, key.data(), key.size()) == 1 &&
         Hash::final(block.data(), &ctx) == 1;
    OPENSSL_cleanse(&ctx, sizeof ctx);
  } else {
    std::transform(key.begin(), key.end(), block.begin(), [](std::byte b) { return static_cast<unsigned char>(b); });
  }
  std::array<unsigned char, kHmacBlockLength> pad{};
  for (std::size_t i = 0; i < kHmacBlockLength; ++i) pad[i] = block[i] ^ kIpad;
  ok = ok && Hash::init(&keyed.inner) == 1 && Hash::update(&keyed.inner, pad.data(), pad.size()) == 1;
  for (std::size_t i = 0; i < kHmacBlockLength; ++i) pad[i] = block[i] ^ kOpad;
  ok = ok && Hash::init(&keyed.outer) == 1 && Hash::update(&keyed.outer, pad.data(), pad.size()) == 1;
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
  return ok;
}

template <class Hash>
bool compute(const Keyed<Hash>& keyed, std::span<const std::span<const std::byte>> parts,
             std::span<unsigned char> out) noexcept {
  if (out.size() < Hash::kDigestLength) return false;
  typename Hash::Ctx ctx = keyed.inner;
  std::array<unsigned char, Hash::kDigestLength> inner_digest{};
  bool ok = true;
  for (const auto part : parts) {
    if (!part.empty()) ok = ok && Hash::update(&ctx, part.data(), part.size()) == 1;
  }
  ok = ok && Hash::final(inner_digest.data(), &ctx) == 1;
  ctx = keyed.outer;
  ok = ok && Hash::update(&ctx, inner_digest.data(), inner_digest.size()) == 1 && Hash::final(out.data(), &ctx) == 1;
  OPENSSL_cleanse(&ctx, sizeof ctx);
  OPENSSL_cleanse(inner_digest.data(), inner_digest.size());
  return ok;
}

}  // namespace

struct HmacKeyState {
  std::variant<Keyed<Sha1>, Keyed<Sha256>, Keyed<Md5>> keyed;
};

void HmacKeyStateDeleter::operator()(HmacKeyState* state) const noexcept {
  if (state == nullptr) return;
  OPENSSL_cleanse(state, sizeof *state);
  delete state;
}

Expected<HmacKeyStatePtr, std::string> make_hmac_key_state(Integrity integrity, std::span<const std::byte> key) {
  if (key.empty()) return unexpected(std::string(name_of(integrity)) + " needs a key, got 0 bytes");
  HmacKeyStatePtr state(new HmacKeyState{});
  bool ok = false;
  switch (integrity) {
    case Integrity::None:
      return unexpected(std::string("no integrity algorithm to create"));
    case Integrity::HmacSha1_96:
      ok = key_states(state->keyed.emplace<Keyed<Sha1>>(), key);
      break;
    case Integrity::HmacSha256_128:
      ok = key_states(state->keyed.emplace<Keyed<Sha256>>(), key);
      break;
    case Integrity::HmacMd5_96:
      ok = key_states(state->keyed.emplace<Keyed<Md5>>(), key);
      break;
  }
  if (!ok) return unexpected("cannot key " + std::string(name_of(integrity)));
  return state;
}

std::size_t hmac_digest_length(const HmacKeyState& state) noexcept {
  return std::visit([](const auto& keyed) { return digest_length_of(keyed); }, state.keyed);
}

bool hmac_compute(const HmacKeyState& state, std::span<const std::span<const std::byte>> parts,
                  std::span<unsigned char> out) noexcept {
  return std::visit([&](const auto& keyed) { return compute(keyed, parts, out); }, state.keyed);
}

}  // namespace ward::driver::crypto
