// GPO scoping for a computer ([MS-GPOL] processing order) and the IPsec assignment that wins
// ([MS-GPIPSEC] 3.2.5.3): pure logic over already-fetched directory data.
//
// Order (lowest precedence first, the last one wins): site, domain, then OUs from the top
// down to the computer's own OU; within one SOM, the links in gPLink string order (the last
// link in the string is link order 1, the strongest). A SOM with gPOptions "block
// inheritance" drops the non-enforced links of every SOM above it (the site included).
// Enforced links come after all non-enforced ones and cannot be blocked; among them the
// higher SOM wins (enforced site > enforced domain > enforced parent OU > enforced child OU).
// Disabled links and GPOs whose computer settings are disabled contribute nothing. The
// winner for IPsec is the last applied GPO that carries an IPSEC assignment object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "directory/gpo/gplink.h"
#include "directory/gpo/gpo_error.h"

namespace ward::gpo {

enum class SomKind { kSite, kDomain, kOrganizationalUnit };

// A scope of management: a site, the domain, or an OU, with its parsed links.
struct Som {
  std::string dn;
  SomKind kind = SomKind::kOrganizationalUnit;
  std::vector<GpLink> links;  // gPLink string order
  bool block_inheritance = false;
};

// Builds a Som from raw attribute values (absent attributes as nullopt).
Expected<Som, GpoError> make_som(std::string dn, SomKind kind, const std::optional<std::string>& gplink,
                                 const std::optional<std::string>& gpoptions);

// A group policy container as read from the directory.
struct GpoObject {
  std::string dn;
  std::string display_name;
  std::uint32_t flags = 0;
  // ipsecOwnersReference of CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,<GPO DN>, if present.
  std::optional<std::string> ipsec_policy_dn;
  // Set when GPO security filtering ([MS-GPOL] 3.2.5.1.6) leaves this GPO out for the computer:
  // why, e.g. "security filtering denies Apply Group Policy to WARD\PC1$ via group WARD\X".
  std::optional<std::string> filtered_out;
};

struct ScopeInput {
  std::optional<Som> site;
  std::vector<Som> domain_and_ous;  // the domain first, then OUs parent -> child
  std::vector<GpoObject> gpos;      // every GPO that might be linked (matched by DN, case-insensitive)
};

struct AppliedGpo {
  std::string gpo_dn;  // as written in the gPLink
  std::string display_name;
  std::string som_dn;  // where the link came from
  bool enforced = false;
  std::optional<std::string> ipsec_policy_dn;
};

enum class SkipReason { kLinkDisabled, kBlockedByInheritance, kComputerSettingsDisabled, kGpoNotFound, kSecurityFiltering };
const char* skip_reason_name(SkipReason reason);

struct SkippedLink {
  std::string gpo_dn;
  std::string som_dn;
  SkipReason reason;
  std::string display_name;  // when the GPO was found
  std::string detail;        // kSecurityFiltering, kBlockedByInheritance: the explanation
};

struct ScopeResult {
  std::vector<AppliedGpo> applied;  // lowest precedence first; the last one wins
  std::vector<SkippedLink> skipped;
};

ScopeResult compute_scope(const ScopeInput& input);

struct IpsecAssignment {
  std::string policy_dn;         // the ipsecPolicy the winning GPO assigns
  std::string gpo_dn;
  std::string gpo_display_name;
  std::string som_dn;            // the site, domain or OU the winning link came from
};

// The highest-precedence applied GPO with an IPsec assignment, if any.
std::optional<IpsecAssignment> pick_ipsec_winner(const ScopeResult& scope);

}  // namespace ward::gpo
