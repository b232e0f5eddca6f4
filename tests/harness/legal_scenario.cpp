#include "tests/harness/legal_scenario.h"

namespace ward::test {

Expected<std::filesystem::path, HarnessError> add_legal_principals(KdcInstance& kdc, const std::vector<std::string>& hosts) {
  const auto service_keytab = kdc.dir() / "ldap.keytab";
  if (auto added = kdc.add_principal("ldap/localhost"); !added) return unexpected(added.error());
  if (auto extracted = kdc.extract_keytab("ldap/localhost", service_keytab); !extracted) return unexpected(extracted.error());
  for (const auto& host : hosts) {
    const std::string principal = "host/" + host + ".example.test";
    if (auto added = kdc.add_principal(principal); !added) return unexpected(added.error());
    if (auto extracted = kdc.extract_keytab(principal, legal_host_keytab(kdc, host)); !extracted) {
      return unexpected(extracted.error());
    }
  }
  return service_keytab;
}

std::filesystem::path legal_host_keytab(const KdcInstance& kdc, const std::string& host) {
  return kdc.dir() / (host + ".keytab");
}

SlapdOptions legal_scenario_slapd_options(const std::filesystem::path& source_dir,
                                          const std::filesystem::path& service_keytab,
                                          const std::filesystem::path& krb5_config) {
  SlapdOptions options;
  options.suffix = "dc=example,dc=test";
  options.root_dn = "cn=admin,dc=example,dc=test";
  options.create_suffix_entry = false;
  options.extra_schemas = {source_dir / "schemas/openldap/ward-ad-ipsec.ldif"};
  options.initial_ldif = {source_dir / "schemas/examples/legal.ldif"};
  SlapdSaslSettings sasl;
  sasl.sasl_host = "localhost";
  sasl.realm = kLegalRealm;
  sasl.keytab = service_keytab;
  sasl.krb5_config = krb5_config;
  sasl.authz_regexps = {{"^uid=host/([^,]+)(,cn=example\\.test)?,cn=gssapi,cn=auth$",
                         "ldap:///dc=example,dc=test??sub?(dNSHostName=$1)"}};
  options.sasl = sasl;
  return options;
}

}  // namespace ward::test
