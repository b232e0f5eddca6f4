// gPLink, gPOptions and GPO flags: the attributes that link GPOs to sites, domains and OUs
// ([MS-GPOL] 2.2.2; flag values as in Samba's gpo.h, see reference/gpipsec.md 2.4).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/gpo/gpo_error.h"

namespace ward::gpo {

inline constexpr const char* kGpLinkAttribute = "gPLink";
inline constexpr const char* kGpOptionsAttribute = "gPOptions";
inline constexpr const char* kGpoFlagsAttribute = "flags";

// gPLink link options (decimal in the string).
inline constexpr std::uint32_t kLinkOptionDisabled = 1;  // GPO_LINK_OPT_DISABLED
inline constexpr std::uint32_t kLinkOptionEnforced = 2;  // GPO_LINK_OPT_ENFORCED ("No Override")
// gPOptions on a site, domain or OU.
inline constexpr std::uint32_t kGpOptionsBlockInheritance = 1;  // GPOPTIONS_BLOCK_INHERITANCE
// GPO "flags".
inline constexpr std::uint32_t kGpoFlagUserSettingsDisabled = 1;      // GPFLAGS_USER_SETTINGS_DISABLED
inline constexpr std::uint32_t kGpoFlagComputerSettingsDisabled = 2;  // GPFLAGS_MACHINE_SETTINGS_DISABLED

struct GpLink {
  std::string gpo_dn;
  std::uint32_t options = 0;
  bool disabled() const { return (options & kLinkOptionDisabled) != 0; }
  bool enforced() const { return (options & kLinkOptionEnforced) != 0; }
};

// Parses `[LDAP://<GPO DN>;<options>]...` into links in string order, which is lowest
// precedence first: the last link in the string has link order 1. An empty or all-space
// value (AD leaves " " after the last link is removed) has no links. Errors name `som_dn`,
// the attribute and the character offset.
Expected<std::vector<GpLink>, GpoError> parse_gplink(std::string_view value, std::string_view som_dn);

// gPOptions: a decimal integer; true when inheritance is blocked. Absent means 0.
Expected<bool, GpoError> parse_gpoptions(std::string_view value, std::string_view som_dn);

// A GPO's "flags": a decimal integer (absent means 0).
Expected<std::uint32_t, GpoError> parse_gpo_flags(std::string_view value, std::string_view gpo_dn);

}  // namespace ward::gpo
