// Fuzz target: every ipsecData decoder over the same input. Whatever decodes must re-encode to
// exactly the input (the decoders keep every byte they do not interpret), else the target aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <span>
#include <vector>

#include "directory/adblob/filter_blob.h"
#include "directory/adblob/isakmp_blob.h"
#include "directory/adblob/negotiation_blob.h"
#include "directory/adblob/nfa_blob.h"
#include "directory/adblob/policy_blob.h"
#include "directory/adblob/version_blob.h"
#include "directory/adblob/ward_extension.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

template <class Decode, class Encode>
void check(std::span<const std::byte> input, Decode decode, Encode encode, const char* kind) {
  const auto decoded = decode(input);
  if (!decoded) return;
  if constexpr (requires { decoded->trailer; }) {
    (void)ward::adblob::decode_ward_trailer(decoded->trailer, input.size() - decoded->trailer.size());
  }
  const auto again = encode(*decoded);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) {
    std::fprintf(stderr, "adblob_fuzz: %s blob of %zu bytes does not re-encode to itself\n", kind, input.size());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ward::adblob;
  const auto input = std::as_bytes(std::span<const std::uint8_t>(data, size));
  check(input, [](auto in) { return decode_policy_blob(in); }, encode_policy_blob, "policy");
  check(input, [](auto in) { return decode_isakmp_blob(in); }, encode_isakmp_blob, "ISAKMP");
  check(input, [](auto in) { return decode_nfa_blob(in); }, encode_nfa_blob, "NFA");
  check(input, [](auto in) { return decode_negotiation_blob(in); }, encode_negotiation_blob, "negotiation");
  check(input, [](auto in) { return decode_filter_blob(in); }, encode_filter_blob, "filter");
  check(input, [](auto in) { return decode_version_blob(in); }, encode_version_blob, "version");
  return 0;
}
