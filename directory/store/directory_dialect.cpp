#include "directory/store/directory_dialect.h"

#include <algorithm>
#include <cctype>

#include "directory/store/policy_store.h"

namespace ward::store {

namespace {

constexpr std::string_view kAuxClass = "wardGroupPolicyLinks";

bool has_class(const ldap::Entry& entry, std::string_view wanted) {
  const auto* classes = entry.values("objectClass");
  if (classes == nullptr) return false;
  return std::any_of(classes->begin(), classes->end(), [&](const std::string& c) {
    return std::equal(c.begin(), c.end(), wanted.begin(), wanted.end(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
  });
}

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
      if (has_class(som, kAuxClass) || has_class(som, "site")) return {};
      return {{ldap::Modification::Op::kAdd, "objectClass", {std::string(kAuxClass)}}};
  }
  return {};
}

}  // namespace ward::store
