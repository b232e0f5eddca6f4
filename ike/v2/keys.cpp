#include "ike/v2/keys.h"

#include <openssl/crypto.h>

#include <cstdint>
#include <vector>

#include "ike/crypto/prf.h"

namespace ward::ike::v2 {
namespace {

IkeHashAlgorithm hash_of(PrfId id) noexcept {
  switch (id) {
    case PrfId::HmacSha1: return IkeHashAlgorithm::Sha;
    case PrfId::HmacSha2_256: return IkeHashAlgorithm::Sha2_256;
    case PrfId::HmacSha2_384: return IkeHashAlgorithm::Sha2_384;
  }
  return IkeHashAlgorithm::Tiger;   // unsupported; callers check is_supported_prf first
}

std::vector<std::byte> concat(std::initializer_list<ByteSpan> parts) {
  std::vector<std::byte> out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

bool is_supported_prf(PrfId id) noexcept {
  return id == PrfId::HmacSha1 || id == PrfId::HmacSha2_256 || id == PrfId::HmacSha2_384;
}

std::size_t prf_size(PrfId id) noexcept { return is_supported_prf(id) ? crypto::hash_size(hash_of(id)) : 0; }

SecureBytes prf(PrfId id, ByteSpan key, std::initializer_list<ByteSpan> data) {
  return crypto::prf(hash_of(id), key, data);
}

Expected<SecureBytes, std::string> prf_plus(PrfId id, ByteSpan key, ByteSpan seed, std::size_t size) {
  const std::size_t block = prf_size(id);
  if (block == 0) return unexpected("PRF " + std::to_string(static_cast<unsigned>(id)) + " is not supported");
  if (size > block * 255) return unexpected("prf+ asked for " + std::to_string(size) + " bytes, more than 255 blocks");
  std::vector<std::byte> out;
  out.reserve(size + block);
  SecureBytes previous;
  for (std::uint8_t n = 1; out.size() < size; ++n) {
    const std::byte counter{n};
    previous = prf(id, key, {previous.reveal(), seed, ByteSpan(&counter, 1)});
    const auto t = previous.reveal();
    out.insert(out.end(), t.begin(), t.end());
  }
  out.resize(size);
  SecureBytes result(out);
  OPENSSL_cleanse(out.data(), out.size());
  return result;
}

SecureBytes skeyseed(PrfId id, ByteSpan ni, ByteSpan nr, ByteSpan g_ir) {
  const auto key = concat({ni, nr});
  return prf(id, key, {g_ir});
}

SecureBytes skeyseed_rekey(PrfId id, ByteSpan sk_d_old, ByteSpan g_ir_new, ByteSpan ni, ByteSpan nr) {
  return prf(id, sk_d_old, {g_ir_new, ni, nr});
}

Expected<IkeSaKeys, std::string> derive_ike_sa_keys(PrfId id, const SecureBytes& seed_key, ByteSpan ni, ByteSpan nr,
                                                    ByteSpan spi_i, ByteSpan spi_r, std::size_t integrity_size,
                                                    std::size_t encryption_size) {
  const std::size_t prf_key = prf_size(id);
  const std::size_t total = 3 * prf_key + 2 * integrity_size + 2 * encryption_size;
  const auto seed = concat({ni, nr, spi_i, spi_r});
  auto material = prf_plus(id, seed_key.reveal(), seed, total);
  if (!material) return unexpected(material.error());
  const auto m = material->reveal();
  std::size_t at = 0;
  auto take = [&](std::size_t n) {
    SecureBytes k(m.subspan(at, n));
    at += n;
    return k;
  };
  IkeSaKeys keys;
  keys.sk_d = take(prf_key);
  keys.sk_ai = take(integrity_size);
  keys.sk_ar = take(integrity_size);
  keys.sk_ei = take(encryption_size);
  keys.sk_er = take(encryption_size);
  keys.sk_pi = take(prf_key);
  keys.sk_pr = take(prf_key);
  return keys;
}

Expected<SecureBytes, std::string> child_keymat(PrfId id, const SecureBytes& sk_d, ByteSpan g_ir_new, ByteSpan ni,
                                                ByteSpan nr, std::size_t size) {
  const auto seed = concat({g_ir_new, ni, nr});
  return prf_plus(id, sk_d.reveal(), seed, size);
}

SecureBytes psk_pad(PrfId id, ByteSpan shared_secret) {
  const auto pad = std::as_bytes(std::span(kKeyPadForIkev2.data(), kKeyPadForIkev2.size()));
  return prf(id, shared_secret, {pad});
}

Bytes signed_octets(PrfId id, ByteSpan real_message, ByteSpan peer_nonce, const SecureBytes& sk_p, ByteSpan id_body) {
  const SecureBytes maced_id = prf(id, sk_p.reveal(), {id_body});
  return concat({real_message, peer_nonce, maced_id.reveal()});
}

SecureBytes psk_auth_padded(PrfId id, const SecureBytes& padded_key, ByteSpan real_message, ByteSpan peer_nonce,
                            const SecureBytes& sk_p, ByteSpan id_body) {
  return prf(id, padded_key.reveal(), {signed_octets(id, real_message, peer_nonce, sk_p, id_body)});
}

SecureBytes psk_auth(PrfId id, ByteSpan shared_secret, ByteSpan real_message, ByteSpan peer_nonce, const SecureBytes& sk_p,
                     ByteSpan id_body) {
  return psk_auth_padded(id, psk_pad(id, shared_secret), real_message, peer_nonce, sk_p, id_body);
}

}  // namespace ward::ike::v2
