#include "directory/store/directory_dialect.h"

#include <algorithm>
#include <cctype>

#include "directory/store/policy_store.h"

namespace ward::store {

namespace {

constexpr std::string_view kAuxClass = "wardGroupPolicyLinks";

}  // namespace

Expected<DirectoryDialect, StoreError> DirectoryDialect::detect(ldap::Session& session) {
  auto root = ldap::read_root_dse(session);
  if (!root) return unexpected(from_ldap(root.error(), "(root DSE)"));
  return DirectoryDialect(std::move(*root));
}

std::string DirectoryDialect::change_sequence_attribute() const {
  switch (root_.kind) {
    case ldap::DirectoryKind::kActiveDirectory: return "uSNChanged";
    case ldap::DirectoryKind::kOpenLdap: return "entryCSN";
  }
  return "entryCSN";
}

std::vector<ldap::Modification> DirectoryDialect::som_class_changes(const ldap::Entry& som) const {
  switch (root_.kind) {
    case ldap::DirectoryKind::kActiveDirectory: return {};
    case ldap::DirectoryKind::kOpenLdap:
      if (som.has_object_class(kAuxClass) || som.has_object_class("site")) return {};
      return {{ldap::Modification::Op::kAdd, "objectClass", {std::string(kAuxClass)}}};
  }
  return {};
}

}  // namespace ward::store
