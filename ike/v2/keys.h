// The IKEv2 key schedule (RFC 7296 2.13, 2.14, 2.17, 2.18, 2.15):
//
//   prf+ (K,S) = T1 | T2 | T3 | ...,  T1 = prf (K, S | 0x01),  Tn = prf (K, Tn-1 | S | n)
//   SKEYSEED   = prf(Ni | Nr, g^ir)
//   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
//   KEYMAT     = prf+(SK_d, [g^ir (new) |] Ni | Nr)        child SA: ESP i->r keys, then r->i
//   SKEYSEED'  = prf(SK_d (old), g^ir (new) | Ni | Nr)     IKE SA rekey
//   PSK AUTH   = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
//   SignedOctets = RealMessage | NonceOfPeer | prf(SK_px, RestOfIDPayload)
//
// Checked against the NIST SP 800-135 IKEv2 KDF (CAVS) vectors in keys_test.cpp and against
// charon in tests/interop.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "driver/crypto/secure_bytes.h"
#include "ike/v2/constants.h"

namespace ward::ike::v2 {

using driver::crypto::SecureBytes;
using ByteSpan = std::span<const std::byte>;
using Bytes = std::vector<std::byte>;

bool is_supported_prf(PrfId prf) noexcept;
std::size_t prf_size(PrfId prf) noexcept;   // output = preferred key size: 20, 32, 48

SecureBytes prf(PrfId prf, ByteSpan key, std::initializer_list<ByteSpan> data);
// Fails beyond 255 iterations (RFC 7296 2.13).
Expected<SecureBytes, std::string> prf_plus(PrfId prf, ByteSpan key, ByteSpan seed, std::size_t size);

SecureBytes skeyseed(PrfId prf, ByteSpan ni, ByteSpan nr, ByteSpan g_ir);
SecureBytes skeyseed_rekey(PrfId prf, ByteSpan sk_d_old, ByteSpan g_ir_new, ByteSpan ni, ByteSpan nr);

struct IkeSaKeys {
  SecureBytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};
// integrity_size 0 for an AEAD; encryption_size includes GCM's salt.
Expected<IkeSaKeys, std::string> derive_ike_sa_keys(PrfId prf, const SecureBytes& skeyseed, ByteSpan ni, ByteSpan nr,
                                                    ByteSpan spi_i, ByteSpan spi_r, std::size_t integrity_size,
                                                    std::size_t encryption_size);

// KEYMAT for a child SA; g_ir_new empty without PFS.
Expected<SecureBytes, std::string> child_keymat(PrfId prf, const SecureBytes& sk_d, ByteSpan g_ir_new, ByteSpan ni,
                                                ByteSpan nr, std::size_t size);

// The AUTH payload's data for a shared key (2.15). `real_message` is the sender's IKE_SA_INIT
// message, `peer_nonce` the other side's nonce, `sk_p` the sender's SK_pi or SK_pr, `id_body`
// its ID payload after the generic header.
SecureBytes psk_auth(PrfId prf, ByteSpan shared_secret, ByteSpan real_message, ByteSpan peer_nonce, const SecureBytes& sk_p,
                     ByteSpan id_body);
// The same in two steps: the padded key prf(Shared Secret, "Key Pad for IKEv2") is all the AUTH
// needs of the secret, so a process that holds the key (wardd) can hand out just that (it is
// PresharedKeyProvider::skeyid with kKeyPadForIkev2 as Ni_b and nothing as Nr_b).
SecureBytes psk_pad(PrfId prf, ByteSpan shared_secret);
// InitiatorSignedOctets / ResponderSignedOctets (2.15): RealMessage | NonceOfPeer |
// prf(SK_px, RestOfIDPayload); what a shared key MACs and a certificate's key signs.
Bytes signed_octets(PrfId prf, ByteSpan real_message, ByteSpan peer_nonce, const SecureBytes& sk_p, ByteSpan id_body);
SecureBytes psk_auth_padded(PrfId prf, const SecureBytes& padded_key, ByteSpan real_message, ByteSpan peer_nonce,
                            const SecureBytes& sk_p, ByteSpan id_body);

}  // namespace ward::ike::v2
