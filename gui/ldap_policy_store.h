// LdapPolicyStore: the editor's policies in the directory (CN=IP Security,CN=System,<domain>),
// through directory/store over one ldap::Session, plus the Group Policy administration the
// editor offers there (create GPOs, assign and unassign a policy, link and unlink GPOs, enforce a
// link, block inheritance) and policy results (directory/gpo/policy_results.h).
//
// list() names, for each policy, the GPOs that assign it and the containers (domain, OUs, sites
// in the domain's subtree) whose gPLink names those GPOs. The rule counts and readability come
// from a store::PolicyCatalog kept with the session: the first list() reads every IPsec object
// (one paged search), later ones only the objects changed since (entryCSN / uSNChanged), so a
// refresh is four round trips (policies, assignments, changed objects, gPLinks) however many
// policies there are (gui/bench/RESULTS.md).
//
// Active Directory keeps half of a GPO on SYSVOL (store/sysvol.h): GPO creation, assignment and
// unassignment reach it through the SysVol folder given at connect time, or else over SMB to the
// DC with the Kerberos credentials of the bind (the user's ticket, or the keytab); a password
// bind without a SysVol folder gets an error saying so before anything is written. The SMB
// connection is made on first use and kept.
//
// Thread-safe: every call holds the store's lock (the main window and the Policy Results window
// each make their calls from worker threads over the one session).
//
// The bind password is used by connect() only; the store keeps the session, never credentials.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "directory/ldap/session.h"
#include "directory/store/policy_catalog.h"
#include "directory/store/sysvol.h"
#include "gui/policy_store.h"

namespace ward::gui {

// How the store reaches SYSVOL on Active Directory (unused on OpenLDAP).
struct SysvolAccess {
  std::string local_path;  // not empty: this folder is the SysVol share (on the DC, or mounted)
  std::optional<store::SmbCredentials> kerberos;  // else SMB with these (from a GSSAPI bind)
};

class LdapPolicyStore final : public PolicyStore, public GroupPolicyAdmin {
 public:
  // Blocks on the network: call it off the UI thread. `sysvol_path`: see SysvolAccess.
  static Expected<std::unique_ptr<LdapPolicyStore>, StoreError> connect(const ldap::SessionOptions& options,
                                                                         std::string domain_dn,
                                                                         std::string sysvol_path = {});
  LdapPolicyStore(std::unique_ptr<ldap::Session> session, std::string domain_dn, SysvolAccess sysvol = {});
  ~LdapPolicyStore() override;

  QString location() const override;
  Expected<std::vector<PolicySummary>, StoreError> list() override;
  Expected<model::Policy, StoreError> load(const model::Guid& id) override;
  std::optional<StoreError> save(const model::Policy& policy) override;
  std::optional<StoreError> remove(const model::Guid& id) override;
  GroupPolicyAdmin* group_policy() override { return this; }

  Expected<std::vector<GpoSummary>, StoreError> list_gpos() override;
  Expected<std::vector<ContainerSummary>, StoreError> list_containers() override;
  Expected<QString, StoreError> create_gpo(const QString& display_name) override;
  std::optional<StoreError> assign(const QString& gpo_dn, const model::Guid& policy) override;
  std::optional<StoreError> unassign(const QString& gpo_dn) override;
  std::optional<StoreError> link(const QString& container_dn, const QString& gpo_dn) override;
  std::optional<StoreError> unlink(const QString& container_dn, const QString& gpo_dn) override;
  std::optional<StoreError> set_link_options(const GpoLink& link, const QString& gpo_dn) override;
  std::optional<StoreError> set_block_inheritance(const QString& container_dn, bool block) override;
  Expected<std::vector<DirectoryNode>, StoreError> list_tree() override;
  Expected<ComputerResults, StoreError> policy_results(const ResultsRequest& request) override;

  const std::string& domain_dn() const { return domain_dn_; }
  ldap::Session& session() { return *session_; }
  const store::CatalogRefresh& last_refresh() const { return catalog_.last_refresh(); }

 private:
  // normalized GPO DN -> its links, from every gPLink under the domain and in the sites.
  Expected<std::map<std::string, std::vector<GpoLink>>, StoreError> read_links();
  // The DN of the policy with this id (listing the policies when it is not known yet).
  Expected<std::string, StoreError> dn_of(const model::Guid& id);
  // SYSVOL for GPO writes: nullptr on OpenLDAP (no SYSVOL); an error when AD's cannot be reached.
  Expected<store::Sysvol*, StoreError> sysvol(const QString& doing);
  std::string sites_container();  // CN=Sites,<configuration naming context>

  std::recursive_mutex mutex_;  // recursive: assign() lists the policies through dn_of()
  std::unique_ptr<ldap::Session> session_;
  std::string domain_dn_;
  SysvolAccess sysvol_access_;
  std::unique_ptr<store::Sysvol> sysvol_;
  store::PolicyCatalog catalog_;
  std::map<model::Guid, std::string> dns_;  // policy id -> DN, from list() and save()
};

}  // namespace ward::gui
