// IKEv1 key derivation and authentication hashes (RFC 2409 5, 5.5, appendix B).
//
//   SKEYID   = prf(pre-shared-key, Ni_b | Nr_b)                        (PSK; the AuthProvider
//                                                                       supplies SKEYID per method)
//   SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//   SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//   SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
//   HASH_I   = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
//   HASH_R   = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
//   phase 1 IV = hash(g^xi | g^xr), quick mode IV = hash(last phase 1 CBC block | M-ID)
//   HASH(1) = prf(SKEYID_a, M-ID | everything after HASH(1))
//   HASH(2) = prf(SKEYID_a, M-ID | Ni_b | everything after HASH(2))
//   HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
//   KEYMAT  = K1 | K2 | ...,  K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
//                             Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ike/crypto/prf.h"

namespace ward::ike::crypto {

SecureBytes skeyid_preshared_key(IkeHashAlgorithm hash, Bytes preshared_key, Bytes ni_b, Bytes nr_b);

struct Phase1Keys {
  IkeHashAlgorithm hash = IkeHashAlgorithm::Sha2_256;
  SecureBytes skeyid;
  SecureBytes skeyid_d;
  SecureBytes skeyid_a;
  SecureBytes skeyid_e;
  SecureBytes encryption_key;   // SKEYID_e, expanded (appendix B) and truncated to the cipher key
};

Phase1Keys derive_phase1_keys(IkeHashAlgorithm hash, SecureBytes skeyid, Bytes g_xy, Bytes cky_i, Bytes cky_r,
                              std::size_t encryption_key_size);

std::vector<std::byte> phase1_iv(IkeHashAlgorithm hash, Bytes g_xi, Bytes g_xr, std::size_t block_size);
std::vector<std::byte> quick_mode_iv(IkeHashAlgorithm hash, Bytes last_phase1_block, std::uint32_t message_id,
                                     std::size_t block_size);

SecureBytes hash_i(IkeHashAlgorithm hash, const SecureBytes& skeyid, Bytes g_xi, Bytes g_xr, Bytes cky_i, Bytes cky_r,
                   Bytes sai_b, Bytes idii_b);
SecureBytes hash_r(IkeHashAlgorithm hash, const SecureBytes& skeyid, Bytes g_xi, Bytes g_xr, Bytes cky_i, Bytes cky_r,
                   Bytes sai_b, Bytes idir_b);

SecureBytes quick_mode_hash_1(IkeHashAlgorithm hash, const SecureBytes& skeyid_a, std::uint32_t message_id,
                              Bytes after_hash);
SecureBytes quick_mode_hash_2(IkeHashAlgorithm hash, const SecureBytes& skeyid_a, std::uint32_t message_id, Bytes ni_b,
                              Bytes after_hash);
SecureBytes quick_mode_hash_3(IkeHashAlgorithm hash, const SecureBytes& skeyid_a, std::uint32_t message_id, Bytes ni_b,
                              Bytes nr_b);

// `g_qm_xy` is the quick mode DH secret with PFS, empty without.
SecureBytes keymat(IkeHashAlgorithm hash, const SecureBytes& skeyid_d, Bytes g_qm_xy, ProtocolId protocol,
                   std::uint32_t spi, Bytes ni_b, Bytes nr_b, std::size_t size);

}  // namespace ward::ike::crypto
