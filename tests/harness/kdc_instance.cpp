#include "tests/harness/kdc_instance.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <thread>

namespace ward::test {
namespace {

constexpr const char* kKrb5kdc = "/usr/sbin/krb5kdc";
constexpr const char* kKdb5Util = "/usr/sbin/kdb5_util";
constexpr const char* kKadminLocal = "/usr/sbin/kadmin.local";
constexpr const char* kLibfaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";  // Debian package faketime
constexpr int kMaxKdcLaunchAttempts = 3;
constexpr auto kKdcProbeInterval = std::chrono::milliseconds(50);

bool tcp_connects(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string random_master_password() {
  std::random_device rd;
  std::string out = "ward-kdb-";
  for (int i = 0; i < 4; ++i) out += std::to_string(rd());
  return out;
}

}  // namespace

ScopedEnv::ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str()); old != nullptr) old_ = old;
  ::setenv(name_.c_str(), value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
  else ::unsetenv(name_.c_str());
}

KdcInstance::KdcInstance(KdcOptions options, TempDir dir)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      krb5_conf_(dir_.path() / "krb5.conf"),
      kdc_conf_(dir_.path() / "kdc.conf"),
      log_(dir_.path() / "krb5kdc.log") {}

KdcInstance::~KdcInstance() { process_.stop(); }

Environment KdcInstance::tool_environment() const {
  return {{"KRB5_CONFIG", krb5_conf_.string()},
          {"KRB5_KDC_PROFILE", kdc_conf_.string()},
          {"KRB5CCNAME", "MEMORY:ward-kdc-tools"},
          {"KRB5_KTNAME", "FILE:" + (dir_.path() / "default.keytab").string()},
          {"KRB5RCACHETYPE", "none"}};
}

Expected<std::unique_ptr<KdcInstance>, HarnessError> KdcInstance::start(KdcOptions options) {
  auto dir = TempDir::create("ward-kdc");
  if (!dir) return unexpected(dir.error());
  std::unique_ptr<KdcInstance> kdc(new KdcInstance(std::move(options), std::move(*dir)));
  HarnessError last{"start krb5kdc", "not attempted"};
  for (int attempt = 0; attempt < kMaxKdcLaunchAttempts; ++attempt) {
    if (auto p = kdc->prepare(); !p) return unexpected(p.error());
    auto launched = kdc->launch();
    if (launched) return kdc;
    last = launched.error();
    kdc->process_.stop();
  }
  return unexpected(last);
}

Expected<void, HarnessError> KdcInstance::prepare() {
  auto port = free_loopback_port();
  if (!port) return unexpected(port.error());
  port_ = *port;
  const auto& d = dir_.path();
  const std::string kdc = "127.0.0.1:" + std::to_string(port_);
  const std::string& realm = options_.realm;
  std::string krb5 = "[libdefaults]\n"
                     " default_realm = " + realm + "\n"
                     " dns_lookup_kdc = false\n"
                     " dns_lookup_realm = false\n"
                     " dns_canonicalize_hostname = false\n"
                     " rdns = false\n"
                     " udp_preference_limit = " + std::to_string(options_.udp_preference_limit) + "\n"
                     " default_ccache_name = MEMORY:ward-test\n"
                     " default_keytab_name = FILE:" + (d / "default.keytab").string() + "\n"
                     " default_client_keytab_name = FILE:" + (d / "default-client.keytab").string() + "\n" +
                     options_.extra_libdefaults +
                     "[realms]\n " + realm + " = {\n  kdc = " + kdc + "\n }\n"
                     "[domain_realm]\n localhost = " + realm + "\n 127.0.0.1 = " + realm + "\n";
  std::string kdcconf = "[kdcdefaults]\n kdc_listen = " + kdc + "\n kdc_tcp_listen = " + kdc + "\n" + options_.extra_kdcdefaults +
                        "[realms]\n " + realm + " = {\n"
                        "  database_name = " + (d / "principal").string() + "\n"
                        "  key_stash_file = " + (d / "stash").string() + "\n"
                        "  acl_file = " + (d / "kadm5.acl").string() + "\n"
                        "  kdc_listen = " + kdc + "\n"
                        "  kdc_tcp_listen = " + kdc + "\n"
                        "  max_life = 1h\n"
                        "  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n"
                        " }\n"
                        "[logging]\n kdc = FILE:" + log_.string() + "\n admin_server = FILE:" +
                        (d / "kadmin.log").string() + "\n default = FILE:" + (d / "krb5lib.log").string() + "\n";
  if (auto w = write_file(krb5_conf_, krb5); !w) return unexpected(w.error());
  if (auto w = write_file(kdc_conf_, kdcconf); !w) return unexpected(w.error());
  if (auto w = write_file(d / "kadm5.acl", ""); !w) return unexpected(w.error());
  if (!std::filesystem::exists(d / "principal")) {
    auto made = run_command({kKdb5Util, "-r", realm, "create", "-s", "-P", random_master_password()},
                            tool_environment(), d / "setup.log");
    if (!made) return unexpected(HarnessError{"kdb5_util create -s (realm " + realm + ")", made.error().detail});
  }
  return {};
}

Expected<void, HarnessError> KdcInstance::launch() {
  const std::vector<std::string> argv = {kKrb5kdc, "-n", "-r", options_.realm, "-P", (dir_.path() / "krb5kdc.pid").string()};
  auto env = tool_environment();
  if (!options_.clock_offset.empty()) {
    // libfaketime preloaded into krb5kdc itself, not through faketime(1): that wrapper forks and
    // waits for krb5kdc, so stopping the pid we hold left the KDC running.
    if (!std::filesystem::exists(kLibfaketime)) {
      return unexpected(HarnessError{"start krb5kdc with clock offset " + options_.clock_offset,
                                     std::string(kLibfaketime) + " not installed (apt-get install faketime)"});
    }
    env["LD_PRELOAD"] = kLibfaketime;
    env["FAKETIME"] = options_.clock_offset;
  }
  auto child = ChildProcess::spawn(argv, env, dir_.path() / "krb5kdc.stderr");
  if (!child) return unexpected(child.error());
  process_ = std::move(*child);
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_.running()) {
      return unexpected(HarnessError{"start krb5kdc on 127.0.0.1:" + std::to_string(port_),
                                     "krb5kdc " + process_.exit_description() + "; log:\n" + file_tail(log_) +
                                         file_tail(dir_.path() / "krb5kdc.stderr")});
    }
    if (tcp_connects(port_)) return {};
    std::this_thread::sleep_for(kKdcProbeInterval);
  }
  return unexpected(HarnessError{"start krb5kdc on 127.0.0.1:" + std::to_string(port_),
                                 "not listening within " + std::to_string(options_.start_timeout.count()) +
                                     " ms; log:\n" + file_tail(log_)});
}

Expected<void, HarnessError> KdcInstance::kadmin(const std::string& query) {
  const auto log = dir_.path() / "kadmin.local.log";
  std::error_code ignored;
  std::filesystem::remove(log, ignored);  // one query per log, so the failure check reads only ours
  auto done = run_command({kKadminLocal, "-r", options_.realm, "-q", query}, tool_environment(), log);
  if (!done) return unexpected(HarnessError{"kadmin.local -q '" + query + "'", done.error().detail});
  // kadmin.local exits 0 even when a query fails; its log says so.
  std::string tail = file_tail(log, 400);
  for (const char* marker : {"while creating", "while adding", "does not exist", "while getting"}) {
    if (tail.find(marker) != std::string::npos) {
      return unexpected(HarnessError{"kadmin.local -q '" + query + "'", tail});
    }
  }
  return {};
}

Expected<void, HarnessError> KdcInstance::add_principal(const std::string& principal) {
  return kadmin("addprinc -randkey " + principal);
}

Expected<void, HarnessError> KdcInstance::extract_keytab(const std::string& principal,
                                                          const std::filesystem::path& keytab) {
  return kadmin("ktadd -k " + keytab.string() + " -norandkey " + principal);
}

}  // namespace ward::test
