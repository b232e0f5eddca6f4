// LdapPolicyStore: the editor's policies in the directory (CN=IP Security,CN=System,<domain>),
// through directory/store over one ldap::Session, plus the Group Policy administration the
// editor offers there (create GPOs, assign a policy to a GPO, link and unlink GPOs).
//
// list() names, for each policy, the GPOs that assign it and the containers (domain, OUs, sites
// in the domain's subtree) whose gPLink names those GPOs. The rule counts and readability come
// from a store::PolicyCatalog kept with the session: the first list() reads every IPsec object
// (one paged search), later ones only the objects changed since (entryCSN / uSNChanged), so a
// refresh is four round trips (policies, assignments, changed objects, gPLinks) however many
// policies there are (gui/bench/RESULTS.md).
//
// The bind password is used by connect() only; the store keeps the session, never credentials.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "directory/ldap/session.h"
#include "directory/store/policy_catalog.h"
#include "gui/policy_store.h"

namespace ward::gui {

class LdapPolicyStore final : public PolicyStore, public GroupPolicyAdmin {
 public:
  // Blocks on the network: call it off the UI thread.
  static Expected<std::unique_ptr<LdapPolicyStore>, StoreError> connect(const ldap::SessionOptions& options,
                                                                         std::string domain_dn);
  LdapPolicyStore(std::unique_ptr<ldap::Session> session, std::string domain_dn);
  ~LdapPolicyStore() override;

  QString location() const override;
  Expected<std::vector<PolicySummary>, StoreError> list() override;
  Expected<model::Policy, StoreError> load(const model::Guid& id) override;
  std::optional<StoreError> save(const model::Policy& policy) override;
  std::optional<StoreError> remove(const model::Guid& id) override;
  GroupPolicyAdmin* group_policy() override { return this; }

  Expected<std::vector<GpoSummary>, StoreError> list_gpos() override;
  Expected<QStringList, StoreError> list_containers() override;
  Expected<QString, StoreError> create_gpo(const QString& display_name) override;
  std::optional<StoreError> assign(const QString& gpo_dn, const model::Guid& policy) override;
  std::optional<StoreError> unassign(const QString& gpo_dn) override;
  std::optional<StoreError> link(const QString& container_dn, const QString& gpo_dn) override;
  std::optional<StoreError> unlink(const QString& container_dn, const QString& gpo_dn) override;

  const std::string& domain_dn() const { return domain_dn_; }
  ldap::Session& session() { return *session_; }

 private:
  // normalized GPO DN -> the containers linking it, from every gPLink under the domain.
  Expected<std::map<std::string, QStringList>, StoreError> read_links();
  // The DN of the policy with this id (listing the policies when it is not known yet).
  Expected<std::string, StoreError> dn_of(const model::Guid& id);

  std::unique_ptr<ldap::Session> session_;
  std::string domain_dn_;
  store::PolicyCatalog catalog_;
  std::map<model::Guid, std::string> dns_;  // policy id -> DN, from list() and save()
};

}  // namespace ward::gui
