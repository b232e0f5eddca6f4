#include "directory/security/access_check.h"

#include <algorithm>

namespace ward::security {
namespace {

std::uint32_t mapped(std::uint32_t mask) {
  if ((mask & right::kGenericAll) != 0) mask |= right::kAllDirectoryRights;
  if ((mask & right::kGenericRead) != 0) mask |= right::kGenericReadMapped;
  return mask & ~(right::kGenericAll | right::kGenericRead);
}

}  // namespace

AccessResult check_access(const SecurityDescriptor& sd, const std::vector<Sid>& token, std::uint32_t desired,
                          const std::optional<Guid>& extended_right) {
  AccessResult result;
  if (!sd.dacl_present) {
    result.granted = true;
    return result;
  }
  std::uint32_t remaining = desired;
  for (std::size_t i = 0; i < sd.dacl.size(); ++i) {
    const Ace& ace = sd.dacl[i];
    if (!ace.understood || (ace.flags & ace_flag::kInheritOnly) != 0) continue;
    if (std::find(token.begin(), token.end(), ace.sid) == token.end()) continue;
    const bool callback_allow =
        ace.type == ace_type::kAccessAllowedCallback || ace.type == ace_type::kAccessAllowedCallbackObject;
    if (callback_allow) continue;
    // An object ACE naming an object type speaks of that extended right (or property) only.
    if (ace.is_object() && ace.object_type && (!extended_right || *ace.object_type != *extended_right)) continue;
    const std::uint32_t bits = mapped(ace.mask) & remaining;
    if (bits == 0) continue;
    if (ace.is_deny()) {
      result.ace_index = i;
      result.sid = ace.sid;
      result.denied_by_ace = true;
      return result;
    }
    remaining &= ~bits;
    if (remaining == 0) {
      result.granted = true;
      result.ace_index = i;
      result.sid = ace.sid;
      return result;
    }
  }
  return result;
}

}  // namespace ward::security
