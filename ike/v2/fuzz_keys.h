// The fixed SK suite and keys shared by ikev2_fuzz and ikev2_corpus_gen, so that seeds with an
// SK payload pass the ICV and the fuzzer reaches the inner payload chain through open_message.
#pragma once

#include "ike/v2/sk.h"

namespace ward::ike::v2::fuzzing {

inline SkSuite suite() { return SkSuite{EncryptionId::AesCbc, 128, IntegrityId::HmacSha2_256_128}; }
inline SkKeys keys() {
  return SkKeys{SecureBytes(Bytes(16, std::byte{0x42})), SecureBytes(Bytes(32, std::byte{0x24}))};
}

}  // namespace ward::ike::v2::fuzzing
