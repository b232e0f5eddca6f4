#include "tests/harness/test_ca.h"

namespace ward::test {
namespace {
constexpr const char* kOpenssl = "/usr/bin/openssl";
constexpr const char* kValidityDays = "2";
}  // namespace

Expected<TestCa, HarnessError> make_test_ca(const std::filesystem::path& dir, const std::string& name) {
  TestCa ca{dir / (name + "-ca.crt"), dir / (name + "-ca.key")};
  auto made = run_command({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                           "-keyout", ca.private_key.string(), "-out", ca.certificate.string(), "-days",
                           kValidityDays, "-subj", "/CN=Ward test CA " + name, "-addext",
                           "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
                          {}, dir / "openssl.log");
  if (!made) return unexpected(made.error());
  return ca;
}

namespace {

Expected<TestCertificate, HarnessError> issue_certificate(const TestCa& ca, const std::filesystem::path& dir,
                                                          const std::string& name, const std::string& common_name,
                                                          const std::vector<std::string>& subject_alt_names,
                                                          const std::string& extended_key_usage) {
  TestCertificate cert{dir / (name + ".crt"), dir / (name + ".key")};
  const auto csr = dir / (name + ".csr");
  const auto ext = dir / (name + ".ext");
  std::string sans;
  for (const auto& san : subject_alt_names) sans += (sans.empty() ? "" : ",") + san;
  std::string ext_text = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                         "extendedKeyUsage=" + extended_key_usage + "\n";
  if (!sans.empty()) ext_text += "subjectAltName=" + sans + "\n";
  if (auto w = write_file(ext, ext_text); !w) return unexpected(w.error());
  const auto log = dir / "openssl.log";
  auto req = run_command({kOpenssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", cert.private_key.string(), "-out", csr.string(), "-subj", "/CN=" + common_name},
                         {}, log);
  if (!req) return unexpected(req.error());
  auto sign = run_command({kOpenssl, "x509", "-req", "-in", csr.string(), "-CA", ca.certificate.string(), "-CAkey",
                           ca.private_key.string(), "-CAcreateserial", "-out", cert.certificate.string(), "-days",
                           kValidityDays, "-extfile", ext.string()},
                          {}, log);
  if (!sign) return unexpected(sign.error());
  return cert;
}

}  // namespace

Expected<TestCertificate, HarnessError> issue_server_certificate(const TestCa& ca, const std::filesystem::path& dir,
                                                                 const std::string& name,
                                                                 const std::string& common_name,
                                                                 const std::vector<std::string>& subject_alt_names) {
  return issue_certificate(ca, dir, name, common_name, subject_alt_names, "serverAuth");
}

Expected<TestCertificate, HarnessError> issue_client_certificate(const TestCa& ca, const std::filesystem::path& dir,
                                                                 const std::string& name,
                                                                 const std::string& common_name) {
  return issue_certificate(ca, dir, name, common_name, {}, "clientAuth");
}

}  // namespace ward::test
