#include "tests/harness/slapd_instance.h"

#include <ldap.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/harness/ldap_handle.h"

namespace ward::test {
namespace {

constexpr const char* kSlapd = "/usr/sbin/slapd";
constexpr const char* kSlapadd = "/usr/sbin/slapadd";
constexpr const char* kLdapadd = "/usr/bin/ldapadd";
constexpr const char* kSlapcat = "/usr/sbin/slapcat";
constexpr const char* kSchemaDir = "/etc/ldap/schema";
constexpr const char* kModulePath = "/usr/lib/ldap";
constexpr int kMaxSlapdLaunchAttempts = 3;  // a "free" port can be taken between probe and bind
constexpr auto kSlapdProbeInterval = std::chrono::milliseconds(50);
constexpr int kProbeNetworkTimeoutSeconds = 1;


std::string percent_encode_path(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/') out += "%2F";
    else out += c;
  }
  return out;
}

std::string first_rdn_value(const std::string& dn) {
  auto eq = dn.find('=');
  auto comma = dn.find(',');
  if (eq == std::string::npos) return dn;
  return dn.substr(eq + 1, comma == std::string::npos ? std::string::npos : comma - eq - 1);
}

Expected<std::string, HarnessError> read_whole(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return unexpected(HarnessError{"read schema " + file.string(), "cannot open"});
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

SlapdInstance::SlapdInstance(SlapdOptions options, TempDir dir)
    : options_(std::move(options)), dir_(std::move(dir)), log_(dir_.path() / "slapd.log") {}

SlapdInstance::~SlapdInstance() { process_.stop(); }

std::string SlapdInstance::ldap_uri() const { return ldap_uri("127.0.0.1"); }
std::string SlapdInstance::ldap_uri(const std::string& host) const {
  return "ldap://" + host + ":" + std::to_string(port_);
}
std::string SlapdInstance::ldaps_uri() const { return "ldaps://127.0.0.1:" + std::to_string(ldaps_port_); }
std::string SlapdInstance::ldapi_uri() const {
  return "ldapi://" + percent_encode_path((dir_.path() / "ldapi").string());
}

Expected<std::unique_ptr<SlapdInstance>, HarnessError> SlapdInstance::start(SlapdOptions options) {
  auto dir = TempDir::create("ward-slapd");
  if (!dir) return unexpected(dir.error());
  std::unique_ptr<SlapdInstance> instance(new SlapdInstance(std::move(options), std::move(*dir)));
  if (auto p = instance->prepare(); !p) return unexpected(p.error());
  HarnessError last{"start slapd", "not attempted"};
  for (int attempt = 0; attempt < kMaxSlapdLaunchAttempts; ++attempt) {
    auto launched = instance->launch();
    if (launched) return instance;
    last = launched.error();
    instance->process_.stop();
  }
  return unexpected(last);
}

Expected<void, HarnessError> SlapdInstance::prepare() {
  const auto& d = dir_.path();
  std::filesystem::create_directories(d / "slapd.d");
  std::filesystem::create_directories(d / "db");

  if (options_.tls) {
    auto ca = make_test_ca(d, "slapd");
    if (!ca) return unexpected(ca.error());
    ca_ = *ca;
    auto cert = issue_server_certificate(ca_, d, "server", "localhost", {"DNS:localhost", "IP:127.0.0.1"});
    if (!cert) return unexpected(cert.error());
  }

  std::string config;
  config += "dn: cn=config\nobjectClass: olcGlobal\ncn: config\n";
  config += "olcPidFile: " + (d / "slapd.pid").string() + "\n";
  if (options_.replication) config += "olcServerID: " + std::to_string(options_.replication->server_id) + "\n";
  config += "olcArgsFile: " + (d / "slapd.args").string() + "\n";
  if (options_.tls) {
    config += "olcTLSCACertificateFile: " + ca_.certificate.string() + "\n";
    config += "olcTLSCertificateFile: " + (d / "server.crt").string() + "\n";
    config += "olcTLSCertificateKeyFile: " + (d / "server.key").string() + "\n";
  }
  if (options_.sasl) {
    config += "olcSaslHost: " + options_.sasl->sasl_host + "\n";
    config += "olcSaslRealm: " + options_.sasl->realm + "\n";
    int index = 0;
    for (const auto& [match, replace] : options_.sasl->authz_regexps) {
      config += "olcAuthzRegexp: {" + std::to_string(index++) + "}\"" + match + "\" \"" + replace + "\"\n";
    }
  }
  config += "\n";
  config += "dn: cn=module{0},cn=config\nobjectClass: olcModuleList\ncn: module{0}\n";
  config += std::string("olcModulePath: ") + kModulePath + "\nolcModuleLoad: {0}back_mdb\n";
  const bool syncprov = options_.syncprov || options_.replication.has_value();
  if (syncprov) config += "olcModuleLoad: {1}syncprov\n";
  config += "\n";
  config += "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n";
  std::vector<std::filesystem::path> schemas = {std::filesystem::path(kSchemaDir) / "core.ldif",
                                                std::filesystem::path(kSchemaDir) / "cosine.ldif",
                                                std::filesystem::path(kSchemaDir) / "inetorgperson.ldif"};
  schemas.insert(schemas.end(), options_.extra_schemas.begin(), options_.extra_schemas.end());
  for (const auto& schema : schemas) {
    auto text = read_whole(schema);
    if (!text) return unexpected(text.error());
    config += *text;
    config += "\n\n";
  }
  config += "dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcFrontendConfig\n"
            "olcDatabase: {-1}frontend\n\n";
  config += "dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\nolcDatabase: {0}config\n"
            "olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage "
            "by * break\n\n";
  config += "dn: olcDatabase={1}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\n"
            "olcDatabase: {1}mdb\n";
  config += "olcDbDirectory: " + (d / "db").string() + "\n";
  config += "olcSuffix: " + options_.suffix + "\n";
  config += "olcRootDN: " + options_.root_dn + "\n";
  config += "olcRootPW: " + options_.root_password + "\n";
  config += "olcDbMaxSize: 268435456\n";
  for (const auto& index : options_.indexes) config += "olcDbIndex: " + index + "\n";
  if (options_.protect_passwords) {
    config += "olcAccess: {0}to attrs=userPassword by anonymous auth by * none\n";
    config += "olcAccess: {1}to * by * read\n";
  } else {
    config += "olcAccess: {0}to * by * read\n";
  }
  if (options_.replication) {
    config += "olcDbIndex: objectClass eq\nolcDbIndex: entryCSN eq\nolcDbIndex: entryUUID eq\n";
    int rid = 0;
    for (const auto& provider : options_.replication->provider_uris) {
      char id[16];
      std::snprintf(id, sizeof id, "%03d", ++rid);
      config += std::string("olcSyncrepl: {") + std::to_string(rid - 1) + "}rid=" + id + " provider=" + provider +
                " bindmethod=simple binddn=\"" + options_.root_dn + "\" credentials=\"" + options_.root_password +
                "\" searchbase=\"" + options_.suffix +
                "\" type=refreshAndPersist retry=\"1 +\" timeout=3 network-timeout=3 keepalive=30:3:10\n";
    }
    config += "olcMultiProvider: TRUE\n";
  }
  config += "\n";
  if (syncprov) {
    config += "dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\n"
              "objectClass: olcSyncProvConfig\nolcOverlay: {0}syncprov\n";
    if (options_.replication) config += "olcSpCheckpoint: 100 1\nolcSpSessionlog: 10000\n";
    config += "\n";
  }

  const auto config_ldif = d / "config.ldif";
  if (auto w = write_file(config_ldif, config); !w) return unexpected(w.error());
  const auto setup_log = d / "setup.log";
  auto made = run_command({kSlapadd, "-n0", "-F", (d / "slapd.d").string(), "-l", config_ldif.string()}, {}, setup_log);
  if (!made) return unexpected(HarnessError{"slapadd -n0 (cn=config)", made.error().to_string()});

  std::vector<std::filesystem::path> data = options_.initial_ldif;
  if (options_.create_suffix_entry) {
    const auto base = d / "suffix.ldif";
    if (auto w = write_file(base, "dn: " + options_.suffix + "\nobjectClass: top\nobjectClass: domain\ndc: " +
                                      first_rdn_value(options_.suffix) + "\n\n");
        !w) {
      return unexpected(w.error());
    }
    data.insert(data.begin(), base);
  }
  for (const auto& ldif : data) {
    auto loaded = run_command({kSlapadd, "-q", "-n1", "-F", (d / "slapd.d").string(), "-l", ldif.string()}, {},
                              setup_log);
    if (!loaded) return unexpected(HarnessError{"slapadd -n1 " + ldif.string(), loaded.error().to_string()});
  }
  return {};
}

Expected<void, HarnessError> SlapdInstance::launch() {
  if (options_.port != 0) {
    port_ = options_.port;
  } else {
    auto port = free_loopback_port();
    if (!port) return unexpected(port.error());
    port_ = *port;
  }
  if (options_.tls) {
    auto tls_port = free_loopback_port();
    if (!tls_port) return unexpected(tls_port.error());
    ldaps_port_ = *tls_port;
  }
  return spawn_on_current_ports();
}

void SlapdInstance::kill() {
  if (process_.pid() > 0) ::kill(process_.pid(), SIGKILL);
  process_.stop();
}

Expected<void, HarnessError> SlapdInstance::restart() {
  process_.stop();
  return spawn_on_current_ports();
}

Expected<void, HarnessError> SlapdInstance::spawn_on_current_ports() {
  std::string urls = ldap_uri() + "/ " + ldapi_uri() + "/";
  if (options_.tls) urls += " ldaps://127.0.0.1:" + std::to_string(ldaps_port_) + "/";
  Environment env;
  if (options_.sasl) {
    env["KRB5_KTNAME"] = "FILE:" + options_.sasl->keytab.string();
    env["KRB5_CONFIG"] = options_.sasl->krb5_config.string();
    env["KRB5RCACHETYPE"] = "none";  // no replay cache file in /var/tmp
    env["KRB5CCNAME"] = "MEMORY:slapd";
  }
  // -d 0 keeps slapd in the foreground (so the pid is ours) with errors on stderr.
  auto child = ChildProcess::spawn({kSlapd, "-d", "0", "-F", (dir_.path() / "slapd.d").string(), "-h", urls}, env,
                                   log_);
  if (!child) return unexpected(child.error());
  process_ = std::move(*child);
  return wait_until_answering();
}

Expected<void, HarnessError> SlapdInstance::wait_until_answering() {
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  std::string last_error = "no answer yet";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_.running()) {
      return unexpected(HarnessError{"start slapd on " + ldap_uri(),
                                     "slapd " + process_.exit_description() + "; log:\n" + file_tail(log_)});
    }
    LDAP* raw = nullptr;
    if (ldap_initialize(&raw, ldap_uri().c_str()) == LDAP_SUCCESS) {
      LdapPtr ld(raw);
      int version = LDAP_VERSION3;
      ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version);
      timeval tv{kProbeNetworkTimeoutSeconds, 0};
      ldap_set_option(ld.get(), LDAP_OPT_NETWORK_TIMEOUT, &tv);
      berval empty{0, nullptr};
      int rc = ldap_sasl_bind_s(ld.get(), "", LDAP_SASL_SIMPLE, &empty, nullptr, nullptr, nullptr);
      if (rc == LDAP_SUCCESS) return {};
      last_error = ldap_err2string(rc);
    }
    std::this_thread::sleep_for(kSlapdProbeInterval);
  }
  return unexpected(HarnessError{"start slapd on " + ldap_uri(),
                                 "no answer within " + std::to_string(options_.start_timeout.count()) +
                                     " ms (last: " + last_error + "); log:\n" + file_tail(log_)});
}

Expected<void, HarnessError> SlapdInstance::add_ldif(const std::filesystem::path& ldif) {
  const auto password_file = dir_.path() / "rootpw";
  if (!std::filesystem::exists(password_file)) {
    if (auto w = write_file(password_file, options_.root_password); !w) return unexpected(w.error());
    std::filesystem::permissions(password_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  auto added = run_command({kLdapadd, "-x", "-H", ldapi_uri(), "-D", options_.root_dn, "-y", password_file.string(),
                            "-f", ldif.string()},
                           {{"LDAPCONF", "/dev/null"}, {"LDAPRC", "/dev/null"}}, dir_.path() / "ldapadd.log");
  if (!added) return unexpected(HarnessError{"ldapadd " + ldif.string(), added.error().to_string()});
  return {};
}

Expected<std::filesystem::path, HarnessError> SlapdInstance::export_ldif() {
  const auto file = dir_.path() / ("export-" + std::to_string(++ldif_counter_) + ".ldif");
  auto exported = run_command({kSlapcat, "-n1", "-F", (dir_.path() / "slapd.d").string(), "-l", file.string()}, {},
                              dir_.path() / "slapcat.log");
  if (!exported) return unexpected(HarnessError{"slapcat " + dir_.path().string(), exported.error().to_string()});
  return file;
}

Expected<void, HarnessError> SlapdInstance::add_ldif_text(const std::string& ldif) {
  const auto file = dir_.path() / ("added-" + std::to_string(++ldif_counter_) + ".ldif");
  if (auto w = write_file(file, ldif); !w) return unexpected(w.error());
  return add_ldif(file);
}

}  // namespace ward::test
