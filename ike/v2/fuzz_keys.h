// The fixed SK suite and keys shared by ikev2_fuzz and ikev2_corpus_gen, so that seeds with an
// SK payload pass the ICV and the fuzzer reaches the inner payload chain through open_message,
// and SKF seeds pass it into the reassembler.
#pragma once

#include "ike/v2/ike_sa_init.h"
#include "ike/v2/sk.h"

namespace ward::ike::v2::fuzzing {

inline SkSuite suite() { return SkSuite{EncryptionId::AesCbc, 128, IntegrityId::HmacSha2_256_128}; }
inline SkKeys keys() {
  return SkKeys{SecureBytes(Bytes(16, std::byte{0x42})), SecureBytes(Bytes(32, std::byte{0x24}))};
}

// An IKE SA under those keys both ways (SKF seeds are sealed and reassembled with it).
inline IkeSa sa(bool initiator, const Spi& spi_i, const Spi& spi_r) {
  IkeSa s;
  s.initiator = initiator;
  s.spi_i = spi_i;
  s.spi_r = spi_r;
  s.proposal = IkeProposal{};   // AES-CBC-128/HMAC-SHA2-256-128, as suite()
  s.fragmentation = true;
  s.keys.sk_ei = s.keys.sk_er = keys().encryption;
  s.keys.sk_ai = s.keys.sk_ar = keys().integrity;
  return s;
}

}  // namespace ward::ike::v2::fuzzing
