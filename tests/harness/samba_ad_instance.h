// SambaAdInstance: a real Active Directory domain controller (Debian's Samba AD DC) for tests.
//
// `samba-tool domain provision` makes a fresh domain in a temp dir (its own smb.conf, sam.ldb,
// sysvol, TLS keys, pid file and sockets; nothing under /etc/samba, /run/samba or /var/lib/samba
// is read or written), and `samba`
// runs it in the foreground (pid ours, stopped by pid) inside a network namespace of its own,
// bound to that namespace's loopback only. AD's ports are fixed (LDAP 389, 636, 3268, Kerberos
// 88, SMB 445), so a namespace per DC is what lets several DCs (parallel tests, other engineers)
// run side by side.
//
// The traps of running a DC here are handled (see shared/reference/samba-ad.md): the generated
// `dns forwarder` line is removed and the dns, dnsupdate, nbt, wrepl, kcc and drepl services are
// off; `samba_spnupdate` adds the ldap/<host> service principals that dnsupdate would; and the
// DC's host name (dc1.ward.test by default) resolves to its address through a hosts file that
// is bind-mounted over /etc/hosts in a private mount namespace for each program run there
// (in_dc_network) or for the test process itself (enter_network) - never the machine's own.
//
// A test binary shares one DC (provisioning takes ~8 s, starting ~4 s): shared_samba_ad(), or the
// gtest environment in samba_ad_environment.h. Register such binaries with ward_test(... ONE_PROCESS)
// so that ctest runs every test of the binary in one process.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.h"
#include "tests/harness/process.h"

namespace ward::test {

struct SambaAdOptions {
  std::string realm = "WARD.TEST";        // DNS domain ward.test, base DN DC=ward,DC=test
  std::string netbios_domain = "WARD";
  std::string host_name = "dc1";          // the DC: dc1.ward.test
  std::string admin_password = "Ward-Test-Admin-Pa55";  // a test-only credential (AD complexity rules)
  // An existing named network namespace (owned by the caller, e.g. one joined to test hosts by a
  // veth) to run the DC in; empty: the instance makes ward-<pid>-ad-<n> and removes it.
  std::string netns;
  // The address the DC's name resolves to; it must be on one of `interfaces` in the namespace.
  std::string host_ip = "127.0.0.1";
  std::vector<std::string> interfaces = {"lo"};  // smb.conf `interfaces` (bind interfaces only)
  std::chrono::milliseconds start_timeout = std::chrono::seconds(90);
};

// How long the steps took, for reports.
struct SambaAdTimings {
  std::chrono::milliseconds provision{0};
  bool provision_copied = false;  // a copy of the ctest run's provisioned tree (provision_cache.h)
  std::chrono::milliseconds start{0};  // samba started until LDAP, Kerberos and SMB answer
  // "provisioned in 8123 ms, serving 4012 ms after start" (or "copied from ... in").
  std::string describe() const {
    return std::string(provision_copied ? "copied from the run's provisioned domain in " : "provisioned in ") +
           std::to_string(provision.count()) + " ms, serving " + std::to_string(start.count()) + " ms after start";
  }
};

class SambaAdInstance {
 public:
  static Expected<std::unique_ptr<SambaAdInstance>, HarnessError> start(SambaAdOptions options);
  ~SambaAdInstance();
  SambaAdInstance(const SambaAdInstance&) = delete;
  SambaAdInstance& operator=(const SambaAdInstance&) = delete;

  const SambaAdOptions& options() const { return options_; }
  const std::string& realm() const { return options_.realm; }
  std::string dns_domain() const;        // "ward.test"
  std::string domain_dn() const;         // "DC=ward,DC=test"
  std::string dc_fqdn() const;           // "dc1.ward.test"
  std::string ldap_uri() const;          // "ldap://dc1.ward.test" (the name GSSAPI needs)
  std::string ldaps_uri() const;         // "ldaps://dc1.ward.test"
  std::string admin_dn() const;          // "CN=Administrator,CN=Users,DC=ward,DC=test"
  std::string admin_principal() const;   // "Administrator@WARD.TEST"
  const std::string& admin_password() const { return options_.admin_password; }
  // The CA of the TLS certificate Samba generated for dc1.ward.test (LDAPS and StartTLS).
  std::filesystem::path ca_certificate() const;
  // krb5.conf for the realm (KDC at host_ip:88, no DNS lookups); KRB5_CONFIG for clients.
  const std::filesystem::path& krb5_config() const { return krb5_conf_; }
  // The hosts file that maps the DC's names to host_ip (bind-mounted over /etc/hosts).
  const std::filesystem::path& hosts_file() const { return hosts_; }
  const std::filesystem::path& smb_conf() const { return smb_conf_; }
  std::filesystem::path sam_ldb() const;     // private/sam.ldb (ldbsearch -H)
  std::filesystem::path sysvol_dir() const;  // state/sysvol (the [sysvol] share's path)
  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& log_file() const { return log_; }
  const std::string& netns() const { return netns_; }
  pid_t pid() const { return process_.pid(); }
  const SambaAdTimings& timings() const { return timings_; }

  // argv run inside the DC's network namespace, in a private mount namespace with its hosts file
  // over /etc/hosts and its run/ folder over /run/samba, with KRB5_CONFIG set to krb5_config(),
  // KRB5RCACHETYPE=none and LDAPNOINIT=1.
  std::vector<std::string> in_dc_network(const std::vector<std::string>& argv) const;
  // Runs argv (absolute path) that way and captures its output.
  CapturedRun run(const std::vector<std::string>& argv) const;
  // samba-tool <args> -s smb.conf, working on the DC's database; stdout, or an error with the output.
  Expected<std::string, HarnessError> samba_tool(const std::vector<std::string>& args) const;
  // ldbsearch -H private/sam.ldb <args>; stdout as LDIF.
  Expected<std::string, HarnessError> ldbsearch(const std::vector<std::string>& args) const;

  // Moves this process into the DC's network namespace and a private mount namespace in which
  // /etc/hosts is hosts_file(), and sets KRB5_CONFIG: afterwards in-process LDAP/Kerberos clients
  // and every child reach the DC by name. Needs a single-threaded process (call it before tests
  // start threads, e.g. from a gtest Environment); refused otherwise.
  Expected<void, HarnessError> enter_network() const;

  // Directory objects through samba-tool. `ou_dn` like "OU=Legal,DC=ward,DC=test".
  Expected<void, HarnessError> create_ou(const std::string& ou_dn) const;
  Expected<void, HarnessError> create_user(const std::string& name, const std::string& password) const;
  // A computer account NAME$ (dNSHostName name.<dns domain>) in `ou_dn` (empty: CN=Computers),
  // enabled, with `password`, so that its keys can be exported. Returns its DN.
  Expected<std::string, HarnessError> create_computer(const std::string& name, const std::string& password,
                                                      const std::string& ou_dn = {}) const;
  // Writes the keys of `principal` (e.g. "NAME$" or "Administrator") to `keytab`; the client
  // principal for kinit is then "<principal>@REALM".
  Expected<void, HarnessError> export_keytab(const std::string& principal, const std::filesystem::path& keytab) const;
  // A keytab holding Administrator's keys (made once): GSSAPI as the domain administrator.
  Expected<std::filesystem::path, HarnessError> admin_keytab();

  void stop() { process_.stop(); }

 private:
  SambaAdInstance(SambaAdOptions options, TempDir dir);
  Expected<void, HarnessError> make_namespace();
  Expected<void, HarnessError> provision();
  // `samba-tool domain provision` into `root` (this instance's dir, or the run's cached tree).
  Expected<void, HarnessError> provision_tree(const std::filesystem::path& root) const;
  std::string provision_key() const;
  Expected<void, HarnessError> launch();
  Expected<void, HarnessError> wait_until_serving();

  SambaAdOptions options_;
  TempDir dir_;
  std::string netns_;
  bool own_netns_ = false;
  std::filesystem::path smb_conf_;
  std::filesystem::path krb5_conf_;
  std::filesystem::path hosts_;
  std::filesystem::path log_;
  std::filesystem::path admin_keytab_;
  SambaAdTimings timings_;
  ChildProcess process_;
};

// One DC per process, started on first call with default options and kept until exit; the
// process enters its network (enter_network) on that first call. A failure is remembered and
// returned to every later caller.
Expected<SambaAdInstance*, HarnessError> shared_samba_ad();

}  // namespace ward::test
