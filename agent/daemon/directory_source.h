// The policy of a domain member: read from the LDAP directory as Windows' policy agent reads it.
//
// One fetch, on the connection kept from the last one and shared with the change watch (a new one
// when there is none or it broke; Session::connect walks the URIs from the one after the server
// that failed: failover). Each fetch also records what the host's policy depends on
// (refresh_scope.h), so that the watch refreshes only for changes that can affect it:
//   bind      SASL/GSSAPI with the host keytab (or a simple bind, labs), StartTLS when tls_ca is
//             set; then the root DSE, which says OpenLDAP or Active Directory (new connections only)
//   computer  the computer object (computer_dn, or found by its sAMAccountName) and its site
//             (msDS-SiteName, unless [directory] site is set) (1 round trip)
//   site      with neither: the subnet objects, the most specific one holding a host address (1)
//   scope     directory/gpo read_computer_scope: SOMs, the site, the GPO containers (2-3); on AD
//             also the computer's token and each GPO's security descriptor (security filtering, +1)
//             (computer, site and scope are directory/gpo/policy_results.h, which ward-dir scope
//             and the editor's Policy Results use too: one answer for the same computer)
//   policy    directory/store read_policy of the winning GPO's assignment (2)
//   stamp     the largest modifyTimestamp of every object read (policy graph, GPO, its IPSEC
//             assignment, the SOMs) in one search (1)
// The round trips of each fetch are counted by the session and logged (event directory-fetch).
//
// Results: the policy with its source (policy DN, GPO DN and name, SOM DN, change stamp); no
// assignment in scope -> FetchError::NotAssigned; a server that cannot be reached or fails
// mid-read -> Unavailable (the cache is used); directory content that cannot be scoped or decoded
// -> Invalid, naming the DN and attribute.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/config/config.h"
#include "agent/daemon/log.h"
#include "agent/daemon/policy_source.h"
#include "agent/daemon/refresh_scope.h"
#include "common/ip.h"
#include "directory/gpo/policy_results.h"
#include "directory/ldap/root_dse.h"
#include "directory/ldap/session.h"
#include "directory/ldap/shared_session.h"

namespace ward::agent::daemon {

struct DirectorySourceSettings {
  ldap::SessionOptions session;
  std::string domain_dn;        // DC=example,DC=com (from the realm)
  std::string computer_dn;      // set, or found by computer_account at each fetch
  std::string computer_account; // sAMAccountName
  std::optional<std::string> site_dn;  // [directory] site; otherwise the computer's msDS-SiteName
  // The host's addresses, for the site from subnets (default: host_addresses()).
  std::function<std::vector<IpAddress>()> host_addresses;
  // The connection, shared with the change watch (null: the source makes its own from `session`).
  std::shared_ptr<ldap::SharedSession> shared_session;
};

// "EXAMPLE.COM" -> "DC=example,DC=com"
std::string domain_dn_of_realm(std::string_view realm);

// Builds the settings from ward.conf; reads the simple-bind password file (which must belong to
// the user running wardd and be unreadable by group and others). Errors name the file.
Expected<DirectorySourceSettings, std::string> directory_source_settings(const config::DirectorySettings& directory);

// Whether an LDAP error text ("... failed (result N): ...") says the server could not be used
// (down, timed out, busy, unavailable) rather than that the content is wrong.
bool is_transport_failure(std::string_view error_text);

class DirectorySource final : public PolicySource {
 public:
  DirectorySource(DirectorySourceSettings settings, Logger& log);
  Expected<FetchedPolicy, FetchError> fetch() override;
  std::string describe() const override { return description_; }

  // LDAP round trips of the last fetch (connect and bind included), 0 before the first.
  std::uint64_t last_round_trips() const { return last_round_trips_.load(); }
  // The connection this source fetches on (and a change watch may share).
  const std::shared_ptr<ldap::SharedSession>& shared_session() const { return shared_; }
  // Whether a change of the entry `dn` can affect what the next fetch returns (refresh_scope.h),
  // as the last fetch found; true for everything before a fetch scoped the host. Thread-safe.
  bool affected_by(std::string_view dn) const;
  // What affected_by() decides from (a copy). Thread-safe.
  RefreshScope scope() const;

 private:
  Expected<FetchedPolicy, FetchError> fetch_on(ldap::Session& session, ScopeReport& report, RefreshScope& depends);
  // What a change must touch to affect the next fetch (refresh_scope.h), from what `results` read.
  void record_dependencies(ldap::Session& session, const gpo::PolicyResults& results, RefreshScope& depends) const;

  DirectorySourceSettings settings_;
  std::shared_ptr<ldap::SharedSession> shared_;  // kept between fetches; fetch() is not called concurrently
  mutable std::mutex scope_mutex_;
  RefreshScope depends_ = RefreshScope::everything();
  Logger& log_;
  std::string description_;
  std::atomic<std::uint64_t> last_round_trips_{0};
  std::uint64_t failover_reported_for_ = 0;  // the session whose skipped URIs were logged (fetch only)
};

}  // namespace ward::agent::daemon
