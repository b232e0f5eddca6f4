#include "agent/config/config.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ward::agent::config {
namespace {

std::string source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir ? dir : ".";
}

std::string error_of(std::string_view text) {
  auto parsed = parse_config(text, "ward.conf");
  EXPECT_FALSE(parsed.has_value());
  return parsed ? std::string() : parsed.error().to_string();
}

TEST(ConfigTest, ExampleFileParsesWithEveryValue) {
  auto parsed = load_config(source_dir() + "/agent/config/ward.conf.example");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  const Config& c = *parsed;
  ASSERT_EQ(c.directory.uris.size(), 2u);
  EXPECT_EQ(c.directory.uris[0], "ldap://dc1.example.com");  // failover order kept
  EXPECT_EQ(c.directory.uris[1], "ldap://dc2.example.com");
  EXPECT_EQ(c.directory.realm, "EXAMPLE.COM");
  EXPECT_EQ(c.directory.computer_name, "");  // derived from the host name
  EXPECT_EQ(c.directory.keytab, "/etc/krb5.keytab");
  EXPECT_EQ(c.driver, DriverBackend::Auto);
  EXPECT_EQ(c.driver_queues, 1u);
  EXPECT_FALSE(c.driver_fast_path);
  EXPECT_FALSE(c.driver_sa_lifetime_limit.has_value());
  EXPECT_EQ(c.control_socket, "/run/ward/control.sock");
  EXPECT_EQ(c.privsep_user, "_ward");   // the package's postinst makes the user
  EXPECT_FALSE(c.monitor.enabled);
  EXPECT_EQ(c.cache_path, "/var/lib/ward/ward.db");
  EXPECT_EQ(c.event_retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(c.log_level, LogLevel::Info);
  EXPECT_EQ(c.legacy_algorithms, LegacyAlgorithms::Policy);
  EXPECT_TRUE(c.uses_directory());
}

TEST(ConfigTest, DefaultsForAStandaloneHost) {
  auto parsed = parse_config("[policy]\nlocal_file = /etc/ward/local.json\n", "ward.conf");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_FALSE(parsed->uses_directory());
  EXPECT_EQ(parsed->control_socket, kDefaultControlSocket);
  EXPECT_EQ(parsed->cache_path, kDefaultCachePath);
  EXPECT_EQ(parsed->driver, DriverBackend::Auto);
  EXPECT_FALSE(parsed->monitor.enabled);
  EXPECT_EQ(parsed->local_policy, "/etc/ward/local.json");
  EXPECT_FALSE(parsed->ike.fallback_delay.has_value()) << "IKE's defaults (Windows')";
  EXPECT_FALSE(parsed->ike.soft_association_lifetime.has_value());
  EXPECT_FALSE(parsed->ike.force_udp_encapsulation) << "ESP in UDP only behind a NAT unless forced";
  EXPECT_TRUE(parsed->ike.fragmentation) << "IKEv2 fragmentation announced by default";
  EXPECT_FALSE(parsed->ike.fragment_size.has_value());
  EXPECT_FALSE(parsed->ike.engines.has_value()) << "[ike] engines: the cores by default";
  EXPECT_GE(ike_engines(parsed->ike), 1u);
  EXPECT_LE(ike_engines(parsed->ike), kMaxIkeEngines);
  EXPECT_EQ(parsed->boot_mode, BootMode::Block);  // fail closed unless told otherwise
  EXPECT_TRUE(parsed->boot_exemptions.empty());
  EXPECT_EQ(parsed->legacy_algorithms, LegacyAlgorithms::Policy);
}

TEST(ConfigTest, LegacyAlgorithmsPolicyOrNever) {
  auto never = parse_config("[policy]\nlocal_file = /etc/ward/local.json\n[ike]\nlegacy_algorithms = never\n", "ward.conf");
  ASSERT_TRUE(never.has_value()) << never.error().to_string();
  EXPECT_EQ(never->legacy_algorithms, LegacyAlgorithms::Never);
  EXPECT_EQ(name_of(never->legacy_algorithms), "never");
  EXPECT_EQ(error_of("[ike]\nlegacy_algorithms = always\n"),
            "ward.conf:2: legacy_algorithms: 'always' is not a setting; expected one of policy, never");
}

TEST(ConfigTest, IkeVersionDefaultsToIkev2FirstAndNamesTheAcceptedValues) {
  auto defaults = parse_config("[policy]\nlocal_file = /p.json\n", "ward.conf");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->ike.version, IkeVersion::Ikev2First);
  for (auto [text, version] : {std::pair{"ikev1", IkeVersion::Ikev1}, std::pair{"ikev2", IkeVersion::Ikev2},
                               std::pair{"ikev2-first", IkeVersion::Ikev2First}}) {
    auto parsed = parse_config(std::string("[policy]\nlocal_file = /p.json\n[ike]\nversion = ") + text + "\n", "ward.conf");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
    EXPECT_EQ(parsed->ike.version, version);
    EXPECT_EQ(name_of(parsed->ike.version), text);
  }
  EXPECT_EQ(error_of("[ike]\nversion = 3\n"),
            "ward.conf:2: version: '3' is not an IKE version setting; expected one of ikev2-first, ikev1, ikev2");
}

TEST(ConfigTest, PrivsepUserRunsIkeApart) {
  auto defaults = parse_config("[policy]\nlocal_file = /p.json\n", "ward.conf");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_TRUE(defaults->privsep_user.empty());   // IKE inside wardd unless a user is named
  auto parsed = parse_config("[policy]\nlocal_file = /p.json\n[privsep]\nuser = _ward\n", "ward.conf");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->privsep_user, "_ward");
  EXPECT_EQ(error_of("[privsep]\nuser = root\n"), "ward.conf:2: user: the IKE process needs a user of its own, not 'root'");
}

TEST(ConfigTest, BootModeAndExemptions) {
  auto parsed = parse_config("[policy]\nlocal_file = /p.json\nboot_mode = permit\nboot_exemption = in tcp/22\n"
                             "boot_exemption = out  udp/123\n",
                             "ward.conf");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->boot_mode, BootMode::Permit);
  ASSERT_EQ(parsed->boot_exemptions.size(), 2u);
  EXPECT_EQ(to_string(parsed->boot_exemptions[0]), "in tcp/22");
  EXPECT_EQ(to_string(parsed->boot_exemptions[1]), "out udp/123");
  EXPECT_EQ(error_of("[policy]\nboot_mode = stateful\n"),
            "ward.conf:2: boot_mode: unknown boot mode 'stateful'; expected one of block, permit");
  EXPECT_EQ(error_of("[policy]\nboot_exemption = tcp/22\n"),
            "ward.conf:2: boot_exemption: 'tcp/22' is not an exemption: expected in|out tcp|udp/PORT (e.g. in tcp/22)");
  EXPECT_EQ(error_of("[policy]\nboot_exemption = in icmp/8\n"),
            "ward.conf:2: boot_exemption: 'in icmp/8' is not an exemption: expected in|out tcp|udp/PORT (e.g. in tcp/22)");
  EXPECT_EQ(error_of("[policy]\nboot_exemption = in tcp/0\n"), "ward.conf:2: boot_exemption: '0' is not a port (1-65535)");
}

TEST(ConfigTest, AllValuesAndComments) {
  const char* text =
      "; comment\n"
      "  # indented comment\n"
      "[directory]\n"
      "uri=ldaps://a.example\r\n"
      "realm =  EXAMPLE.COM  \n"
      "computer_dn = CN=WS01,OU=Legal,DC=example,DC=com\n"
      "site = Branch\n"
      "request_timeout = 2m\n"
      "[driver]\nbackend = sim\nqueues = 3\nfast_path = yes\nsa_lifetime_limit = 90s\n"
      "[monitor]\nenabled = yes\nlisten = [::1]:4750\ntls_cert = /c\ntls_key = /k\ntls_ca = /a\n"
      "[cache]\nevent_retention = 12h\n"
      "[ike]\nfallback_delay = 5s\nsoft_association_lifetime = 10m\ndpd_idle = 20s\ndpd_retry = 2s\ndpd_probes = 4\n"
      "udp_encapsulation = force\nfragmentation = no\nfragment_size = 1200\nengines = 3\n"
      "[log]\nlevel = debug\n";
  auto parsed = parse_config(text, "ward.conf");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->directory.uris, std::vector<std::string>{"ldaps://a.example"});
  EXPECT_EQ(parsed->directory.realm, "EXAMPLE.COM");
  EXPECT_EQ(parsed->directory.site, "Branch");
  EXPECT_EQ(parsed->directory.request_timeout, std::chrono::seconds(120));
  EXPECT_EQ(parsed->driver, DriverBackend::Sim);
  EXPECT_EQ(parsed->driver_queues, 3u);
  EXPECT_TRUE(parsed->driver_fast_path);
  EXPECT_EQ(parsed->driver_sa_lifetime_limit, std::chrono::seconds(90));
  EXPECT_TRUE(parsed->monitor.enabled);
  EXPECT_EQ(parsed->monitor.listen, "[::1]:4750");
  EXPECT_EQ(parsed->event_retention, std::chrono::hours(12));
  EXPECT_EQ(parsed->ike.fallback_delay, std::chrono::seconds(5));
  EXPECT_EQ(parsed->ike.soft_association_lifetime, std::chrono::minutes(10));
  EXPECT_EQ(parsed->ike.dpd_idle, std::chrono::seconds(20));
  EXPECT_EQ(parsed->ike.dpd_retry, std::chrono::seconds(2));
  EXPECT_EQ(parsed->ike.dpd_probes, 4u);
  EXPECT_TRUE(parsed->ike.force_udp_encapsulation);
  EXPECT_FALSE(parsed->ike.fragmentation);
  EXPECT_EQ(parsed->ike.fragment_size, 1200u);
  EXPECT_EQ(parsed->ike.engines, 3u);
  EXPECT_EQ(ike_engines(parsed->ike), 3u);
  EXPECT_EQ(parsed->log_level, LogLevel::Debug);
}

TEST(ConfigTest, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of("[directory]\nuri = ldap://a\n\n\nurl = ldap://b\n"),
            "ward.conf:5: unknown key 'url' in [directory]");
  EXPECT_EQ(error_of("[directroy]\n"), "ward.conf:1: unknown section [directroy]");
  EXPECT_EQ(error_of("uri = ldap://a\n"), "ward.conf:1: key 'uri' before any [section]");
  EXPECT_EQ(error_of("[driver]\nqueues = 0\n"), "ward.conf:2: queues: '0' is not a queue count (1..64)");
  EXPECT_EQ(error_of("[driver]\nqueues = 4x\n"), "ward.conf:2: queues: '4x' is not a queue count (1..64)");
  EXPECT_EQ(error_of("[directory]\nrequest_timeout = 0s\n"), "ward.conf:2: request_timeout: '0s' is not a duration (e.g. 30d, 12h, 90m, 3600s)");
  EXPECT_EQ(error_of("[directory]\nrequest_timeout = 11m\n"), "ward.conf:2: request_timeout: '11m' is longer than 600s");
  EXPECT_EQ(error_of("[driver]\nbackend = pf\n"),
            "ward.conf:2: backend: unknown driver backend 'pf'; expected one of auto, nfqueue, xfrm, sim");
  EXPECT_EQ(error_of("[log]\nlevel = loud\n"),
            "ward.conf:2: level: unknown log level 'loud'; expected one of error, warning, info, debug");
  EXPECT_EQ(error_of("[log]\nlevel = info\nlevel = debug\n"), "ward.conf:3: key 'level' in [log] repeats line 2");
  EXPECT_EQ(error_of("[control]\nsocket = run/ward.sock\n"), "ward.conf:2: socket: path 'run/ward.sock' is not absolute");
  EXPECT_EQ(error_of("[directory]\nuri = http://a\n"),
            "ward.conf:2: uri: 'http://a' is not an LDAP URI (ldap://, ldaps:// or ldapi://)");
  EXPECT_EQ(error_of("[cache]\nevent_retention = 30\n"),
            "ward.conf:2: event_retention: '30' has unit '0'; expected s, m, h or d");
  EXPECT_EQ(error_of("[cache]\nevent_retention = 0d\n"),
            "ward.conf:2: event_retention: '0d' is not a duration (e.g. 30d, 12h, 90m, 3600s)");
  EXPECT_EQ(error_of("[monitor]\nenabled = maybe\n"),
            "ward.conf:2: enabled: 'maybe' is not a boolean (yes/no, true/false, on/off)");
  EXPECT_EQ(error_of("[monitor]\nlisten = localhost\n"), "ward.conf:2: listen: 'localhost' is not host:port");
  EXPECT_EQ(error_of("[monitor]\nlisten = a:99999\n"), "ward.conf:2: listen: port '99999' is not 1..65535");
  EXPECT_EQ(error_of("[ike]\nfallback_delay = 3\n"), "ward.conf:2: fallback_delay: '3' is not a duration (e.g. 30d, 12h, 90m, 3600s)");
  EXPECT_EQ(error_of("[driver]\nsa_lifetime_limit = 2s\n"),
            "ward.conf:2: sa_lifetime_limit: '2s' is shorter than 3s (the soft expiry and a rekey need time)");
  EXPECT_EQ(error_of("[ike]\ndpd_probes = 0\n"), "ward.conf:2: dpd_probes: '0' is not a probe count (1..10)");
  EXPECT_EQ(error_of("[ike]\nengines = 0\n"), "ward.conf:2: engines: '0' is not an engine count (1..16 or auto)");
  EXPECT_EQ(error_of("[ike]\nengines = 17\n"), "ward.conf:2: engines: '17' is not an engine count (1..16 or auto)");
  EXPECT_EQ(error_of("[ike]\nfragment_size = 100\n"),
            "ward.conf:2: fragment_size: '100' is not a fragment size in bytes (128..65535)");
  EXPECT_EQ(error_of("[ike]\nudp_encapsulation = yes\n"),
            "ward.conf:2: udp_encapsulation: 'yes' is not a UDP encapsulation mode; expected auto or force");
  EXPECT_EQ(error_of("[log\n"), "ward.conf:1: section header without closing ']'");
  EXPECT_EQ(error_of("[log]\nlevel\n"), "ward.conf:2: expected 'key = value' or '[section]'");
}

TEST(ConfigTest, CrossFieldErrors) {
  EXPECT_EQ(error_of(""), "ward.conf: no policy source: set [directory] uri (a domain member) or [policy] local_file (a standalone host)");
  // computer_name and principal default to the host's computer account (NAME$, NAME$@REALM).
  auto derived = parse_config("[directory]\nrealm = R\nuri = ldap://a\n", "ward.conf");
  ASSERT_TRUE(derived) << derived.error().to_string();
  EXPECT_EQ(derived->directory.computer_name, "");
  EXPECT_EQ(derived->directory.principal, "");
  // GSSAPI asks for ldap/<host of the URI>: an IP address cannot be it.
  EXPECT_EQ(error_of("[directory]\nrealm = R\nuri = ldap://dc1.example.com\nuri = ldap://10.0.0.1:389\n"),
            "ward.conf:3: uri: 'ldap://10.0.0.1:389' names the server by its IP address; Kerberos (GSSAPI) needs its "
            "host name: use the domain controller's host name (the service principal is ldap/<host>, here it would "
            "be ldap/10.0.0.1)");
  EXPECT_TRUE(error_of("[directory]\nrealm = R\nuri = ldaps://[::1]:636\n").find("ldap/::1") != std::string::npos);
  EXPECT_EQ(error_of("[directory]\nuri = ldap://a\ncomputer_name = X$\n"), "ward.conf:2: [directory] has uri but no realm");
  EXPECT_EQ(error_of("[policy]\nlocal_file = /p.json\n[monitor]\nenabled = on\nlisten = 127.0.0.1:4750\n"),
            "ward.conf:4: [monitor] is enabled but tls_cert, tls_key and tls_ca are not all set (the monitor only speaks mutual TLS)");
}

TEST(ConfigTest, DirectoryBindModes) {
  const std::string base = "[directory]\nuri = ldap://dc1\nrealm = EXAMPLE.COM\ncomputer_name = WS01$\n";
  auto gssapi = parse_config(base + "principal = host/ws01.example.com@EXAMPLE.COM\ntls_ca = /etc/ward/ca.crt\n", "ward.conf");
  ASSERT_TRUE(gssapi) << gssapi.error().to_string();
  EXPECT_EQ(gssapi->directory.bind, BindMode::Gssapi);
  EXPECT_EQ(gssapi->directory.principal, "host/ws01.example.com@EXAMPLE.COM");
  EXPECT_EQ(gssapi->directory.tls_ca, "/etc/ward/ca.crt");

  const std::string simple = "bind = simple\nbind_dn = CN=agent,DC=example,DC=com\npassword_file = /etc/ward/pw\n";
  auto with_tls = parse_config(base + simple + "tls_ca = /etc/ward/ca.crt\n", "ward.conf");
  ASSERT_TRUE(with_tls) << with_tls.error().to_string();
  EXPECT_EQ(with_tls->directory.bind, BindMode::Simple);
  EXPECT_EQ(with_tls->directory.bind_dn, "CN=agent,DC=example,DC=com");
  EXPECT_EQ(with_tls->directory.password_file, "/etc/ward/pw");
  // ldapi:// is local: no TLS needed.
  EXPECT_TRUE(parse_config("[directory]\nuri = ldapi://%2Frun%2Fslapd\nrealm = EXAMPLE.COM\ncomputer_name = WS01$\n" + simple,
                           "ward.conf"));

  EXPECT_EQ(error_of(base + simple), "ward.conf:5: [directory] bind = simple over ldap:// would send the password in "
                                     "clear: set tls_ca (StartTLS) or use ldaps:// or ldapi:// URIs");
  EXPECT_EQ(error_of(base + "bind = simple\ntls_ca = /ca\n"), "ward.conf:5: [directory] bind = simple needs bind_dn and password_file");
  EXPECT_EQ(error_of(base + "password_file = /pw\n"), "ward.conf:5: [directory] bind_dn and password_file go with bind = simple");
  EXPECT_EQ(error_of(base + "bind = kerberos\n"), "ward.conf:5: bind: unknown bind mode 'kerberos'; expected one of gssapi, simple");
  EXPECT_EQ(error_of(base + "principal = host/ws01\n"), "ward.conf:5: principal: 'host/ws01' is not a principal (name@REALM)");
}

TEST(ConfigTest, MissingFileIsAClearError) {
  auto parsed = load_config("/nonexistent/ward.conf");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().to_string(), "/nonexistent/ward.conf: cannot open: No such file or directory");
}

TEST(ConfigTest, CertificatesSectionNeedsAllThreeFiles) {
  const std::string base = "[policy]\nlocal_file = /etc/ward/local.json\n[certificates]\n";
  auto parsed = parse_config(base + "certificate = /etc/ward/host.crt\nprivate_key = /etc/ward/host.key\n"
                                    "trust = /etc/ward/trusted-cas\n",
                             "ward.conf");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_TRUE(parsed->certificates.enabled());
  EXPECT_EQ(parsed->certificates.certificate, "/etc/ward/host.crt");
  EXPECT_EQ(parsed->certificates.private_key, "/etc/ward/host.key");
  EXPECT_EQ(parsed->certificates.trust, "/etc/ward/trusted-cas");
  EXPECT_FALSE(parse_config("[policy]\nlocal_file = /x.json\n", "ward.conf")->certificates.enabled());
  EXPECT_EQ(error_of(base + "certificate = /etc/ward/host.crt\nprivate_key = /etc/ward/host.key\n"),
            "ward.conf:4: [certificates] needs certificate, private_key and trust (the trusted CAs) together");
  EXPECT_EQ(error_of(base + "private_key = host.key\n"), "ward.conf:4: private_key: path 'host.key' is not absolute");
}

TEST(ConfigTest, CertificateIdentityAndRevocation) {
  const std::string base = "[policy]\nlocal_file = /etc/ward/local.json\n[certificates]\ncertificate = /etc/ward/host.crt\n"
                           "private_key = /etc/ward/host.key\ntrust = /etc/ward/trusted-cas\n";
  auto defaults = parse_config(base, "ward.conf");
  ASSERT_TRUE(defaults.has_value()) << defaults.error().to_string();
  EXPECT_EQ(defaults->certificates.identity, CertificateIdentityKind::Dn) << "as Windows sends with a certificate";
  EXPECT_TRUE(defaults->certificates.fqdn.empty());
  EXPECT_EQ(defaults->certificates.revocation, RevocationMode::IfPresent);
  auto set = parse_config(base + "identity = fqdn\nfqdn = ws01.ward.test\nrevocation = required\n", "ward.conf");
  ASSERT_TRUE(set.has_value()) << set.error().to_string();
  EXPECT_EQ(set->certificates.identity, CertificateIdentityKind::Fqdn);
  EXPECT_EQ(set->certificates.fqdn, "ws01.ward.test");
  EXPECT_EQ(set->certificates.revocation, RevocationMode::Required);
  EXPECT_EQ(parse_config(base + "identity = address\n", "ward.conf")->certificates.identity, CertificateIdentityKind::Address);
  EXPECT_EQ(error_of(base + "identity = upn\n"), "ward.conf:7: identity: unknown identity 'upn'; expected one of address, dn, fqdn");
  EXPECT_EQ(error_of(base + "revocation = never\n"),
            "ward.conf:7: revocation: unknown revocation 'never'; expected one of if-present, required");
  EXPECT_EQ(error_of(base + "identity = fqdn\nfqdn = ws01 ward\n"), "ward.conf:8: fqdn: 'ws01 ward' is not a DNS name");
  EXPECT_EQ(error_of(base + "fqdn = ws01.ward.test\n"), "ward.conf:7: [certificates] fqdn is set but identity is not fqdn");
}

// A scratch directory for files load_config reads; removed with its files.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ward-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(ConfigTest, CertificatePrivateKeyMustBeRootOnly) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const auto key = dir.path() / "host.key";
  const auto conf = dir.path() / "ward.conf";
  std::ofstream(key) << "not a real key: only its permissions matter here\n";
  std::ofstream(conf) << "[policy]\nlocal_file = /etc/ward/local.json\n[certificates]\ncertificate = /etc/ward/host.crt\n"
                      << "private_key = " << key.string() << "\ntrust = /etc/ward/cas\n";
  using std::filesystem::perms;
  std::filesystem::permissions(key, perms::owner_read | perms::owner_write, std::filesystem::perm_options::replace);
  auto ok = load_config(conf);
  ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
  EXPECT_EQ(ok->certificates.private_key, key);

  std::filesystem::permissions(key, perms::owner_read | perms::owner_write | perms::group_read,
                               std::filesystem::perm_options::replace);
  auto group = load_config(conf);
  ASSERT_FALSE(group.has_value());
  EXPECT_NE(group.error().to_string().find(conf.string() + ": [certificates] private_key " + key.string() +
                                            " is readable by its group "),
            std::string::npos)
      << group.error().to_string();
  EXPECT_NE(group.error().message.find("(mode 0640, owner "), std::string::npos) << group.error().to_string();
  EXPECT_NE(group.error().message.find("chmod 600 " + key.string()), std::string::npos) << group.error().to_string();

  std::filesystem::permissions(key, perms::owner_read | perms::others_read, std::filesystem::perm_options::replace);
  auto world = load_config(conf);
  ASSERT_FALSE(world.has_value());
  EXPECT_NE(world.error().message.find("is readable by others (mode 0404"), std::string::npos) << world.error().to_string();

  std::filesystem::remove(key);
  auto missing = load_config(conf);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("cannot read [certificates] private_key " + key.string()), std::string::npos)
      << missing.error().to_string();
}

// Every secret file ward.conf names is checked at start-up, before wardd reads it: the keytab
// (when it exists: a host not yet joined gets the bind's error), a simple bind's password file,
// the monitor's TLS key.
TEST(ConfigTest, SecretFilesOthersCanReadStopTheStart) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const auto conf = dir.path() / "ward.conf";
  const auto secret = dir.path() / "secret";
  auto load_with = [&](const std::string& text) {
    std::ofstream(conf) << text;
    return load_config(conf);
  };
  const std::string directory = "[directory]\nuri = ldap://dc1.example.com\nrealm = EXAMPLE.COM\ncomputer_name = WS01$\n";
  const std::string keytab_conf = directory + "keytab = " + secret.string() + "\n";
  const std::string password_conf = directory + "tls_ca = /etc/ward/ca.crt\nbind = simple\nbind_dn = CN=agent\n"
                                                "password_file = " + secret.string() + "\n";
  const std::string monitor_conf = "[policy]\nlocal_file = /etc/ward/p.json\n[monitor]\nenabled = yes\n"
                                   "listen = [::1]:4750\ntls_cert = /etc/ward/m.crt\ntls_key = " + secret.string() +
                                   "\ntls_ca = /etc/ward/m-ca.crt\n";
  // A keytab that is not there yet is the bind's business; a password file or TLS key must exist.
  EXPECT_TRUE(load_with(keytab_conf).has_value());
  EXPECT_FALSE(load_with(password_conf).has_value());
  EXPECT_FALSE(load_with(monitor_conf).has_value());

  std::ofstream(secret) << "not a real secret: only its mode matters here\n";
  for (const auto& [text, role] : {std::pair{keytab_conf, std::string("[directory] keytab ")},
                                   std::pair{password_conf, std::string("[directory] password_file ")},
                                   std::pair{monitor_conf, std::string("[monitor] tls_key ")}}) {
    ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
    auto ok = load_with(text);
    EXPECT_TRUE(ok.has_value()) << ok.error().to_string();
    ASSERT_EQ(::chmod(secret.c_str(), 0644), 0);
    auto refused = load_with(text);
    ASSERT_FALSE(refused.has_value()) << role;
    EXPECT_NE(refused.error().to_string().find(conf.string() + ": " + role + secret.string() +
                                               " is readable by others (mode 0644, owner "),
              std::string::npos)
        << refused.error().to_string();
    EXPECT_NE(refused.error().message.find("chmod 600 " + secret.string()), std::string::npos);
  }
}

TEST(ConfigTest, GarbageNeverCrashes) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131 + 7) % 256));
  EXPECT_FALSE(parse_config(junk, "junk").has_value());
  EXPECT_FALSE(parse_config(std::string(2 * 1024 * 1024, 'x'), "big").has_value());
}

}  // namespace
}  // namespace ward::agent::config
