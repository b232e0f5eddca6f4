// Fuzz target: nTSecurityDescriptor and SID values as a directory returns them. Whatever parses
// must also survive an access check for a token made of the SIDs it names.
#include <span>

#include "directory/security/access_check.h"
#include "directory/security/security_descriptor.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  (void)ward::security::parse_sid(bytes);
  auto sd = ward::security::parse_security_descriptor(bytes);
  if (!sd) return 0;
  std::vector<ward::security::Sid> token;
  for (const auto& ace : sd->dacl) {
    token.push_back(ace.sid);
    (void)ace.sid.to_string();
    if (ace.object_type) (void)ward::security::Guid::from_string(ace.object_type->to_string());
  }
  (void)ward::security::check_access(*sd, token, ward::security::right::kReadProperty);
  (void)ward::security::check_access(*sd, token, ward::security::right::kControlAccess,
                                     ward::security::Guid::from_string(ward::security::kApplyGroupPolicyRight));
  return 0;
}
