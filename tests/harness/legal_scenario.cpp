#include "tests/harness/legal_scenario.h"

namespace ward::test {

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
