// The Legal scenario's directory (schemas/examples/legal.ldif: DC=example,DC=test, OUs Legal,
// Sales and Lab, GPOs "Legal IPsec" and "Domain IPsec") on a SlapdInstance, with SASL/GSSAPI
// mapping a host principal to the computer whose dNSHostName it names, as AD does.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tests/harness/kdc_instance.h"
#include "tests/harness/slapd_instance.h"

namespace ward::test {

inline constexpr const char* kLegalRealm = "EXAMPLE.TEST";
inline constexpr const char* kLegalDomainDn = "DC=example,DC=test";

// Adds the scenario's principals to `kdc`: ldap/localhost, whose keytab is returned
// (<kdc dir>/ldap.keytab), and host/<name>.example.test for each of `hosts`, whose keytab is
// legal_host_keytab(kdc, name).
Expected<std::filesystem::path, HarnessError> add_legal_principals(KdcInstance& kdc, const std::vector<std::string>& hosts);
std::filesystem::path legal_host_keytab(const KdcInstance& kdc, const std::string& host);

// `service_keytab` holds ldap/localhost@EXAMPLE.TEST; `krb5_config` is the test realm's.
SlapdOptions legal_scenario_slapd_options(const std::filesystem::path& source_dir,
                                          const std::filesystem::path& service_keytab,
                                          const std::filesystem::path& krb5_config);

}  // namespace ward::test
