// Read access for computers to the IPsec policies: what Windows 2000 domains had and newer
// domains (and Samba) lack. By default Authenticated Users may list CN=IP Security's children but
// not read their attributes, so a host's agent finds no policy (AD even drops entries whose
// filtered attributes it may not read). One inheritable ACE on CN=IP Security,CN=System fixes it:
// (A;CI;RPLCLORC;;;AU), or for Domain Computers (<domain SID>-515) only.
//
// Active Directory only: on OpenLDAP read access is slapd's olcAccess, which
// installer/bootstrap-directory sets; asked there, this says so.
#pragma once

#include <string>
#include <string_view>

#include "common/expected.h"
#include "directory/ldap/session.h"
#include "directory/store/store_error.h"

namespace ward::store {

enum class ReadGrantee { kAuthenticatedUsers, kDomainComputers };

struct GrantResult {
  std::string container_dn;  // CN=IP Security,CN=System,<domain>
  std::string trustee_sid;   // e.g. "S-1-5-11"
  bool changed = false;      // false: the ACE was there already
};

Expected<GrantResult, StoreError> grant_ip_security_read(ldap::Session& session, std::string_view domain_dn,
                                                         ReadGrantee grantee);

}  // namespace ward::store
