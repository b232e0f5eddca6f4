// Policy results for one computer — Windows' Resultant Set of Policy for IPsec: the computer and
// its site (and how the site was found), the chain of scopes of management (site, domain, OUs)
// with their links in order, enforced links and blocked inheritance, GPO security filtering, the
// IPsec policy that wins and, for every other GPO, why it did not. One implementation for wardd's
// directory source, `ward-dir scope` and the editor's Policy Results window, so that all three
// give the same answer for the same computer.
//
// "What if" modelling: the same for the computer placed in another container (OU or domain)
// and/or another site; security filtering keeps the computer's own groups.
//
// Round trips: the computer (1; by DN or by sAMAccountName), the root DSE (once per session),
// the subnets when the site must come from the host's addresses (1), then read_computer_scope
// (reader.h: 2-3, plus the token and names for security filtering on Active Directory).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "directory/gpo/gpo_error.h"
#include "directory/gpo/reader.h"
#include "directory/gpo/scope.h"
#include "directory/ldap/session.h"

namespace ward::gpo {

struct ResultsQuery {
  std::string domain_dn;         // DC=example,DC=com
  std::string computer_dn;       // the computer object, or empty to find it by its account:
  std::string computer_account;  // sAMAccountName ("PC1$"; a missing '$' is added)
  // The site to use as is (wardd's [directory] site, a modelled site). Otherwise the computer's
  // msDS-SiteName, else the subnet that holds one of `addresses` (as the DC locator would).
  std::optional<std::string> site_dn;
  std::string site_given_as = "configured";  // how site_dn is described ("configured", "modelled")
  std::vector<IpAddress> addresses;
  std::string addresses_from;  // for the report, e.g. "address given"; empty: the host's own
  // When neither site_dn, the computer's msDS-SiteName nor `addresses` give the site: the
  // addresses of the computer's dNSHostName (for the editor, which does not run on that host).
  // Called only then, and only when the computer has a dNSHostName.
  std::function<std::vector<IpAddress>(const std::string& dns_host_name)> resolve;
  // Modelling: scope the computer as if its object were in this container.
  std::optional<std::string> placement_dn;
};

struct SiteResult {
  std::string dn;    // empty: no site
  std::string from;  // "configured", "msDS-SiteName", "subnet 10.20.1.0/24 (address 10.20.1.10)", ...
};

// A scope of management in processing order.
struct SomResult {
  std::string dn;
  SomKind kind = SomKind::kOrganizationalUnit;
  bool block_inheritance = false;
  std::size_t links = 0;
};

// One link of a GPO in the chain, applied or not, and why.
struct GpoResult {
  std::string name;  // displayName (empty when the GPO could not be read)
  std::string dn;
  std::string som_dn;
  SomKind som_kind = SomKind::kOrganizationalUnit;
  std::size_t link_order = 0;  // 1 = the strongest link of its SOM (Windows' "Link Order")
  bool enforced = false;
  bool link_enabled = true;
  bool applied = false;
  std::size_t precedence = 0;  // applied: 1 = processed last (strongest); 0 when not applied
  std::optional<std::string> ipsec_policy_dn;  // what the GPO assigns, when it was read
  bool wins = false;           // its IPsec policy is the one that applies
  // Not applied: why (link disabled, blocked by inheritance, security filtering ...). Applied:
  // what became of its IPsec assignment ("its IPsec policy wins", "assigns no IPsec policy",
  // "its IPsec policy is overridden by GPO X (precedence 1)").
  std::string note;
};

struct PolicyResults {
  std::string directory;    // "Active Directory", "OpenLDAP"
  std::string computer_dn;  // the computer object
  std::string container_dn; // where it was scoped (its parent, or the modelled placement)
  bool modelled = false;    // placement or site given for "what if"
  std::string account;      // as security filtering saw it ("WARD\\PC1$"); empty without it
  bool security_filtering = false;
  SiteResult site;
  std::vector<SomResult> soms;  // site first, then the domain and OUs parent -> child
  std::vector<GpoResult> gpos;  // applied, lowest precedence first; then those not applied
  std::optional<IpsecAssignment> winner;
  ComputerScope scope;          // the raw scoping (its input is what was read)
  std::uint64_t round_trips = 0;
};

// What failed, and at which step ("finding computer ...", "reading the subnets of the sites",
// "scoping the GPOs of ..."): callers tell transport failures from bad content by `error`.
struct ResultsError {
  std::string step;
  GpoError error;
  std::string to_string() const { return step + ": " + error.to_string(); }
};

Expected<PolicyResults, ResultsError> read_policy_results(ldap::Session& session, const ResultsQuery& query);

// The results as the notes of the GPO list (lowest precedence first, then those not applied);
// exposed for tests of the wording.
std::vector<GpoResult> describe_gpos(const ComputerScope& scope);

std::string_view som_kind_name(SomKind kind);  // "site", "domain", "OU"

}  // namespace ward::gpo
