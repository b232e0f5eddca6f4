// DirectoryDialect: everything Ward's writers do differently on OpenLDAP (Ward's schema) and on
// Active Directory, decided in this one place from the root DSE (ldap/root_dse.h), never by
// configuration and never by `if`s in callers.
//
//                         OpenLDAP (Ward's schema)                 Active Directory
//   gPLink / gPOptions    on the auxiliary class wardGroupPolicyLinks  native on domainDNS,
//                         (added to a domain or OU on first use)       organizationalUnit, site
//   a GPO's files         none (no SYSVOL)                          the GPT on SYSVOL: folder,
//                                                                   GPT.INI kept in step with
//                                                                   versionNumber (sysvol.h)
//   read access to        olcAccess, set by installer/bootstrap-    an inheritable ACE on
//   CN=IP Security        directory                                 CN=IP Security (ip_security_access.h)
//   what changed since    entryCSN (a change sequence number:       uSNChanged (the DC's update
//   a given point         time to the microsecond and a counter)    sequence number, an integer)
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "directory/ldap/entry.h"
#include "directory/ldap/root_dse.h"
#include "directory/ldap/session.h"
#include "directory/store/store_error.h"

namespace ward::store {

class DirectoryDialect {
 public:
  // Reads the root DSE (one round trip).
  static Expected<DirectoryDialect, StoreError> detect(ldap::Session& session);
  explicit DirectoryDialect(ldap::RootDse root) : root_(std::move(root)) {}

  ldap::DirectoryKind kind() const { return root_.kind; }
  const ldap::RootDse& root_dse() const { return root_; }

  // What `som` (read with its objectClass) needs before it can carry gPLink/gPOptions.
  std::vector<ldap::Modification> som_class_changes(const ldap::Entry& som) const;
  // Whether a GPO has a file-system half on SYSVOL that must exist and follow versionNumber.
  bool gpos_have_sysvol() const { return root_.kind == ldap::DirectoryKind::kActiveDirectory; }
  // The DC that holds the SYSVOL share Ward writes to: the one answering LDAP.
  const std::string& sysvol_host() const { return root_.dns_host_name; }
  // The attribute whose value grows with every change of an object and that a search filter
  // can compare with >=. Exact, unlike whenChanged/modifyTimestamp (one-second resolution: a
  // bulk import gives hundreds of objects the same value). AD's is per DC: compare values from
  // one server only.
  std::string change_sequence_attribute() const;

 private:
  ldap::RootDse root_;
};

}  // namespace ward::store
