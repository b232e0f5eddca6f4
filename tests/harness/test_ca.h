// A throwaway certificate authority and server certificates for TLS tests (openssl CLI, P-256).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/expected.h"
#include "tests/harness/process.h"

namespace ward::test {

struct TestCa {
  std::filesystem::path certificate;  // PEM
  std::filesystem::path private_key;  // PEM
};

struct TestCertificate {
  std::filesystem::path certificate;
  std::filesystem::path private_key;
};

// Creates `<dir>/<name>-ca.crt` and its key: a self-signed CA valid for one day.
Expected<TestCa, HarnessError> make_test_ca(const std::filesystem::path& dir, const std::string& name);

// Issues `<dir>/<name>.crt` for CN=`common_name` with the given subjectAltName entries
// (e.g. "DNS:localhost", "IP:127.0.0.1"), signed by `ca`.
Expected<TestCertificate, HarnessError> issue_server_certificate(const TestCa& ca, const std::filesystem::path& dir,
                                                                 const std::string& name,
                                                                 const std::string& common_name,
                                                                 const std::vector<std::string>& subject_alt_names);

// Issues `<dir>/<name>.crt` for CN=`common_name` with extendedKeyUsage clientAuth, signed by `ca`.
Expected<TestCertificate, HarnessError> issue_client_certificate(const TestCa& ca, const std::filesystem::path& dir,
                                                                 const std::string& name,
                                                                 const std::string& common_name);

}  // namespace ward::test
