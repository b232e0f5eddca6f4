// Fuzz target: what ward-dir reads back from Active Directory and SYSVOL besides IPsec blobs -
// nTSecurityDescriptor (and SIDs), GPT.INI, gPCFileSysPath. Whatever decodes must re-encode and
// decode to the same value; a Version written into any GPT.INI text must read back.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "directory/store/security_descriptor.h"
#include "directory/store/sysvol.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

[[noreturn]] void fail(const char* what, std::size_t size) {
  std::fprintf(stderr, "store_fuzz: %s (input of %zu bytes)\n", what, size);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ward::store;
  const auto input = std::as_bytes(std::span<const std::uint8_t>(data, size));
  if (auto sd = decode_security_descriptor(input)) {
    auto again = decode_security_descriptor(encode_security_descriptor(*sd));
    if (!again || !(*again == *sd)) fail("security descriptor does not survive re-encoding", size);
    if (sd->dacl) {
      (void)grant(*sd->dacl, ace::kGenericReadDs, *Sid::parse("S-1-5-11"), ace::kContainerInherit);
      if (!decode_security_descriptor(encode_security_descriptor(*sd))) fail("granted descriptor does not decode", size);
    }
  }
  if (auto sid = decode_sid(input)) {
    auto again = decode_sid(sid->encode());
    if (!again || !(*again == *sid)) fail("SID does not survive re-encoding", size);
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)gpt_version(text);
  if (gpt_version(with_gpt_version(text, 4242)) != 4242u) fail("GPT.INI version not read back", size);
  (void)UncPath::parse(text);
  return 0;
}
