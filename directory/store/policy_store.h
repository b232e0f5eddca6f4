// Reads and writes whole IPsec policies (the ipsecPolicy and the objects it references) in
// CN=IP Security,CN=System,<domain> over a ward::ldap::Session.
//
// Round trips: read_policy uses two one-level searches under CN=IP Security: (1) the policy
// and every object owned by it (its ISAKMP object and NFAs carry ipsecOwnersReference = policy
// DN), (2) the filters and negotiation policies the NFAs reference (plus any ISAKMP/NFA that
// lacked the owner back-reference) by an OR of their CNs.
//
// Writes never leave a half policy referenced from anywhere: write_policy adds the children
// first (filters, negotiation policies, ISAKMP, NFAs) and the ipsecPolicy that references them
// last; when an add fails, everything added so far is deleted again (newest first).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/ldap/session.h"
#include "directory/model/policy.h"
#include "directory/store/store_error.h"

namespace ward::store {

struct StoredPolicy {
  model::Policy policy;
  std::vector<adblob::AdObject> objects;  // as read, the policy object first
};

// Reads the policy at `policy_dn` and maps it to the model (not validated).
Expected<StoredPolicy, StoreError> read_policy(ldap::Session& session, std::string_view policy_dn);

// The DN `policy` has (or will have) under `domain_dn`.
std::string policy_dn(const model::Policy& policy, std::string_view domain_dn);

// Adds a new policy; fails if any of its objects exists already (and then adds nothing).
// Returns the policy's DN.
Expected<std::string, StoreError> write_policy(ldap::Session& session, std::string_view domain_dn,
                                               const model::Policy& policy);

// Brings the stored policy with the same id to `policy`: adds new objects, replaces changed
// attributes (children before the policy object) and deletes objects no longer referenced.
Expected<void, StoreError> update_policy(ldap::Session& session, std::string_view domain_dn,
                                         const model::Policy& policy);

// A GPO assignment of a policy: CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,<GPO>.
struct PolicyAssignment {
  std::string assignment_dn;
  std::string gpo_dn;
  std::string gpo_display_name;
};

// Deletes the policy and its objects. Refused while a GPO assigns it, unless `force`: then the
// assignment objects are removed first.
Expected<void, StoreError> delete_policy(ldap::Session& session, std::string_view domain_dn,
                                         std::string_view policy_dn, bool force);

struct PolicySummary {
  std::string dn;
  std::string name;
  std::string description;
  std::string id;
  std::vector<PolicyAssignment> assigned_by;
};

// Every ipsecPolicy in CN=IP Security with the GPOs that assign it (two round trips).
Expected<std::vector<PolicySummary>, StoreError> list_policies(ldap::Session& session, std::string_view domain_dn);

// The GPO assignments (CN=IPSEC objects under CN=Policies,CN=System) that point at `policy_dn`.
Expected<std::vector<PolicyAssignment>, StoreError> find_assignments(ldap::Session& session,
                                                                     std::string_view domain_dn,
                                                                     std::string_view policy_dn);

// "CN=Policies,CN=System,<domain>"
std::string policies_container(std::string_view domain_dn);

// Children first, the ipsecPolicy last: the order in which a policy's objects can be added
// without anything referencing an object that does not exist yet (filters, negotiation
// policies, ISAKMP, NFAs, policy).
std::vector<adblob::AdObject> creation_order(std::vector<adblob::AdObject> objects);

// Maps an LdapError to a StoreError naming `dn`.
StoreError from_ldap(const ldap::LdapError& error, std::string_view dn, std::string_view attribute = {});

}  // namespace ward::store
