#include "ike/crypto/keys.h"

#include <openssl/crypto.h>

#include <array>

namespace ward::ike::crypto {
namespace {

std::array<std::byte, 4> be32(std::uint32_t value) {
  return {std::byte(value >> 24), std::byte(value >> 16), std::byte(value >> 8), std::byte(value)};
}

}  // namespace

SecureBytes skeyid_preshared_key(IkeHashAlgorithm hash, Bytes preshared_key, Bytes ni_b, Bytes nr_b) {
  return prf(hash, preshared_key, {ni_b, nr_b});
}

Phase1Keys derive_phase1_keys(IkeHashAlgorithm hash, SecureBytes skeyid, Bytes g_xy, Bytes cky_i, Bytes cky_r,
                              std::size_t encryption_key_size) {
  const std::byte zero{0}, one{1}, two{2};
  Phase1Keys keys;
  keys.hash = hash;
  keys.skeyid_d = prf(hash, skeyid.reveal(), {g_xy, cky_i, cky_r, Bytes(&zero, 1)});
  keys.skeyid_a = prf(hash, skeyid.reveal(), {keys.skeyid_d.reveal(), g_xy, cky_i, cky_r, Bytes(&one, 1)});
  keys.skeyid_e = prf(hash, skeyid.reveal(), {keys.skeyid_a.reveal(), g_xy, cky_i, cky_r, Bytes(&two, 1)});
  keys.encryption_key = expand_encryption_key(hash, keys.skeyid_e, encryption_key_size);
  keys.skeyid = std::move(skeyid);
  return keys;
}

std::vector<std::byte> phase1_iv(IkeHashAlgorithm hash_algorithm, Bytes g_xi, Bytes g_xr, std::size_t block_size) {
  auto digest = hash(hash_algorithm, {g_xi, g_xr});
  digest.resize(block_size);
  return digest;
}

std::vector<std::byte> quick_mode_iv(IkeHashAlgorithm hash_algorithm, Bytes last_phase1_block, std::uint32_t message_id,
                                     std::size_t block_size) {
  const auto mid = be32(message_id);
  auto digest = hash(hash_algorithm, {last_phase1_block, mid});
  digest.resize(block_size);
  return digest;
}

SecureBytes hash_i(IkeHashAlgorithm hash, const SecureBytes& skeyid, Bytes g_xi, Bytes g_xr, Bytes cky_i, Bytes cky_r,
                   Bytes sai_b, Bytes idii_b) {
  return prf(hash, skeyid.reveal(), {g_xi, g_xr, cky_i, cky_r, sai_b, idii_b});
}

SecureBytes hash_r(IkeHashAlgorithm hash, const SecureBytes& skeyid, Bytes g_xi, Bytes g_xr, Bytes cky_i, Bytes cky_r,
                   Bytes sai_b, Bytes idir_b) {
  return prf(hash, skeyid.reveal(), {g_xr, g_xi, cky_r, cky_i, sai_b, idir_b});
}

SecureBytes quick_mode_hash_1(IkeHashAlgorithm hash, const SecureBytes& skeyid_a, std::uint32_t message_id,
                              Bytes after_hash) {
  const auto mid = be32(message_id);
  return prf(hash, skeyid_a.reveal(), {mid, after_hash});
}

SecureBytes quick_mode_hash_2(IkeHashAlgorithm hash, const SecureBytes& skeyid_a, std::uint32_t message_id, Bytes ni_b,
                              Bytes after_hash) {
  const auto mid = be32(message_id);
  return prf(hash, skeyid_a.reveal(), {mid, ni_b, after_hash});
}

SecureBytes quick_mode_hash_3(IkeHashAlgorithm hash, const SecureBytes& skeyid_a, std::uint32_t message_id, Bytes ni_b,
                              Bytes nr_b) {
  const std::byte zero{0};
  const auto mid = be32(message_id);
  return prf(hash, skeyid_a.reveal(), {Bytes(&zero, 1), mid, ni_b, nr_b});
}

SecureBytes keymat(IkeHashAlgorithm hash, const SecureBytes& skeyid_d, Bytes g_qm_xy, ProtocolId protocol,
                   std::uint32_t spi, Bytes ni_b, Bytes nr_b, std::size_t size) {
  const std::byte proto{static_cast<std::uint8_t>(protocol)};
  const auto spi_bytes = be32(spi);
  std::vector<std::byte> material;
  SecureBytes block = prf(hash, skeyid_d.reveal(), {g_qm_xy, Bytes(&proto, 1), spi_bytes, ni_b, nr_b});
  while (true) {
    material.insert(material.end(), block.reveal().begin(), block.reveal().end());
    if (material.size() >= size) break;
    block = prf(hash, skeyid_d.reveal(), {block.reveal(), g_qm_xy, Bytes(&proto, 1), spi_bytes, ni_b, nr_b});
  }
  SecureBytes out(std::span<const std::byte>(material).first(size));
  OPENSSL_cleanse(material.data(), material.size());
  return out;
}

}  // namespace ward::ike::crypto
