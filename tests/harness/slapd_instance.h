// SlapdInstance: a real OpenLDAP slapd (Debian's /usr/sbin/slapd) in a fresh temp dir, for tests.
//
// cn=config is built offline with `slapadd -n0` from the schema LDIF files (core, cosine,
// inetorgperson, then any extra ones), one mdb database holds `suffix` with a rootdn/password,
// and slapd listens on ldap://127.0.0.1:<free port>, ldapi in the temp dir and, with TLS on,
// ldaps://127.0.0.1:<free port> (StartTLS works on the plain port) using a CA and server
// certificate generated for this instance. The destructor stops slapd by pid and removes the dir.
// Nothing outside the temp dir is read or written except the schema files and the binaries.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::test {

// SASL/GSSAPI on the server side: slapd reads its service key from `keytab` (KRB5_KTNAME).
struct SlapdSaslSettings {
  std::string sasl_host;                 // olcSaslHost, e.g. "localhost" -> ldap/localhost@REALM
  std::string realm;                     // olcSaslRealm
  std::filesystem::path keytab;          // holds ldap/<sasl_host>@<realm>
  std::filesystem::path krb5_config;     // the test realm's krb5.conf (never /etc/krb5.conf)
  // olcAuthzRegexp rules, in order: {match, replacement}.
  std::vector<std::pair<std::string, std::string>> authz_regexps;
};

struct SlapdOptions {
  std::string suffix = "dc=ward,dc=test";
  std::string root_dn = "cn=admin,dc=ward,dc=test";
  std::string root_password = "ward-test-root-password";  // a test-only credential
  // Schema LDIFs loaded after core, cosine and inetorgperson (in this order).
  std::vector<std::filesystem::path> extra_schemas;
  // Creates the suffix entry (objectClass domain, dc=<first RDN value>) before other data.
  bool create_suffix_entry = true;
  // LDIF files loaded offline with slapadd before slapd starts (fast; no operational checks).
  std::vector<std::filesystem::path> initial_ldif;
  bool tls = false;
  std::optional<SlapdSaslSettings> sasl;
  // Loads the syncprov overlay (RFC 4533 provider) on the database, so that clients can run
  // refreshAndPersist sync searches (change notification).
  bool syncprov = false;
  // Multi-provider replication (syncrepl, refreshAndPersist, olcMultiProvider): this server's id
  // and the URIs of the other providers it consumes from as the rootdn. Implies syncprov, with a
  // session log (a resumed client is told of deletions by entryUUID instead of a present phase).
  struct Replication {
    int server_id = 1;  // olcServerID, 1..4095, distinct per provider
    std::vector<std::string> provider_uris;
  };
  std::optional<Replication> replication;
  // The plain port: 0 picks a free one. Replicating providers need theirs known before start.
  std::uint16_t port = 0;
  // olcDbIndex values, e.g. "cn,ou eq" (attributes of extra_schemas may be named).
  std::vector<std::string> indexes;
  // userPassword readable by nobody (binds only), as a directory of computer accounts needs.
  bool protect_passwords = false;
  std::chrono::milliseconds start_timeout = std::chrono::seconds(20);
};

class SlapdInstance {
 public:
  static Expected<std::unique_ptr<SlapdInstance>, HarnessError> start(SlapdOptions options);
  ~SlapdInstance();
  SlapdInstance(const SlapdInstance&) = delete;
  SlapdInstance& operator=(const SlapdInstance&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint16_t ldaps_port() const { return ldaps_port_; }
  std::string ldap_uri() const;                  // ldap://127.0.0.1:<port>
  std::string ldap_uri(const std::string& host) const;  // ldap://<host>:<port>, e.g. "localhost"
  // ldaps://127.0.0.1:<ldaps port>. The server certificate names DNS:localhost and
  // IP:127.0.0.1; use 127.0.0.1 for TLS, because libldap checks a "localhost" URI against
  // the machine's own hostname instead.
  std::string ldaps_uri() const;
  std::string ldapi_uri() const;
  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& log_file() const { return log_; }
  // The CA that signed the server certificate (TLS on only).
  const std::filesystem::path& ca_certificate() const { return ca_.certificate; }
  const SlapdOptions& options() const { return options_; }
  pid_t pid() const { return process_.pid(); }

  // Adds entries over ldapi as the rootdn (ldapadd), e.g. data a test creates after start.
  Expected<void, HarnessError> add_ldif(const std::filesystem::path& ldif);
  Expected<void, HarnessError> add_ldif_text(const std::string& ldif);

  // The whole database as LDIF with its operational attributes (slapcat), e.g. to load a second
  // provider with the same entryUUIDs and CSNs.
  Expected<std::filesystem::path, HarnessError> export_ldif();

  void stop() { process_.stop(); }
  // SIGKILL, as a crash or power loss: no clean shutdown (then reaped).
  void kill();
  // Starts slapd again after stop(), on the same ports and with the same data.
  Expected<void, HarnessError> restart();

 private:
  SlapdInstance(SlapdOptions options, TempDir dir);
  Expected<void, HarnessError> prepare();
  Expected<void, HarnessError> launch();
  Expected<void, HarnessError> spawn_on_current_ports();
  Expected<void, HarnessError> wait_until_answering();

  SlapdOptions options_;
  TempDir dir_;
  std::filesystem::path log_;
  std::uint16_t port_ = 0;
  std::uint16_t ldaps_port_ = 0;
  TestCa ca_;
  ChildProcess process_;
  int ldif_counter_ = 0;
};

}  // namespace ward::test
