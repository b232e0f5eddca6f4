// The computer's Active Directory site when nothing names it: as Windows' DC locator does from
// the subnet objects, CN=<prefix>,CN=Subnets,CN=Sites,<configuration NC>: the most specific
// subnet that contains one of the host's addresses names the site (its siteObject). Samba gives
// computers no msDS-SiteName, so without this site-linked GPOs would never apply there.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "directory/gpo/gpo_error.h"
#include "directory/ldap/session.h"

namespace ward::gpo {

struct SubnetSite {
  IpPrefix subnet;
  std::string subnet_dn;
  std::string site_dn;  // siteObject
};

// The most specific subnet holding one of `addresses` (a longer prefix wins; on a tie, the
// earlier address, then the subnet listed first). Subnets of the other family never match.
std::optional<SubnetSite> pick_site(const std::vector<SubnetSite>& subnets, const std::vector<IpAddress>& addresses);

// Every subnet object with a siteObject under CN=Subnets,CN=Sites,<configuration_dn>, in one
// one-level search. A subnet whose name is not a prefix is skipped (AD would not take it); no
// Subnets container gives none.
Expected<std::vector<SubnetSite>, GpoError> read_subnets(ldap::Session& session, const std::string& configuration_dn);

}  // namespace ward::gpo
