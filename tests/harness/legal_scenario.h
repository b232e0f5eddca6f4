// The Legal scenario's directory (schemas/examples/legal.ldif: DC=example,DC=test, OUs Legal,
// Sales and Lab, GPOs "Legal IPsec" and "Domain IPsec") on a SlapdInstance, with SASL/GSSAPI
// mapping a host principal to the computer whose dNSHostName it names, as AD does.
#pragma once

#include <filesystem>
#include <string>

#include "tests/harness/slapd_instance.h"

namespace ward::test {

inline constexpr const char* kLegalRealm = "EXAMPLE.TEST";
inline constexpr const char* kLegalDomainDn = "DC=example,DC=test";

// `service_keytab` holds ldap/localhost@EXAMPLE.TEST; `krb5_config` is the test realm's.
SlapdOptions legal_scenario_slapd_options(const std::filesystem::path& source_dir,
                                          const std::filesystem::path& service_keytab,
                                          const std::filesystem::path& krb5_config);

}  // namespace ward::test
