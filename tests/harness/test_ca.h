// Throwaway certificate authorities for tests (openssl CLI): P-256 CAs and server/client
// certificates for TLS; RSA-2048 root and intermediate CAs with an `openssl ca` database for IKE
// (certificates with chosen validity, revocation, CRLs).
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
  // RSA CAs only: the `openssl ca` configuration whose database records what the CA issued.
  std::filesystem::path database_config;
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

// ---- RSA-2048 CAs with a database (IKE certificate authentication) ------------------------------

// A self-signed RSA-2048 root CA `<dir>/<name>-ca.crt` with subject `subject` in openssl's slash
// form ("/O=Ward/CN=Ward Root"), valid from a day ago for ten days.
Expected<TestCa, HarnessError> make_rsa_ca(const std::filesystem::path& dir, const std::string& name,
                                           const std::string& subject);

// An RSA-2048 intermediate CA `<dir>/<name>-ca.crt`, signed by `issuer` (an RSA CA).
Expected<TestCa, HarnessError> make_rsa_intermediate_ca(const TestCa& issuer, const std::filesystem::path& dir,
                                                        const std::string& name, const std::string& subject);

struct RsaCertificateOptions {
  std::vector<std::string> subject_alt_names;  // e.g. "IP:10.0.0.2", "DNS:b.ward.test"
  // Validity in openssl's form YYYYMMDDHHMMSSZ; empty: from a day ago for `days`.
  std::string not_before, not_after;
  int days = 10;
  // An existing private key to certify (a host renewing its certificate); empty: a new RSA-2048 key.
  std::filesystem::path key;
};

// An RSA-2048 end-entity certificate `<dir>/<name>.crt` (key `<dir>/<name>.key`, mode 0600, or
// `options.key`) for
// `subject` (slash form), keyUsage digitalSignature, signed by the RSA CA `ca`.
Expected<TestCertificate, HarnessError> issue_rsa_certificate(const TestCa& ca, const std::filesystem::path& dir,
                                                              const std::string& name, const std::string& subject,
                                                              const RsaCertificateOptions& options);

// An ECDSA private key `<dir>/<name>.key` (mode 0600) on `curve` ("P-256", "P-384", "P-521"), to
// certify with RsaCertificateOptions::key (an RSA CA then issues an ECDSA host certificate).
Expected<std::filesystem::path, HarnessError> make_ec_key(const std::filesystem::path& dir, const std::string& name,
                                                          const std::string& curve);

// Marks `certificate` revoked in `ca`'s database; make_crl then lists it.
Expected<void, HarnessError> revoke_certificate(const TestCa& ca, const TestCertificate& certificate);

// `<dir>/<name>.crl` (PEM): `ca`'s CRL with what it has revoked so far, valid for a day.
Expected<std::filesystem::path, HarnessError> make_crl(const TestCa& ca, const std::filesystem::path& dir,
                                                       const std::string& name);

}  // namespace ward::test
