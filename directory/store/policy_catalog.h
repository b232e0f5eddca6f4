// PolicyCatalog: every IPsec policy of a domain with its rule count and whether it can be read,
// kept between refreshes so that a directory with hundreds of policies lists quickly (the
// editor's policy list).
//
// The first refresh reads every object under CN=IP Security in one paged search and maps each
// policy from the objects in memory. Later refreshes read only the objects changed since the
// newest change seen (entryCSN on OpenLDAP, uSNChanged on Active Directory: DirectoryDialect;
// exact sequence numbers, where whenChanged/modifyTimestamp have one-second resolution and a
// bulk import stamps hundreds of objects alike), and map again only the policies those objects
// belong to. The policy list itself (names, descriptions, GPO assignments: list_policies) is
// read every time, so added, renamed and deleted policies always show.
//
// A policy's objects are collected as read_policy collects them: the policy, what names it as
// owner, and what it and its rules reference; the rule count and the reason it cannot be read
// are what read_policy and policy_from_ad would give.
//
// Round trips: first refresh 2 (list_policies) + the objects' pages (500 a page); later ones
// 2 + 1. Not thread-safe (one owner). An object deleted while a policy still references it
// (which Ward's writer never leaves) is seen when that policy is read in full.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/ad_object.h"
#include "directory/ldap/session.h"
#include "directory/store/policy_store.h"
#include "directory/store/store_error.h"

namespace ward::store {

struct CatalogEntry {
  PolicySummary summary;                  // DN, name, description, id, the GPOs that assign it
  std::size_t rule_count = 0;
  std::optional<StoreError> problem;      // set: the policy cannot be read, and why
};

struct CatalogRefresh {
  bool full = false;                 // everything was read (first refresh, or after invalidate)
  std::size_t objects_read = 0;      // IPsec objects this refresh read
  std::size_t policies_mapped = 0;   // policies mapped again from their objects
  std::uint64_t round_trips = 0;
};

class PolicyCatalog {
 public:
  explicit PolicyCatalog(std::string domain_dn) : domain_dn_(std::move(domain_dn)) {}

  Expected<std::vector<CatalogEntry>, StoreError> refresh(ldap::Session& session);
  // The next refresh reads everything again (e.g. after reconnecting to another server).
  void invalidate();
  const CatalogRefresh& last_refresh() const { return last_; }

 private:
  struct Object {
    Expected<adblob::AdObject, StoreError> object;
    std::string sequence;  // its change sequence number as the server wrote it
  };
  struct Mapped {
    std::size_t rule_count = 0;
    std::optional<StoreError> problem;
    std::set<std::string> objects;  // normalized DNs it was mapped from
  };
  // Reads the objects changed since newest_ (all of them the first time); returns those whose
  // content differs from what was read before (or that are new).
  Expected<std::set<std::string>, StoreError> read_objects(ldap::Session& session, const std::string& sequence_attribute);
  void index_owners();
  Mapped map_policy(const std::string& policy_dn) const;

  std::string domain_dn_;
  std::map<std::string, Object> objects_;     // normalized DN -> as read
  std::map<std::string, Mapped> policies_;    // normalized policy DN -> its mapping
  std::map<std::string, std::vector<std::string>> owned_by_;  // normalized owner DN -> objects naming it
  std::optional<std::string> newest_;  // the newest change sequence number seen; none: read everything
  CatalogRefresh last_;
};

}  // namespace ward::store
