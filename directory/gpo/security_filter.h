// GPO security filtering ([MS-GPOL] 3.2.5.1.6) for one computer on Active Directory: a GPO in
// scope applies only if the computer's token is granted Read and the "Apply Group Policy"
// extended right by the GPO's nTSecurityDescriptor (read with the SD flags control, DACL only).
//
// The token is what the DC says of the computer: its objectSid, its tokenGroups (every group,
// nested and primary, as AD computes it at logon), Everyone and Authenticated Users.
//
// OpenLDAP (Ward's layout) has no security descriptors or tokenGroups: there is no security
// filtering and every GPO in scope applies; slapd's ACLs decide what a host may read at all.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "directory/gpo/gpo_error.h"
#include "directory/ldap/session.h"
#include "directory/security/security_descriptor.h"

namespace ward::gpo {

struct ComputerToken {
  std::string account;                 // "WARD\\PC1$" (the domain's first DC label, upper case)
  std::vector<security::Sid> sids;     // the computer's own SID first
};

// One base search of the computer for objectSid, sAMAccountName and tokenGroups (AD builds
// tokenGroups only for base searches). Errors name the computer and attribute.
Expected<ComputerToken, GpoError> read_computer_token(ldap::Session& session, const std::string& computer_dn);

// Why security filtering leaves the GPO out for `token`, or nullopt when it applies.
// `descriptor` is the GPO's nTSecurityDescriptor value (none: the computer may not read it,
// which Windows treats as denied). `names` maps SID text to account names for the explanation
// (SIDs missing there are shown as SIDs). A descriptor that does not parse is an error naming
// the GPO and offset (it is directory data gone wrong, not a denial).
Expected<std::optional<std::string>, GpoError> security_filter(const std::string& gpo_dn,
                                                               const std::optional<std::string>& descriptor,
                                                               const ComputerToken& token,
                                                               const std::map<std::string, std::string>& names);

// The SIDs whose names an explanation of `security_filter` needs (the deciding ACE's), so that
// a caller can look them up in one search before explaining.
std::vector<security::Sid> deciding_sids(const std::optional<std::string>& descriptor, const ComputerToken& token);

// Names ("WARD\\Legal Deny") of `sids` that belong to the domain or are well known, in one
// search (none when `sids` is empty). SIDs not found are left out.
std::map<std::string, std::string> sid_names(ldap::Session& session, const std::string& domain_dn,
                                             const std::vector<security::Sid>& sids);

}  // namespace ward::gpo
