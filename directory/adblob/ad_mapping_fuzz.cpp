// Fuzz target: AD objects -> policy (policy_from_ad), the step wardd and ward-dir take after every
// directory read. The input is a set of AD IPsec objects (ad_object_set.h); every ipsecPolicy in
// it is mapped with its references followed, then validated, and a policy that maps is mapped back
// to AD objects and again to a policy, which must give the same policy (what ward-dir writes must
// read back). Seeds: the Windows default policies (tests/data/ad) and policies Ward wrote.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "directory/adblob/ad_object_set.h"
#include "directory/adblob/policy_from_ad.h"
#include "directory/adblob/policy_to_ad.h"
#include "directory/model/validation.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ward;
  using namespace ward::adblob;
  const auto objects = decode_ad_object_set(std::as_bytes(std::span(data, size)));
  for (const auto& object : objects) {
    if (object.object_class != AdClass::Policy) continue;
    const auto policy = policy_from_ad(objects, object.dn);
    if (!policy) continue;
    if (!model::validate(*policy).empty()) continue;
    const auto written = policy_to_ad(*policy, "DC=fuzz,DC=example");
    if (!written) continue;
    const auto back = policy_from_ad(*written, ipsec_dn(AdClass::Policy, policy->id, "DC=fuzz,DC=example"));
    if (!back) {
      std::fprintf(stderr, "ad_mapping_fuzz: a valid policy written to AD does not read back: %s\n",
                   back.error().to_string().c_str());
      std::abort();
    }
    if (!(*back == *policy)) {
      std::fprintf(stderr, "ad_mapping_fuzz: policy '%s' reads back different from what was written\n",
                   policy->name.c_str());
      std::abort();
    }
  }
  return 0;
}
