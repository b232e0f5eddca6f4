// The access check Windows makes of a security descriptor's DACL for one token ([MS-DTYP]
// 2.5.3.2, AccessCheck with an object type for extended rights): ACEs in DACL order (Windows
// writes deny ACEs first; the order is what counts), inherit-only ACEs skipped, an ACE applies when
// its SID is in the token; an object ACE with an object type applies only to that extended
// right; the first deny of a still-wanted bit denies; access is granted once allow ACEs cover
// every wanted bit. No DACL grants everything; an empty DACL grants nothing. Callback deny ACEs
// (conditions this check cannot evaluate) count as deny, callback allow ACEs do not count, as
// [MS-DTYP] 2.4.4.17.8 says for unknown conditions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "directory/security/security_descriptor.h"

namespace ward::security {

namespace right {
inline constexpr std::uint32_t kListChildren = 0x00000004;   // ADS_RIGHT_ACTRL_DS_LIST
inline constexpr std::uint32_t kReadProperty = 0x00000010;   // ADS_RIGHT_DS_READ_PROP
inline constexpr std::uint32_t kControlAccess = 0x00000100;  // ADS_RIGHT_DS_CONTROL_ACCESS (extended rights)
inline constexpr std::uint32_t kReadControl = 0x00020000;
inline constexpr std::uint32_t kGenericAll = 0x10000000;
inline constexpr std::uint32_t kGenericRead = 0x80000000;
// GENERIC_READ as AD maps it for directory objects: READ_CONTROL | LIST | READ_PROP | LIST_OBJECT.
inline constexpr std::uint32_t kGenericReadMapped = 0x00020094;
inline constexpr std::uint32_t kAllDirectoryRights = 0x000f01ff;
}  // namespace right

// The "Apply Group Policy" extended right ([MS-ADTS] 5.1.3.2.1).
inline constexpr const char* kApplyGroupPolicyRight = "edacfd8f-ffb3-11d1-b41d-00a0c968f939";

// Well-known SIDs every computer token carries, as Windows builds one for Group Policy.
inline constexpr const char* kEveryone = "S-1-1-0";
inline constexpr const char* kAuthenticatedUsers = "S-1-5-11";

struct AccessResult {
  bool granted = false;
  // The ACE that decided (the deny, or the allow that completed the grant); none when no DACL
  // (granted) or when no ACE grants everything (denied).
  std::optional<std::size_t> ace_index;
  std::optional<Sid> sid;  // that ACE's SID
  bool denied_by_ace = false;
};

// Whether `token` (the account's SID and its groups) is granted every bit of `desired` on the
// object `sd` protects; with `extended_right`, for that extended right (desired = kControlAccess).
AccessResult check_access(const SecurityDescriptor& sd, const std::vector<Sid>& token, std::uint32_t desired,
                          const std::optional<Guid>& extended_right = std::nullopt);

}  // namespace ward::security
