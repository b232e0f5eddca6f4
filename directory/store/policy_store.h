// Reads and writes whole IPsec policies (the ipsecPolicy and the objects it references) in
// CN=IP Security,CN=System,<domain> over a ward::ldap::Session.
//
// Round trips: read_policy uses two one-level searches under CN=IP Security: (1) the policy
// and every object owned by it (its ISAKMP object and NFAs carry ipsecOwnersReference = policy
// DN), (2) the filters and negotiation policies the NFAs reference (plus any ISAKMP/NFA that
// lacked the owner back-reference) by an OR of their CNs.
//
// Writes follow [MS-GPIPSEC]'s order (objects first, references by modify; policy_writer.h), which
// Active Directory's reference checks need, and never leave a half policy: a write that fails
// midway is undone. Updates change only what the edit changed (adblob/object_merge.h): a policy
// Windows wrote keeps every byte the edit did not touch.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/ldap/session.h"
#include "directory/model/policy.h"
#include "directory/store/policy_writer.h"
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

// Adds a new policy; fails if any of its objects exists already (and then leaves nothing).
// Returns the policy's DN. `options` only for tests (injected failures).
Expected<std::string, StoreError> write_policy(ldap::Session& session, std::string_view domain_dn,
                                               const model::Policy& policy, const WriteOptions& options = {});

struct UpdateResult {
  std::size_t writes = 0;  // LDAP adds, modifies and deletes done
  bool rewritten_whole = false;  // the merge did not read back right: Ward's own form was written
};

// Brings the stored policy with the same id to `policy`: the edit merged into the objects read
// (only what changed is written), new objects added, objects no longer referenced deleted (or,
// when another policy's rule owns them too, left with that policy's owners only).
Expected<UpdateResult, StoreError> update_policy(ldap::Session& session, std::string_view domain_dn,
                                                 const model::Policy& policy, const WriteOptions& options = {});

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

// Children first, the ipsecPolicy last (filters, negotiation policies, ISAKMP, NFAs, policy): the
// order of generated LDIF (store/ldif.h), which slapadd loads without reference checks. Writes
// over LDAP use policy_writer.h's order instead.
std::vector<adblob::AdObject> creation_order(std::vector<adblob::AdObject> objects);

// Maps an LdapError to a StoreError naming `dn`.
StoreError from_ldap(const ldap::LdapError& error, std::string_view dn, std::string_view attribute = {});

}  // namespace ward::store
