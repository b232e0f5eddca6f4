// Reads what GPO scoping needs for one computer from the directory, through an LDAP Session,
// and computes which IPsec policy applies to it.
//
// Round trips (each counted by the session):
//   1. the computer, its OU ancestors and the domain object in ONE subtree search from the
//      domain: (|(&(objectClass=computer)(cn=<cn>))(ou=<each OU name>)(dc=<domain label>)),
//      matched to the exact DNs on the client (same-named objects elsewhere are ignored);
//   2. the site's gPLink, when a site DN is given (sites live in the configuration NC);
//   3. per container holding linked GPOs (normally one, CN=Policies,CN=System,<domain>):
//      the linked GPOs' flags and displayName together with every CN=IPSEC assignment object
//      below that container, in one subtree search.
// With security filtering (Active Directory), the GPO search also returns each GPO's
// nTSecurityDescriptor (DACL only, SD flags control) and two searches may be added: the
// computer's token (objectSid, tokenGroups; always) and the names of the groups that denied a
// GPO (only when one did).
// find_computer_by_account adds one round trip for the sAMAccountName lookup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "directory/gpo/gpo_error.h"
#include "directory/gpo/scope.h"
#include "directory/gpo/security_filter.h"
#include "directory/ldap/session.h"

namespace ward::gpo {

struct ScopeOptions {
  std::optional<std::string> site_dn;  // the site whose links apply first
  // Evaluate GPO security filtering (ldap::DirectoryTraits::security_filtering: AD only).
  bool security_filtering = false;
  // "What if" modelling: scope the computer as if its object were in this container (an OU or
  // the domain, of the computer's domain) instead of where it is. Security filtering still uses
  // the computer's own token (its account and groups do not change when it moves).
  std::optional<std::string> placement_dn;
};

struct ComputerScope {
  std::string computer_dn;
  std::string container_dn;  // where it was scoped: its parent, or ScopeOptions::placement_dn
  std::optional<ComputerToken> token;  // when security filtering was evaluated
  ScopeInput input;        // what was read
  ScopeResult scope;       // ordered applied GPOs and skipped links
  std::optional<IpsecAssignment> winner;
  std::uint64_t round_trips = 0;  // LDAP exchanges this read used
};

// The DN of the computer whose sAMAccountName is `account` ("PC1$"; a missing trailing '$'
// is added) under `domain_dn`. Exactly one match is required.
Expected<std::string, GpoError> find_computer_by_account(ldap::Session& session, std::string_view domain_dn,
                                                         std::string_view account);

// Reads the scope of `computer_dn` (and of `site_dn`, if given) and picks the IPsec winner.
Expected<ComputerScope, GpoError> read_computer_scope(ldap::Session& session, std::string_view computer_dn,
                                                      const std::optional<std::string>& site_dn);
Expected<ComputerScope, GpoError> read_computer_scope(ldap::Session& session, std::string_view computer_dn,
                                                      const ScopeOptions& options);

// RFC 4515 escaping of a value for use inside a search filter.
std::string escape_filter_value(std::string_view value);
// The value of an RDN ("OU=A\,B" -> "A,B"), with RFC 4514 escapes undone.
std::string rdn_value(std::string_view rdn);

}  // namespace ward::gpo
