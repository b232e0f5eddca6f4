// Where wardd gets its policy from: the local file source (local_file_source.h) or the directory
// (directory_source.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/cache/cache.h"
#include "common/expected.h"
#include "directory/model/policy.h"
#include "directory/model/validation.h"

namespace ward::agent::daemon {

// How the directory decided this host's policy, for `wardctl show policy`: the directory's kind,
// the site and how it was found, and each GPO in scope with whether it applied and why not.
struct GpoReport {
  std::string name;
  std::string dn;
  std::string som_dn;  // where it is linked
  bool applied = false;
  std::string note;    // why it did not apply ("security filtering denies ..."); empty when it did

  friend bool operator==(const GpoReport&, const GpoReport&) = default;
};
struct ScopeReport {
  std::string directory;    // "Active Directory", "OpenLDAP"; empty for a local file
  std::string computer_dn;
  std::string account;      // the computer as security filtering saw it (AD), e.g. WARD\PC1$
  std::string site_dn;      // empty: no site
  std::string site_from;    // "configured", "msDS-SiteName", "subnet 10.20.1.0/24"
  std::vector<GpoReport> gpos;  // lowest precedence first, then those not applied
  std::uint64_t round_trips = 0;  // LDAP round trips of the fetch

  friend bool operator==(const ScopeReport&, const ScopeReport&) = default;
};

struct FetchedPolicy {
  model::Policy policy;     // parsed, not yet validated
  cache::PolicySource source;
  ScopeReport report;
};

struct FetchError {
  enum class Kind : std::uint8_t {
    Unavailable,  // could not be read / reached: the directory is down, the file is missing
    Invalid,      // read, but it is not a policy: `problems` says why
    NotAssigned,  // the directory answered: no IPsec policy is assigned to this host (enforce none)
  };
  Kind kind = Kind::Unavailable;
  std::string message;
  std::vector<model::Problem> problems;
  ScopeReport report;  // NotAssigned: which GPOs were in scope and why none assigned a policy
};

class PolicySource {
 public:
  virtual ~PolicySource() = default;
  virtual Expected<FetchedPolicy, FetchError> fetch() = 0;
  virtual std::string describe() const = 0;  // for logs and events, e.g. "file /etc/ward/local-policy.json"
};

}  // namespace ward::agent::daemon
