#include "tests/harness/test_ca.h"

#include <filesystem>

namespace ward::test {
namespace {
constexpr const char* kOpenssl = "/usr/bin/openssl";
constexpr const char* kValidityDays = "2";
}  // namespace

Expected<TestCa, HarnessError> make_test_ca(const std::filesystem::path& dir, const std::string& name) {
  TestCa ca{dir / (name + "-ca.crt"), dir / (name + "-ca.key"), {}};
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

// ---- RSA CAs with an `openssl ca` database -----------------------------------------------------

namespace {

constexpr const char* kRsaKey = "rsa:2048";
constexpr const char* kRsaCaDays = "10";
constexpr const char* kCrlDays = "1";

// The CA's database next to its certificate: index, serial, CRL number, and a config that names
// them. Any subject is accepted and kept as requested (policy all-optional, -preserveDN).
Expected<std::filesystem::path, HarnessError> make_database(const TestCa& ca, const std::filesystem::path& dir,
                                                            const std::string& name) {
  const auto base = dir / (name + "-ca");
  const auto config = dir / (name + "-ca.cnf");
  const auto new_certs = dir / (name + "-ca-issued");
  std::error_code ec;
  std::filesystem::create_directories(new_certs, ec);
  if (ec) return unexpected(HarnessError{"create " + new_certs.string(), ec.message()});
  for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
           {base.string() + ".index", ""},
           {base.string() + ".index.attr", "unique_subject = no\n"},
           {base.string() + ".serial", "1000\n"},
           {base.string() + ".crlnumber", "1000\n"}}) {
    if (auto w = write_file(file, text); !w) return unexpected(w.error());
  }
  const std::string text =
      "[ca]\ndefault_ca = ward\n"
      "[ward]\n"
      "database = " + base.string() + ".index\n"
      "serial = " + base.string() + ".serial\n"
      "crlnumber = " + base.string() + ".crlnumber\n"
      "new_certs_dir = " + new_certs.string() + "\n"
      "certificate = " + ca.certificate.string() + "\n"
      "private_key = " + ca.private_key.string() + "\n"
      "default_md = sha256\n"
      "default_days = 10\n"
      "default_crl_days = 1\n"
      "unique_subject = no\n"
      "policy = anything\n"
      "[anything]\n"
      "countryName = optional\nstateOrProvinceName = optional\nlocalityName = optional\n"
      "organizationName = optional\norganizationalUnitName = optional\ncommonName = optional\n"
      "domainComponent = optional\nemailAddress = optional\n"
      "[ca_extensions]\n"
      "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
      "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
  if (auto w = write_file(config, text); !w) return unexpected(w.error());
  return config;
}

// `openssl ca` signs `csr` with the CA of `config`; `extensions` is a file with the certificate's
// extensions (in its [ext] section).
Expected<void, HarnessError> ca_sign(const std::filesystem::path& config, const std::filesystem::path& csr,
                                     const std::filesystem::path& out, const std::filesystem::path& extensions,
                                     const RsaCertificateOptions& options, const std::filesystem::path& log) {
  std::vector<std::string> argv{kOpenssl, "ca", "-batch", "-notext", "-preserveDN", "-config", config.string(),
                                "-in", csr.string(), "-out", out.string(), "-extfile", extensions.string(),
                                "-extensions", "ext"};
  if (!options.not_before.empty()) argv.insert(argv.end(), {"-startdate", options.not_before});
  if (!options.not_after.empty()) {
    argv.insert(argv.end(), {"-enddate", options.not_after});
  } else {
    argv.insert(argv.end(), {"-days", std::to_string(options.days)});
  }
  return run_command(argv, {}, log);
}

}  // namespace

Expected<TestCa, HarnessError> make_rsa_ca(const std::filesystem::path& dir, const std::string& name,
                                           const std::string& subject) {
  TestCa ca{dir / (name + "-ca.crt"), dir / (name + "-ca.key"), {}};
  auto made = run_command({kOpenssl, "req", "-x509", "-newkey", kRsaKey, "-nodes", "-sha256", "-keyout",
                           ca.private_key.string(), "-out", ca.certificate.string(), "-days", kRsaCaDays, "-subj",
                           subject, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                           "keyUsage=critical,keyCertSign,cRLSign"},
                          {}, dir / "openssl.log");
  if (!made) return unexpected(made.error());
  auto config = make_database(ca, dir, name);
  if (!config) return unexpected(config.error());
  ca.database_config = *config;
  return ca;
}

Expected<TestCa, HarnessError> make_rsa_intermediate_ca(const TestCa& issuer, const std::filesystem::path& dir,
                                                        const std::string& name, const std::string& subject) {
  if (issuer.database_config.empty()) {
    return unexpected(HarnessError{"intermediate CA " + name, "the issuer is not an RSA CA with a database"});
  }
  TestCa ca{dir / (name + "-ca.crt"), dir / (name + "-ca.key"), {}};
  const auto csr = dir / (name + "-ca.csr");
  const auto ext = dir / (name + "-ca.ext");
  const auto log = dir / "openssl.log";
  auto req = run_command({kOpenssl, "req", "-new", "-newkey", kRsaKey, "-nodes", "-keyout", ca.private_key.string(),
                          "-out", csr.string(), "-subj", subject},
                         {}, log);
  if (!req) return unexpected(req.error());
  if (auto w = write_file(ext, "[ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
                               "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n");
      !w) {
    return unexpected(w.error());
  }
  RsaCertificateOptions validity;
  validity.days = std::stoi(kRsaCaDays);
  if (auto signed_ = ca_sign(issuer.database_config, csr, ca.certificate, ext, validity, log); !signed_) {
    return unexpected(signed_.error());
  }
  auto config = make_database(ca, dir, name);
  if (!config) return unexpected(config.error());
  ca.database_config = *config;
  return ca;
}

Expected<TestCertificate, HarnessError> issue_rsa_certificate(const TestCa& ca, const std::filesystem::path& dir,
                                                              const std::string& name, const std::string& subject,
                                                              const RsaCertificateOptions& options) {
  if (ca.database_config.empty()) {
    return unexpected(HarnessError{"certificate " + name, "the CA is not an RSA CA with a database"});
  }
  TestCertificate cert{dir / (name + ".crt"), dir / (name + ".key")};
  const auto csr = dir / (name + ".csr");
  const auto ext = dir / (name + ".ext");
  const auto log = dir / "openssl.log";
  std::string sans;
  for (const auto& san : options.subject_alt_names) sans += (sans.empty() ? "" : ",") + san;
  std::string ext_text = "[ext]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
                         "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
  if (!sans.empty()) ext_text += "subjectAltName = " + sans + "\n";
  if (auto w = write_file(ext, ext_text); !w) return unexpected(w.error());
  if (!options.key.empty()) {
    cert.private_key = options.key;
    auto req = run_command({kOpenssl, "req", "-new", "-key", options.key.string(), "-out", csr.string(), "-subj", subject},
                           {}, log);
    if (!req) return unexpected(req.error());
    if (auto signed_ = ca_sign(ca.database_config, csr, cert.certificate, ext, options, log); !signed_) {
      return unexpected(signed_.error());
    }
    return cert;
  }
  auto req = run_command({kOpenssl, "req", "-new", "-newkey", kRsaKey, "-nodes", "-keyout", cert.private_key.string(),
                          "-out", csr.string(), "-subj", subject},
                         {}, log);
  if (!req) return unexpected(req.error());
  std::error_code ec;
  std::filesystem::permissions(cert.private_key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace, ec);
  if (ec) return unexpected(HarnessError{"chmod 600 " + cert.private_key.string(), ec.message()});
  if (auto signed_ = ca_sign(ca.database_config, csr, cert.certificate, ext, options, log); !signed_) {
    return unexpected(signed_.error());
  }
  return cert;
}

Expected<std::filesystem::path, HarnessError> make_ec_key(const std::filesystem::path& dir, const std::string& name,
                                                          const std::string& curve) {
  const auto key = dir / (name + ".key");
  auto made = run_command({kOpenssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + curve, "-out", key.string()},
                          {}, dir / "openssl.log");
  if (!made) return unexpected(made.error());
  std::error_code ec;
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace, ec);
  if (ec) return unexpected(HarnessError{"chmod 600 " + key.string(), ec.message()});
  return key;
}

Expected<void, HarnessError> revoke_certificate(const TestCa& ca, const TestCertificate& certificate) {
  if (ca.database_config.empty()) return unexpected(HarnessError{"revoke", "the CA is not an RSA CA with a database"});
  return run_command({kOpenssl, "ca", "-batch", "-config", ca.database_config.string(), "-revoke",
                      certificate.certificate.string(), "-crl_reason", "keyCompromise"},
                     {}, ca.certificate.parent_path() / "openssl.log");
}

Expected<std::filesystem::path, HarnessError> make_crl(const TestCa& ca, const std::filesystem::path& dir,
                                                       const std::string& name) {
  if (ca.database_config.empty()) return unexpected(HarnessError{"CRL", "the CA is not an RSA CA with a database"});
  const auto crl = dir / (name + ".crl");
  auto made = run_command({kOpenssl, "ca", "-batch", "-config", ca.database_config.string(), "-gencrl", "-crldays",
                           kCrlDays, "-out", crl.string()},
                          {}, ca.certificate.parent_path() / "openssl.log");
  if (!made) return unexpected(made.error());
  return crl;
}

}  // namespace ward::test
