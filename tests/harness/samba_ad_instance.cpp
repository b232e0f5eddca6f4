#include "tests/harness/samba_ad_instance.h"

#include "tests/harness/provision_cache.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace ward::test {
namespace {

constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kNsenter = "/usr/bin/nsenter";
constexpr const char* kUnshare = "/usr/bin/unshare";
constexpr const char* kShell = "/bin/sh";
constexpr const char* kEnv = "/usr/bin/env";
constexpr const char* kSamba = "/usr/sbin/samba";
constexpr const char* kSambaTool = "/usr/bin/samba-tool";
constexpr const char* kSpnUpdate = "/usr/sbin/samba_spnupdate";
constexpr const char* kLdbsearch = "/usr/bin/ldbsearch";
constexpr auto kSambaProbeInterval = std::chrono::milliseconds(100);
constexpr auto kProvisionTimeout = std::chrono::minutes(3);
constexpr std::uint16_t kLdapPort = 389;
constexpr std::uint16_t kKerberosPort = 88;
constexpr std::uint16_t kSmbPort = 445;
// Services a test DC does without: DNS (and with it the off-host forwarder), dynamic DNS
// updates, NetBIOS, WINS replication, and the replication topology/replicator (one DC).
constexpr const char* kServerServices = "-dns -dnsupdate -nbt -wrepl -kcc -drepl";

std::atomic<int> namespace_counter{0};

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// Connects to host:port from a thread inside the namespace at `netns_path`.
bool tcp_connects_in(const std::string& netns_path, const std::string& host, std::uint16_t port) {
  bool ok = false;
  std::thread probe([&] {
    const int ns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return;
    const bool entered = ::setns(ns, CLONE_NEWNET) == 0;
    ::close(ns);
    if (!entered) return;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1) {
      ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    }
    ::close(fd);
  });
  probe.join();
  return ok;
}

int thread_count() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

// "OU=Legal,DC=ward,DC=test" -> "OU=Legal" (samba-tool's --computerou is relative to the domain).
std::string relative_to(const std::string& dn, const std::string& domain_dn) {
  if (dn.size() > domain_dn.size() + 1 && lower(dn.substr(dn.size() - domain_dn.size())) == lower(domain_dn)) {
    return dn.substr(0, dn.size() - domain_dn.size() - 1);
  }
  return dn;
}

}  // namespace

SambaAdInstance::SambaAdInstance(SambaAdOptions options, TempDir dir)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      smb_conf_(dir_.path() / "etc" / "smb.conf"),
      krb5_conf_(dir_.path() / "krb5.conf"),
      hosts_(dir_.path() / "hosts"),
      log_(dir_.path() / "samba.log") {}

SambaAdInstance::~SambaAdInstance() {
  process_.stop(std::chrono::seconds(10));
  if (own_netns_) {
    const auto log = dir_.path() / "netns.log";
    (void)run_command({kIp, "netns", "del", netns_}, {}, log);
  }
}

std::string SambaAdInstance::dns_domain() const { return lower(options_.realm); }

std::string SambaAdInstance::domain_dn() const {
  std::string out;
  std::stringstream parts(dns_domain());
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (!out.empty()) out += ",";
    out += "DC=" + part;
  }
  return out;
}

std::string SambaAdInstance::dc_fqdn() const { return lower(options_.host_name) + "." + dns_domain(); }
std::string SambaAdInstance::ldap_uri() const { return "ldap://" + dc_fqdn(); }
std::string SambaAdInstance::ldaps_uri() const { return "ldaps://" + dc_fqdn(); }
std::string SambaAdInstance::admin_dn() const { return "CN=Administrator,CN=Users," + domain_dn(); }
std::string SambaAdInstance::admin_principal() const { return "Administrator@" + options_.realm; }
std::filesystem::path SambaAdInstance::ca_certificate() const { return dir_.path() / "private" / "tls" / "ca.pem"; }
std::filesystem::path SambaAdInstance::sam_ldb() const { return dir_.path() / "private" / "sam.ldb"; }
std::filesystem::path SambaAdInstance::sysvol_dir() const { return dir_.path() / "state" / "sysvol"; }

std::vector<std::string> SambaAdInstance::in_dc_network(const std::vector<std::string>& argv) const {
  // nsenter and unshare exec (they fork only for PID namespaces), and sh execs the program, so
  // the pid a caller spawns is the program's own. The private mount namespace shows the DC's
  // hosts file as /etc/hosts and its run/ folder as /run/samba (so each DC has its own pid
  // file and sockets, winbindd's included, whatever another DC on the machine uses).
  std::vector<std::string> out{kNsenter,
                               "--net=/run/netns/" + netns_,
                               "--",
                               kUnshare,
                               "--mount",
                               "--propagation",
                               "private",
                               "--",
                               kShell,
                               "-c",
                               // /run/samba: Samba's compiled-in place for winbindd's socket,
                               // which libwbclient (smbd's way to winbindd) finds only there.
                               "mount --bind \"$0\" /etc/hosts && mkdir -p /run/samba && "
                               "mount --bind \"$1\" /run/samba && shift && exec \"$@\"",
                               hosts_.string(),
                               (dir_.path() / "run").string(),
                               kEnv,
                               "KRB5_CONFIG=" + krb5_conf_.string(),
                               // No replay cache file in /var/tmp: MIT's is shared by every
                               // process of the machine (other tests' DCs and slapds), and smbd
                               // failed SMB session setups (NT_STATUS_INTERNAL_ERROR) with it.
                               "KRB5RCACHETYPE=none",
                               "LDAPNOINIT=1"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

CapturedRun SambaAdInstance::run(const std::vector<std::string>& argv) const {
  const auto runs = dir_.path() / "runs";
  std::error_code ignored;
  std::filesystem::create_directories(runs, ignored);
  return run_captured(in_dc_network(argv), runs);
}

Expected<std::string, HarnessError> SambaAdInstance::samba_tool(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{kSambaTool};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--configfile=" + smb_conf_.string());
  const auto result = run(argv);
  if (result.exit_code != 0) {
    return unexpected(HarnessError{"samba-tool " + join(args, " "), result.describe()});
  }
  return result.out;
}

Expected<std::string, HarnessError> SambaAdInstance::ldbsearch(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{kLdbsearch, "-H", sam_ldb().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = run(argv);
  if (result.exit_code != 0) return unexpected(HarnessError{"ldbsearch " + join(args, " "), result.describe()});
  return result.out;
}

Expected<std::unique_ptr<SambaAdInstance>, HarnessError> SambaAdInstance::start(SambaAdOptions options) {
  auto dir = TempDir::create("ward-samba");
  if (!dir) return unexpected(dir.error());
  std::unique_ptr<SambaAdInstance> dc(new SambaAdInstance(std::move(options), std::move(*dir)));
  if (auto made = dc->make_namespace(); !made) return unexpected(made.error());
  if (auto provisioned = dc->provision(); !provisioned) return unexpected(provisioned.error());
  if (auto launched = dc->launch(); !launched) return unexpected(launched.error());
  return dc;
}

Expected<void, HarnessError> SambaAdInstance::make_namespace() {
  const auto log = dir_.path() / "netns.log";
  if (!options_.netns.empty()) {
    netns_ = options_.netns;
    if (!std::filesystem::exists("/run/netns/" + netns_)) {
      return unexpected(HarnessError{"Samba AD DC network namespace", "no namespace /run/netns/" + netns_});
    }
    return {};
  }
  netns_ = "ward-" + std::to_string(::getpid()) + "-ad-" + std::to_string(namespace_counter++);
  if (auto added = run_command({kIp, "netns", "add", netns_}, {}, log); !added) return unexpected(added.error());
  own_netns_ = true;
  if (auto up = run_command({kIp, "-n", netns_, "link", "set", "lo", "up"}, {}, log); !up) return unexpected(up.error());
  return {};
}

Expected<void, HarnessError> SambaAdInstance::provision() {
  const auto& d = dir_.path();
  // smbd serves sysvol as the user's mapped uid (3000000 and up): it must be able to pass
  // through the temp dir (mkdtemp makes it 0700). Samba keeps private/ at 0700 itself.
  const auto traversable = [&d] {
    std::filesystem::permissions(d, std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                                        std::filesystem::perms::others_exec);
  };
  traversable();
  // run/ is bind-mounted as /run/samba for every program run in the DC's network, provision too.
  std::filesystem::create_directories(d / "run");
  const std::string fqdn = dc_fqdn();
  if (auto w = write_file(hosts_, "127.0.0.1 localhost\n::1 localhost\n" + options_.host_ip + " " + fqdn + " " +
                                      lower(options_.host_name) + "\n");
      !w) {
    return unexpected(w.error());
  }
  const std::string& realm = options_.realm;
  const std::string krb5 = "[libdefaults]\n"
                           " default_realm = " + realm + "\n"
                           " dns_lookup_kdc = false\n"
                           " dns_lookup_realm = false\n"
                           " dns_canonicalize_hostname = false\n"
                           " rdns = false\n"
                           " default_ccache_name = MEMORY:ward-samba-test\n"
                           "[realms]\n " + realm + " = {\n  kdc = " + options_.host_ip + "\n }\n"
                           "[domain_realm]\n ." + dns_domain() + " = " + realm + "\n " + dns_domain() + " = " + realm + "\n";
  if (auto w = write_file(krb5_conf_, krb5); !w) return unexpected(w.error());

  const auto start = std::chrono::steady_clock::now();
  const auto provision_into = [this](const std::filesystem::path& root) { return provision_tree(root); };
  if (const auto cache = test_cache_dir()) {
    auto copied = provision_through_cache(*cache, "samba-ad", provision_key(), d, {smb_conf_.lexically_relative(d)},
                                          provision_into);
    if (!copied) return unexpected(copied.error());
    timings_.provision_copied = *copied;
    traversable();  // cp -a gave it the cached tree's mode
  } else if (auto made = provision_into(d); !made) {
    return unexpected(made.error());
  }
  timings_.provision = since(start);
  return {};
}

std::string SambaAdInstance::provision_key() const {
  // Everything provision_tree passes to samba-tool but the tree's own path, and which Samba made it.
  std::error_code ec;
  const auto samba_time = std::filesystem::last_write_time(kSamba, ec).time_since_epoch().count();
  return join({options_.realm, options_.netbios_domain, options_.host_name, options_.host_ip, options_.admin_password,
               join(options_.interfaces, " "), kServerServices, std::to_string(samba_time)},
              "\n");
}

Expected<void, HarnessError> SambaAdInstance::provision_tree(const std::filesystem::path& root) const {
  const auto smb_conf = root / smb_conf_.lexically_relative(dir_.path());
  std::filesystem::create_directories(smb_conf.parent_path());
  std::filesystem::create_directories(root / "run");
  // An empty smb.conf at --configfile: provision writes its own there instead of reading the
  // machine's /etc/samba/smb.conf.
  if (auto w = write_file(smb_conf, ""); !w) return unexpected(w.error());
  const std::string& realm = options_.realm;
  const std::vector<std::string> argv{kSambaTool, "domain", "provision",
                                      "--configfile=" + smb_conf.string(),
                                      "--targetdir=" + root.string(),
                                      "--realm=" + realm,
                                      "--domain=" + options_.netbios_domain,
                                      "--server-role=dc",
                                      "--dns-backend=SAMBA_INTERNAL",
                                      "--adminpass=" + options_.admin_password,
                                      "--use-rfc2307",
                                      "--host-ip=" + options_.host_ip,
                                      "--host-name=" + options_.host_name,
                                      "--option=interfaces=" + join(options_.interfaces, " "),
                                      "--option=bind interfaces only=yes",
                                      std::string("--option=server services=") + kServerServices,
                                      "--option=log file=" + (root / "log.%m").string(),
                                      // Not the machine's /run/samba and /var/lib/samba: another
                                      // DC there (another test's, a system one) holds the pid file
                                      // and sockets. (run/ is also /run/samba for the DC's
                                      // processes: in_dc_network.)
                                      "--option=pid directory=" + (root / "run").string(),
                                      "--option=ncalrpc dir=" + (root / "run" / "ncalrpc").string(),
                                      "--option=winbindd socket directory=" + (root / "run" / "winbindd").string(),
                                      "--option=ntp signd socket directory=" + (root / "ntp_signd").string()};
  auto made = run_command(in_dc_network(argv), {}, root / "provision.log", kProvisionTimeout);
  if (!made) return unexpected(HarnessError{"samba-tool domain provision (realm " + realm + ")", made.error().detail});

  // The generated `dns forwarder` points at the machine's resolver: never used, never kept.
  std::ifstream in(smb_conf);
  std::string line;
  std::string kept;
  while (std::getline(in, line)) {
    if (line.find("dns forwarder") == std::string::npos) kept += line + "\n";
  }
  in.close();
  return write_file(smb_conf, kept);
}

Expected<void, HarnessError> SambaAdInstance::launch() {
  const auto start = std::chrono::steady_clock::now();
  // -i: foreground, our pid, log on stdout; -M single: one process for all AD services.
  auto child = ChildProcess::spawn(in_dc_network({kSamba, "-i", "-M", "single", "-s", smb_conf_.string()}), {}, log_);
  if (!child) return unexpected(child.error());
  process_ = std::move(*child);
  if (auto serving = wait_until_serving(); !serving) return unexpected(serving.error());
  // Without the dnsupdate service nobody registers the DC's ldap/<host> service principals.
  const auto spn = run({kSpnUpdate, "-s", smb_conf_.string()});
  if (spn.exit_code != 0) return unexpected(HarnessError{"samba_spnupdate", spn.describe()});
  timings_.start = since(start);
  return {};
}

Expected<void, HarnessError> SambaAdInstance::wait_until_serving() {
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  const std::string netns_path = "/run/netns/" + netns_;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_.running()) {
      return unexpected(HarnessError{"start samba (" + dc_fqdn() + " in " + netns_ + ")",
                                     "samba " + process_.exit_description() + "; log:\n" + file_tail(log_)});
    }
    constexpr std::array<std::uint16_t, 3> kPorts{kLdapPort, kKerberosPort, kSmbPort};
    const bool up = std::all_of(kPorts.begin(), kPorts.end(),
                                [&](std::uint16_t port) { return tcp_connects_in(netns_path, options_.host_ip, port); });
    if (up && std::filesystem::exists(ca_certificate())) return {};
    std::this_thread::sleep_for(kSambaProbeInterval);
  }
  return unexpected(HarnessError{"start samba (" + dc_fqdn() + " in " + netns_ + ")",
                                 "LDAP, Kerberos and SMB not all answering within " +
                                     std::to_string(options_.start_timeout.count()) + " ms; log:\n" + file_tail(log_)});
}

Expected<void, HarnessError> SambaAdInstance::enter_network() const {
  const int threads = thread_count();
  if (threads != 1) {
    return unexpected(HarnessError{"enter the DC's network", "the process has " + std::to_string(threads) +
                                                                 " threads; a private mount namespace needs one"});
  }
  const std::string netns_path = "/run/netns/" + netns_;
  const int ns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) return unexpected(HarnessError{"open " + netns_path, errno_text(errno)});
  const int entered = ::setns(ns, CLONE_NEWNET);
  const int setns_errno = errno;
  ::close(ns);
  if (entered != 0) return unexpected(HarnessError{"setns " + netns_path, errno_text(setns_errno)});
  if (::unshare(CLONE_NEWNS) != 0) return unexpected(HarnessError{"unshare(CLONE_NEWNS)", errno_text(errno)});
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return unexpected(HarnessError{"make / private in the new mount namespace", errno_text(errno)});
  }
  if (::mount(hosts_.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
    return unexpected(HarnessError{"bind-mount " + hosts_.string() + " over /etc/hosts", errno_text(errno)});
  }
  ::setenv("KRB5_CONFIG", krb5_conf_.c_str(), 1);
  return {};
}

Expected<void, HarnessError> SambaAdInstance::create_ou(const std::string& ou_dn) const {
  auto made = samba_tool({"ou", "create", ou_dn});
  if (!made) return unexpected(made.error());
  return {};
}

Expected<void, HarnessError> SambaAdInstance::create_user(const std::string& name, const std::string& password) const {
  auto made = samba_tool({"user", "create", name, password});
  if (!made) return unexpected(made.error());
  return {};
}

Expected<std::string, HarnessError> SambaAdInstance::create_computer(const std::string& name, const std::string& password,
                                                                     const std::string& ou_dn) const {
  std::vector<std::string> args{"computer", "create", name};
  if (!ou_dn.empty()) args.push_back("--computerou=" + relative_to(ou_dn, domain_dn()));
  if (auto made = samba_tool(args); !made) return unexpected(made.error());
  // A new computer account is disabled and has no password: exportkeytab would write nothing.
  if (auto set = samba_tool({"user", "setpassword", name + "$", "--newpassword=" + password}); !set) {
    return unexpected(set.error());
  }
  if (auto enabled = samba_tool({"user", "enable", name + "$"}); !enabled) return unexpected(enabled.error());
  return "CN=" + name + "," + (ou_dn.empty() ? "CN=Computers," + domain_dn() : ou_dn);
}

Expected<void, HarnessError> SambaAdInstance::export_keytab(const std::string& principal,
                                                            const std::filesystem::path& keytab) const {
  std::error_code ignored;
  std::filesystem::remove(keytab, ignored);  // exportkeytab adds to an existing file
  if (auto exported = samba_tool({"domain", "exportkeytab", keytab.string(), "--principal=" + principal}); !exported) {
    return unexpected(exported.error());
  }
  if (!std::filesystem::exists(keytab) || std::filesystem::file_size(keytab) == 0) {
    return unexpected(HarnessError{"samba-tool domain exportkeytab --principal=" + principal,
                                   "wrote no keys (account disabled or without a password?)"});
  }
  return {};
}

Expected<std::filesystem::path, HarnessError> SambaAdInstance::admin_keytab() {
  if (admin_keytab_.empty()) {
    const auto keytab = dir_.path() / "administrator.keytab";
    if (auto exported = export_keytab("Administrator", keytab); !exported) return unexpected(exported.error());
    admin_keytab_ = keytab;
  }
  return admin_keytab_;
}

Expected<SambaAdInstance*, HarnessError> shared_samba_ad() {
  static std::mutex mutex;
  static std::unique_ptr<SambaAdInstance> instance;
  static std::optional<HarnessError> failure;
  std::lock_guard lock(mutex);
  if (instance) return instance.get();
  if (failure) return unexpected(*failure);
  auto started = SambaAdInstance::start({});
  if (!started) {
    failure = started.error();
    return unexpected(*failure);
  }
  if (auto entered = (*started)->enter_network(); !entered) {
    failure = entered.error();
    return unexpected(*failure);
  }
  instance = std::move(*started);
  return instance.get();
}

}  // namespace ward::test
