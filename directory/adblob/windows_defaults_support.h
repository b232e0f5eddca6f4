// Test helper: the 22 Windows-made default IP Security objects of
// tests/data/ad/windows-default-ipsec.ldif as AdObjects, ready for policy_from_ad(), and the DN
// of one of them by its RDN. The three policies: ipsecPolicy{72385230-...} "Client (Respond
// Only)", {72385236-...} "Server (Request Security)", {7238523C-...} "Secure Server (Require
// Security)" (all -70FA-11D1-864C-14A300000000).
#pragma once

#include <string>
#include <vector>

#include "directory/adblob/ad_object.h"
#include "directory/adblob/ldif_test_support.h"
#include "directory/model/test_support.h"

namespace ward::adblob::testing {

inline constexpr const char* kSecureServerPolicy = "ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}";
inline constexpr const char* kServerPolicy = "ipsecPolicy{72385236-70FA-11D1-864C-14A300000000}";
inline constexpr const char* kClientPolicy = "ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}";

inline std::vector<AdObject> load_windows_defaults() {
  return ad_objects_of(model::testing::source_dir() + "/tests/data/ad/windows-default-ipsec.ldif");
}

inline std::string windows_dn(const char* rdn) { return std::string("CN=") + rdn + ",CN=IP Security,CN=System,DC=samba,DC=example,DC=com"; }

}  // namespace ward::adblob::testing
