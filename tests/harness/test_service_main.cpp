// ward_test_service: runs one SlapdInstance, KdcInstance or SambaAdInstance for shell-driven tests.
//
//   ward_test_service slapd --env-file F [--tls] [--suffix DN] [--root-dn DN] [--no-suffix-entry] [--syncprov]
//                           [--schema LDIF]... [--ldif LDIF]...
//                           [--sasl-host H --sasl-realm R --sasl-keytab KT [--authz-regexp MATCH REPLACE]...]
//     (SASL/GSSAPI: slapd's service key ldap/H@R is read from KT; KRB5_CONFIG must name the
//      realm's krb5.conf, as `ward_test_service kdc` exports it)
//   ward_test_service kdc --env-file F [--realm R] [--principal NAME=KEYTAB]...
//   ward_test_service samba --env-file F [--realm R] [--netns NAME --host-ip IP --interface IF...]
//                           [--ou DN]... [--computer NAME=KEYTAB[@OU-DN]]...
//     (a Samba AD DC in its own network namespace, or in NAME; run clients with
//      `nsenter --net=/run/netns/$WARD_AD_NETNS` and $WARD_AD_HOSTS over /etc/hosts; computer
//      accounts NAME$ get a random password and their keys in KEYTAB)
//
// Once the service answers, writes shell assignments (mode 0600) to F, then waits for
// SIGTERM/SIGINT/SIGHUP and stops the service and removes its temp dir. tests/harness/
// services.sh wraps this for bash. Errors go to stderr with exit status 1.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "tests/harness/kdc_instance.h"
#include "tests/harness/samba_ad_instance.h"
#include "tests/harness/slapd_instance.h"

namespace {

using ward::test::HarnessError;

std::string shell_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

int fail(const std::string& message) {
  std::fprintf(stderr, "ward_test_service: %s\n", message.c_str());
  return 1;
}

bool write_env(const std::string& path, const std::vector<std::pair<std::string, std::string>>& vars) {
  const std::string tmp = path + ".tmp";
  std::string text;
  for (const auto& [k, v] : vars) text += "export " + k + "=" + shell_quote(v) + "\n";
  if (!ward::test::write_file(tmp, text)) return false;
  ::chmod(tmp.c_str(), 0600);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // atomic: readers never see a partial file
  return !ec;
}

void wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  sigwait(&set, &sig);
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals first so that they are only ever taken by sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);

  if (argc < 2) return fail("usage: ward_test_service slapd|kdc|samba --env-file FILE [options]");
  const std::string kind = argv[1];
  std::string env_file;
  ward::test::SlapdOptions slapd_options;
  ward::test::KdcOptions kdc_options;
  std::vector<std::pair<std::string, std::string>> principals;
  ward::test::SambaAdOptions samba_options;
  bool samba_interfaces_given = false;
  std::vector<std::string> ous;
  std::vector<std::string> computers;
  ward::test::SlapdSaslSettings sasl;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (arg == "--env-file") env_file = next();
    else if (arg == "--tls") slapd_options.tls = true;
    else if (arg == "--suffix") slapd_options.suffix = next();
    else if (arg == "--root-dn") slapd_options.root_dn = next();
    else if (arg == "--no-suffix-entry") slapd_options.create_suffix_entry = false;
    else if (arg == "--syncprov") slapd_options.syncprov = true;
    else if (arg == "--schema") slapd_options.extra_schemas.emplace_back(next());
    else if (arg == "--ldif") slapd_options.initial_ldif.emplace_back(next());
    else if (arg == "--realm") kdc_options.realm = samba_options.realm = next();
    else if (arg == "--netns") samba_options.netns = next();
    else if (arg == "--host-ip") samba_options.host_ip = next();
    else if (arg == "--interface") {
      if (!samba_interfaces_given) samba_options.interfaces.clear();
      samba_interfaces_given = true;
      samba_options.interfaces.push_back(next());
    }
    else if (arg == "--ou") ous.push_back(next());
    else if (arg == "--computer") computers.push_back(next());
    else if (arg == "--sasl-host") sasl.sasl_host = next();
    else if (arg == "--sasl-realm") sasl.realm = next();
    else if (arg == "--sasl-keytab") sasl.keytab = next();
    else if (arg == "--authz-regexp") {
      // Two words: both sides of an authz-regexp contain '='.
      std::string match = next();
      std::string replacement = next();
      if (match.empty() || replacement.empty()) return fail("--authz-regexp wants MATCH REPLACE");
      sasl.authz_regexps.emplace_back(std::move(match), std::move(replacement));
    }
    else if (arg == "--principal") {
      std::string spec = next();
      auto eq = spec.find('=');
      if (eq == std::string::npos) return fail("--principal wants NAME=KEYTAB, got '" + spec + "'");
      principals.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
    } else {
      return fail("unknown option '" + arg + "'");
    }
  }
  if (env_file.empty()) return fail("--env-file is required");
  if (!sasl.sasl_host.empty() || !sasl.realm.empty() || !sasl.keytab.empty()) {
    if (sasl.sasl_host.empty() || sasl.realm.empty() || sasl.keytab.empty()) {
      return fail("SASL wants all of --sasl-host, --sasl-realm and --sasl-keytab");
    }
    const char* krb5_config = std::getenv("KRB5_CONFIG");
    if (krb5_config == nullptr || *krb5_config == '\0') return fail("SASL wants KRB5_CONFIG set to the realm's krb5.conf");
    sasl.krb5_config = krb5_config;
    slapd_options.sasl = sasl;
  }

  if (kind == "slapd") {
    auto slapd = ward::test::SlapdInstance::start(slapd_options);
    if (!slapd) return fail(slapd.error().to_string());
    const auto& s = **slapd;
    std::vector<std::pair<std::string, std::string>> vars = {
        {"WARD_SLAPD_URI", s.ldap_uri()},           {"WARD_SLAPD_LDAPI_URI", s.ldapi_uri()},
        {"WARD_SLAPD_SUFFIX", s.options().suffix},  {"WARD_SLAPD_ROOT_DN", s.options().root_dn},
        {"WARD_SLAPD_ROOT_PASSWORD", s.options().root_password},  // throwaway test credential
        {"WARD_SLAPD_DIR", s.dir().string()},       {"WARD_SLAPD_PID", std::to_string(s.pid())}};
    if (slapd_options.tls) {
      vars.emplace_back("WARD_SLAPD_LDAPS_URI", s.ldaps_uri());
      vars.emplace_back("WARD_SLAPD_CA", s.ca_certificate().string());
    }
    if (!write_env(env_file, vars)) return fail("cannot write " + env_file);
    wait_for_stop_signal();
    return 0;
  }
  if (kind == "kdc") {
    auto kdc = ward::test::KdcInstance::start(kdc_options);
    if (!kdc) return fail(kdc.error().to_string());
    for (const auto& [name, keytab] : principals) {
      if (auto added = (*kdc)->add_principal(name); !added) return fail(added.error().to_string());
      if (auto kt = (*kdc)->extract_keytab(name, keytab); !kt) return fail(kt.error().to_string());
    }
    const auto& k = **kdc;
    if (!write_env(env_file, {{"KRB5_CONFIG", k.krb5_config().string()},
                              {"WARD_KDC_REALM", k.realm()},
                              {"WARD_KDC_PORT", std::to_string(k.port())},
                              {"WARD_KDC_DIR", k.dir().string()},
                              {"WARD_KDC_PID", std::to_string(k.pid())}})) {
      return fail("cannot write " + env_file);
    }
    wait_for_stop_signal();
    return 0;
  }
  if (kind == "samba") {
    auto dc = ward::test::SambaAdInstance::start(samba_options);
    if (!dc) return fail(dc.error().to_string());
    auto& d = **dc;
    for (const auto& ou : ous) {
      if (auto made = d.create_ou(ou); !made) return fail(made.error().to_string());
    }
    std::random_device random;
    for (const auto& spec : computers) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos) return fail("--computer wants NAME=KEYTAB[@OU-DN], got '" + spec + "'");
      const auto at = spec.find('@', eq);
      const std::string name = spec.substr(0, eq);
      const std::string keytab = spec.substr(eq + 1, at == std::string::npos ? std::string::npos : at - eq - 1);
      const std::string ou = at == std::string::npos ? std::string() : spec.substr(at + 1);
      const std::string password = "Ward-" + std::to_string(random()) + "-" + std::to_string(random()) + "-Aa1";
      if (auto made = d.create_computer(name, password, ou); !made) return fail(made.error().to_string());
      if (auto kt = d.export_keytab(name + "$", keytab); !kt) return fail(kt.error().to_string());
    }
    auto admin_keytab = d.admin_keytab();
    if (!admin_keytab) return fail(admin_keytab.error().to_string());
    if (!write_env(env_file, {{"KRB5_CONFIG", d.krb5_config().string()},
                              {"WARD_AD_NETNS", d.netns()},
                              {"WARD_AD_HOSTS", d.hosts_file().string()},
                              {"WARD_AD_URI", d.ldap_uri()},
                              {"WARD_AD_LDAPS_URI", d.ldaps_uri()},
                              {"WARD_AD_CA", d.ca_certificate().string()},
                              {"WARD_AD_REALM", d.realm()},
                              {"WARD_AD_DOMAIN_DN", d.domain_dn()},
                              {"WARD_AD_FQDN", d.dc_fqdn()},
                              {"WARD_AD_ADMIN_PRINCIPAL", d.admin_principal()},
                              {"WARD_AD_ADMIN_KEYTAB", admin_keytab->string()},
                              {"WARD_AD_ADMIN_DN", d.admin_dn()},
                              {"WARD_AD_ADMIN_PASSWORD", d.admin_password()},  // throwaway test credential
                              {"WARD_AD_SMB_CONF", d.smb_conf().string()},
                              {"WARD_AD_DIR", d.dir().string()},
                              {"WARD_AD_PID", std::to_string(d.pid())}})) {
      return fail("cannot write " + env_file);
    }
    wait_for_stop_signal();
    return 0;
  }
  return fail("unknown service '" + kind + "' (slapd, kdc or samba)");
}
