// Group Policy administration in the directory: create GPOs, link them to the domain, OUs or
// sites (gPLink), block inheritance (gPOptions), and assign an IPsec policy to a GPO the way
// Windows does (CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,<GPO> of class ipsecPolicy whose
// ipsecOwnersReference names the policy; the IPsec client-side extension in
// gPCMachineExtensionNames; the computer half of versionNumber bumped).
#pragma once

#include <string>
#include <string_view>

#include "common/expected.h"
#include "directory/ldap/session.h"
#include "directory/store/store_error.h"
#include "directory/store/sysvol.h"

namespace ward::store {

// The IP Security client-side extension and its snap-in (tool) extension ([MS-GPIPSEC] 1.9).
inline constexpr std::string_view kIpsecCseGuid = "{E437BC1C-AA7D-11D2-A382-00C04F991E27}";
inline constexpr std::string_view kIpsecToolGuid = "{DEA8AFA0-CC85-11D0-9CE2-0080C7221EBD}";

// Creates CN={GUID},CN=Policies,CN=System,<domain> (with CN=Machine and CN=User below it) and
// returns its DN. Refuses a display name another GPO already has. On Active Directory also the
// GPO's folder on SYSVOL with GPT.INI (`sysvol` is required there; unused on OpenLDAP); a step
// that fails undoes the earlier ones.
Expected<std::string, StoreError> create_gpo(ldap::Session& session, std::string_view domain_dn,
                                             std::string_view display_name, Sysvol* sysvol = nullptr);

// The GPO DN whose displayName is `name` (exactly one), or `name` itself when it is a DN.
Expected<std::string, StoreError> resolve_gpo(ldap::Session& session, std::string_view domain_dn,
                                              std::string_view name);

struct LinkOptions {
  bool enforced = false;
  bool disabled = false;
};

// Adds (or updates the options of) the link to `gpo_dn` in `container_dn`'s gPLink. A new link
// gets the lowest precedence (it goes first in the string), as the Windows tools do. On
// OpenLDAP the container gets the wardGroupPolicyLinks auxiliary class when it needs it
// (directory_dialect.h); AD's domain, OU and site objects carry gPLink natively.
Expected<void, StoreError> link_gpo(ldap::Session& session, std::string_view container_dn, std::string_view gpo_dn,
                                    LinkOptions options);
Expected<void, StoreError> unlink_gpo(ldap::Session& session, std::string_view container_dn, std::string_view gpo_dn);
Expected<void, StoreError> set_block_inheritance(ldap::Session& session, std::string_view container_dn, bool block);

// Assigns `policy_dn` (an existing ipsecPolicy) to the GPO; replaces an earlier assignment. The
// assignment object carries the policy's ipsecName and description ([MS-GPIPSEC] 3.1.5.8); the
// GPO's computer version goes up by one, on AD in GPT.INI too (`sysvol` required there).
Expected<void, StoreError> assign_policy(ldap::Session& session, std::string_view gpo_dn, std::string_view policy_dn,
                                         Sysvol* sysvol = nullptr);
// Removes the GPO's IPsec assignment (nothing to do when there is none) and raises its version.
Expected<void, StoreError> unassign_policy(ldap::Session& session, std::string_view gpo_dn, Sysvol* sysvol = nullptr);

// "CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,<GPO DN>"
std::string assignment_dn(std::string_view gpo_dn);

// gPCMachineExtensionNames with the [{CSE}{tool}] pair added (groups sorted by CSE GUID).
std::string add_extension_pair(std::string_view names, std::string_view cse, std::string_view tool);

}  // namespace ward::store
