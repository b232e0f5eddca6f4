// For tests that need this host's [certificates]: a test CA "/O=Ward/CN=Ward Root" in `dir` (openssl
// CLI through tests/harness/test_ca.h) and host 10.1.0.5's certificate from it, loaded as the
// credentials an AuthFactory takes (its CA name: "CN=Ward Root, O=Ward").
#pragma once

#include <filesystem>
#include <string>

#include "agent/ikebridge/ike_bridge.h"
#include "ike/auth/certificate_provider.h"
#include "tests/harness/test_ca.h"

namespace ward::agent::ikebridge::testing {

inline Expected<CertificateCredentialsPtr, std::string> ward_root_host_credentials(const std::filesystem::path& dir) {
  auto ca = test::make_rsa_ca(dir, "root", "/O=Ward/CN=Ward Root");
  if (!ca) return unexpected(ca.error().to_string());
  auto host = test::issue_rsa_certificate(*ca, dir, "host", "/O=Ward/CN=a.ward.test", test::RsaCertificateOptions{{"IP:10.1.0.5"}, "", "", 10, {}});
  if (!host) return unexpected(host.error().to_string());
  auto credentials = ike::auth::CertificateCredentials::load({host->certificate, host->private_key, ca->certificate});
  if (!credentials) return unexpected(std::move(credentials.error()));
  return CertificateCredentialsPtr(std::move(*credentials));
}

}  // namespace ward::agent::ikebridge::testing
