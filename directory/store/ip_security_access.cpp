#include "directory/store/ip_security_access.h"

#include "directory/adblob/ad_object.h"
#include "directory/store/directory_dialect.h"
#include "directory/store/policy_store.h"
#include "directory/store/security_descriptor.h"

namespace ward::store {

namespace {

constexpr std::string_view kSecurityDescriptor = "nTSecurityDescriptor";
constexpr std::uint32_t kDomainComputersRid = 515;

std::vector<std::byte> bytes_of(const std::string& text) {
  std::vector<std::byte> out;
  out.reserve(text.size());
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

Expected<Sid, StoreError> domain_computers(ldap::Session& session, std::string_view domain_dn) {
  auto entries = session.search({std::string(domain_dn), ldap::Scope::kBase, "(objectClass=*)", {"objectSid"}, 0});
  if (!entries) return unexpected(from_ldap(entries.error(), domain_dn, "objectSid"));
  const auto sid = entries->empty() ? std::nullopt : entries->front().first("objectSid");
  if (!sid) return unexpected(StoreError{std::string(domain_dn), "objectSid", "missing: not an Active Directory domain?"});
  auto parsed = decode_sid(bytes_of(*sid));
  if (!parsed) return unexpected(StoreError{std::string(domain_dn), "objectSid", parsed.error().to_string()});
  parsed->sub_authorities.push_back(kDomainComputersRid);
  return *parsed;
}

}  // namespace

Expected<GrantResult, StoreError> grant_ip_security_read(ldap::Session& session, std::string_view domain_dn,
                                                         ReadGrantee grantee) {
  GrantResult result;
  result.container_dn = adblob::ip_security_container(domain_dn);
  auto dialect = DirectoryDialect::detect(session);
  if (!dialect) return unexpected(dialect.error());
  if (dialect->kind() != ldap::DirectoryKind::kActiveDirectory) {
    return unexpected(StoreError{result.container_dn, {},
                                 "this is OpenLDAP: read access is slapd's olcAccess, which installer/bootstrap-directory "
                                 "sets (hosts read CN=IP Security there already)"});
  }
  Sid trustee = *Sid::parse("S-1-5-11");
  if (grantee == ReadGrantee::kDomainComputers) {
    auto sid = domain_computers(session, domain_dn);
    if (!sid) return unexpected(sid.error());
    trustee = *sid;
  }
  result.trustee_sid = trustee.to_string();

  const std::vector<ldap::RequestControl> dacl_only{{kSdFlagsControlOid, sd_flags_dacl_only(), true}};
  auto entries = session.search({result.container_dn, ldap::Scope::kBase, "(objectClass=*)",
                                 {std::string(kSecurityDescriptor)}, 0},
                                dacl_only);
  if (!entries) return unexpected(from_ldap(entries.error(), result.container_dn, kSecurityDescriptor));
  const auto raw = entries->empty() ? std::nullopt : entries->front().first(kSecurityDescriptor);
  if (!raw) {
    return unexpected(StoreError{result.container_dn, std::string(kSecurityDescriptor),
                                 "not readable (the bind needs the right to read this container's permissions)"});
  }
  auto sd = decode_security_descriptor(bytes_of(*raw));
  if (!sd) return unexpected(StoreError{result.container_dn, std::string(kSecurityDescriptor), sd.error().to_string()});
  if (!sd->dacl) sd->dacl = Dacl{};
  if (!grant(*sd->dacl, ace::kGenericReadDs, trustee, ace::kContainerInherit)) return result;
  const auto encoded = encode_security_descriptor(*sd);
  std::string value(reinterpret_cast<const char*>(encoded.data()), encoded.size());
  if (auto written = session.modify(result.container_dn,
                                    {{ldap::Modification::Op::kReplace, std::string(kSecurityDescriptor), {value}}},
                                    dacl_only);
      !written) {
    return unexpected(from_ldap(written.error(), result.container_dn, kSecurityDescriptor));
  }
  result.changed = true;
  return result;
}

}  // namespace ward::store
