#include "ike/crypto/dh.h"

#include <openssl/bn.h>
#include <openssl/dh.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <map>

namespace ward::ike::crypto {
namespace {

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
struct BnDeleter {
  void operator()(BIGNUM* bn) const noexcept { BN_clear_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* bld) const noexcept { OSSL_PARAM_BLD_free(bld); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* params) const noexcept { OSSL_PARAM_free(params); }
};

constexpr std::size_t kModp1024Size = 128;
constexpr std::size_t kModp2048Size = 256;
constexpr unsigned kModpGenerator = 2;   // RFC 2409 6.2, RFC 3526
constexpr std::size_t kEcp256CoordinateSize = 32;
constexpr std::size_t kEcp384CoordinateSize = 48;
constexpr std::byte kSec1Uncompressed{0x04};

std::string openssl_error(std::string_view what) {
  const unsigned long code = ERR_get_error();
  std::string text(what);
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += " (" + std::string(buffer) + ")";
  }
  ERR_clear_error();
  return text;
}

bool is_ecp(IkeGroupDescription group) {
  return group == IkeGroupDescription::Ecp256 || group == IkeGroupDescription::Ecp384;
}

// OpenSSL's name for the group; group 2 has none (OpenSSL names only RFC 3526 / 7919 groups) and
// is built from its prime (modp1024_parameters).
const char* group_name(IkeGroupDescription group) {
  switch (group) {
    case IkeGroupDescription::Modp2048: return "modp_2048";
    case IkeGroupDescription::Ecp256: return "P-256";
    case IkeGroupDescription::Ecp384: return "P-384";
    default: return nullptr;
  }
}

std::string describe(IkeGroupDescription group) {
  return "DH group " + std::to_string(static_cast<unsigned>(group));
}

// RFC 2409 6.2, the Second Oakley Group: p = 2^1024 - 2^960 - 1 + 2^64 * ([2^894 pi] + 129093),
// g = 2. Only p and g are given: OpenSSL 3 refuses to generate keys when q = (p - 1) / 2 is set
// (its FIPS 186-4 generator wants a 160..256-bit q). The private exponent is then p's length less
// one bit, and the public key check is the range 2 <= y <= p - 2 (p is a safe prime, so the only
// small subgroup, {1, p - 1}, is refused).
Expected<PkeyPtr, std::string> modp1024_parameters() {
  const auto group = IkeGroupDescription::Modp1024;
  BnPtr p(BN_get_rfc2409_prime_1024(nullptr));
  BnPtr g(BN_new());
  if (!p || !g || BN_set_word(g.get(), kModpGenerator) != 1) return unexpected(openssl_error(describe(group) + ": building the prime"));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, p.get()) <= 0 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, g.get()) <= 0) {
    return unexpected(openssl_error(describe(group) + ": building the domain parameters"));
  }
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEY_PARAMETERS, params.get()) <= 0) {
    return unexpected(openssl_error(describe(group) + ": importing the domain parameters"));
  }
  return PkeyPtr(raw);
}

// A key generation context for `group`: by name, or from group 2's explicit parameters.
Expected<PkeyCtxPtr, std::string> keygen_context(IkeGroupDescription group) {
  if (group == IkeGroupDescription::Modp1024) {
    auto parameters = modp1024_parameters();
    if (!parameters) return unexpected(std::move(parameters).error());
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, parameters->get(), nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return unexpected(openssl_error(describe(group) + ": keygen init"));
    return ctx;
  }
  const char* name = group_name(group);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, is_ecp(group) ? "EC" : "DH", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return unexpected(openssl_error(describe(group) + ": keygen init"));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(name), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_PKEY_CTX_set_params(ctx.get(), params) <= 0) return unexpected(openssl_error(describe(group) + ": set group"));
  return ctx;
}

Expected<std::vector<std::byte>, std::string> encoded_public(EVP_PKEY* key, IkeGroupDescription group) {
  unsigned char* raw = nullptr;
  const std::size_t size = EVP_PKEY_get1_encoded_public_key(key, &raw);
  if (size == 0 || raw == nullptr) return unexpected(openssl_error(describe(group) + ": no public value"));
  std::vector<std::byte> bytes(reinterpret_cast<std::byte*>(raw), reinterpret_cast<std::byte*>(raw) + size);
  OPENSSL_free(raw);
  const std::size_t want = public_value_size(group);
  if (is_ecp(group)) {
    // SEC1 uncompressed point 04 || x || y -> RFC 5903's x || y.
    if (bytes.size() != want + 1 || bytes[0] != kSec1Uncompressed) {
      return unexpected(describe(group) + ": unexpected public point encoding of " + std::to_string(bytes.size()) + " bytes");
    }
    bytes.erase(bytes.begin());
  } else if (bytes.size() < want) {
    bytes.insert(bytes.begin(), want - bytes.size(), std::byte{0});
  } else if (bytes.size() > want) {
    return unexpected(describe(group) + ": public value of " + std::to_string(bytes.size()) + " bytes");
  }
  return bytes;
}

}  // namespace

bool is_supported_group(IkeGroupDescription group) noexcept {
  return group == IkeGroupDescription::Modp1024 || group_name(group) != nullptr;
}

bool is_legacy_group(IkeGroupDescription group) noexcept { return group == IkeGroupDescription::Modp1024; }

std::size_t public_value_size(IkeGroupDescription group) noexcept {
  switch (group) {
    case IkeGroupDescription::Modp1024: return kModp1024Size;
    case IkeGroupDescription::Modp2048: return kModp2048Size;
    case IkeGroupDescription::Ecp256: return 2 * kEcp256CoordinateSize;
    case IkeGroupDescription::Ecp384: return 2 * kEcp384CoordinateSize;
    default: return 0;
  }
}

Expected<DiffieHellman, std::string> DiffieHellman::generate(IkeGroupDescription group) {
  if (!is_supported_group(group)) return unexpected(describe(group) + " is not supported (2, 14, 19 and 20 are)");
  // One key generation context per thread and group, made on first use: making one fetches the
  // algorithm and sets the group by name each time, a third of an ECP-256 key generation.
  thread_local std::map<IkeGroupDescription, PkeyCtxPtr> contexts;
  auto& ctx = contexts[group];
  if (!ctx) {
    auto made = keygen_context(group);
    if (!made) {
      contexts.erase(group);
      return unexpected(std::move(made).error());
    }
    ctx = std::move(*made);
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) <= 0) return unexpected(openssl_error(describe(group) + ": keygen"));
  PkeyPtr key(raw);
  auto pub = encoded_public(key.get(), group);
  if (!pub) return unexpected(std::move(pub).error());
  return DiffieHellman(group, std::move(key), std::move(*pub));
}

Expected<DiffieHellman, std::string> DiffieHellman::modp1024_from_private(std::span<const std::byte> private_exponent,
                                                                          std::span<const std::byte> expected_public) {
  const auto group = IkeGroupDescription::Modp1024;
  BnPtr p(BN_get_rfc2409_prime_1024(nullptr));
  BnPtr g(BN_new());
  BnPtr x(BN_bin2bn(reinterpret_cast<const unsigned char*>(private_exponent.data()), static_cast<int>(private_exponent.size()),
                    nullptr));
  BnPtr y(BN_new());
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> bn_ctx(BN_CTX_new(), BN_CTX_free);
  if (!p || !g || !x || !y || !bn_ctx || BN_set_word(g.get(), kModpGenerator) != 1 ||
      BN_mod_exp(y.get(), g.get(), x.get(), p.get(), bn_ctx.get()) != 1) {
    return unexpected(openssl_error(describe(group) + ": computing g^x"));
  }
  std::vector<unsigned char> computed(kModp1024Size);
  if (BN_bn2binpad(y.get(), computed.data(), static_cast<int>(computed.size())) < 0 ||
      expected_public.size() != computed.size() ||
      !std::equal(computed.begin(), computed.end(), reinterpret_cast<const unsigned char*>(expected_public.data()))) {
    return unexpected(describe(group) + ": the public value is not g^x for this private exponent");
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, p.get()) <= 0 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, g.get()) <= 0 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, x.get()) <= 0 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) <= 0) {
    return unexpected(openssl_error(describe(group) + ": building key parameters"));
  }
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) <= 0) {
    return unexpected(openssl_error(describe(group) + ": importing the fixed key"));
  }
  PkeyPtr key(raw);
  auto pub = encoded_public(key.get(), group);
  if (!pub) return unexpected(std::move(pub).error());
  return DiffieHellman(group, std::move(key), std::move(*pub));
}

Expected<DiffieHellman, std::string> DiffieHellman::from_private_for_test(IkeGroupDescription group,
                                                                          std::span<const std::byte> private_scalar,
                                                                          std::span<const std::byte> public_xy) {
  if (group == IkeGroupDescription::Modp1024) return modp1024_from_private(private_scalar, public_xy);
  if (!is_ecp(group)) return unexpected(describe(group) + ": fixed keys are for ECP groups and group 2 only");
  if (public_xy.size() != public_value_size(group)) return unexpected(describe(group) + ": public x||y has the wrong size");
  BnPtr priv(BN_bin2bn(reinterpret_cast<const unsigned char*>(private_scalar.data()),
                       static_cast<int>(private_scalar.size()), nullptr));
  std::vector<unsigned char> point;
  point.push_back(static_cast<unsigned char>(kSec1Uncompressed));
  for (const auto b : public_xy) point.push_back(static_cast<unsigned char>(b));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!priv || !bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name(group), 0) <= 0 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) <= 0 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) <= 0) {
    return unexpected(openssl_error(describe(group) + ": building key parameters"));
  }
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) <= 0) {
    return unexpected(openssl_error(describe(group) + ": importing the fixed key"));
  }
  PkeyPtr key(raw);
  auto pub = encoded_public(key.get(), group);
  if (!pub) return unexpected(std::move(pub).error());
  return DiffieHellman(group, std::move(key), std::move(*pub));
}

Expected<SecureBytes, std::string> DiffieHellman::shared_secret(std::span<const std::byte> peer_public) const {
  const std::size_t want = public_value_size(group_);
  if (peer_public.size() != want) {
    return unexpected(describe(group_) + ": the peer's KE data is " + std::to_string(peer_public.size()) +
                      " bytes, " + std::to_string(want) + " expected");
  }
  std::vector<unsigned char> encoded;
  if (is_ecp(group_)) encoded.push_back(static_cast<unsigned char>(kSec1Uncompressed));
  for (const auto b : peer_public) encoded.push_back(static_cast<unsigned char>(b));

  // The peer's key object, one per thread and group, its public value replaced for each derive:
  // making one (EVP_PKEY_new and copy_parameters, which look the key type up by name) costs more
  // than decoding the point. It holds only public values; after a refused value it is dropped,
  // so nothing of a failed decode is used again.
  thread_local std::map<IkeGroupDescription, PkeyPtr> peers;
  auto& peer = peers[group_];
  if (!peer) {
    peer.reset(EVP_PKEY_new());
    if (!peer || EVP_PKEY_copy_parameters(peer.get(), key_.get()) <= 0) {
      peers.erase(group_);
      return unexpected(openssl_error(describe(group_) + ": could not make the peer's key"));
    }
  }
  if (EVP_PKEY_set1_encoded_public_key(peer.get(), encoded.data(), encoded.size()) <= 0) {
    peers.erase(group_);
    return unexpected(openssl_error(describe(group_) + ": the peer's KE data is not a valid public value"));
  }
  // Checked once, as RFC 6989 asks. ECP: set1_encoded_public_key has done it: it decodes only
  // points on the curve with coordinates below the field prime, and an uncompressed point (0x04,
  // x, y) is never the point at infinity; for these cofactor-1 curves that is all there is to
  // check (a quick-check context would decode and test it again: ~8 us of CPU beside a ~70 us
  // derive). MODP: 1 < g^y < p - 1 for these safe-prime groups. OpenSSL's full check adds a scalar
  // multiplication by the order (ECP) or a modular exponentiation by q (MODP) that proves nothing
  // more here, and derive_set_peer would run that full check a second time (validation off below).
  if (!is_ecp(group_)) {
    PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, peer.get(), nullptr));
    if (!check || EVP_PKEY_public_check_quick(check.get()) <= 0) {
      return unexpected(openssl_error(describe(group_) + ": the peer's KE data fails the public key check"));
    }
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0) return unexpected(openssl_error(describe(group_) + ": derive init"));
  if (!is_ecp(group_) && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) <= 0) {
    return unexpected(openssl_error(describe(group_) + ": DH padding"));
  }
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 0) <= 0) {
    return unexpected(openssl_error(describe(group_) + ": the peer's public value is refused"));
  }
  std::size_t size = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &size) <= 0) return unexpected(openssl_error(describe(group_) + ": derive size"));
  std::vector<std::byte> secret(size);
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &size) <= 0) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return unexpected(openssl_error(describe(group_) + ": derive"));
  }
  secret.resize(size);
  SecureBytes out(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  return out;
}

}  // namespace ward::ike::crypto
