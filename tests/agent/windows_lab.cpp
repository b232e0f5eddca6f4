#include "tests/agent/windows_lab.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>
#include <thread>

#include "directory/adblob/ldif_test_support.h"
#include "directory/adblob/policy_from_ad.h"
#include "directory/ldap/session.h"
#include "directory/model/fresh_ids.h"
#include "directory/store/gpo_admin.h"
#include "directory/store/ldif.h"

namespace ward::test::windows {

namespace {

using namespace std::chrono_literals;
using ward::testing::Netns;
using ward::testing::run_command;

constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kSocat = "/usr/bin/socat";
constexpr const char* kTshark = "/usr/bin/tshark";
constexpr auto kStartLimit = 60s;
constexpr const char* kSubnet = "10.40.0.";

struct RoleInfo {
  Role role;
  std::string_view name;
  std::string_view prefix;  // host names: s1, s2 ...
  std::string_view ou;      // the OU its computers are in
  std::string_view policy_rdn;  // Windows' policy object (empty: none assigned)
};
constexpr std::array<RoleInfo, 4> kRoles{{
    {Role::Secure, "Secure Server", "s", "Secure Servers", "ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}"},
    {Role::Request, "Request Security", "r", "Servers", "ipsecPolicy{72385230-70FA-11D1-864C-14A300000000}"},
    {Role::RespondOnly, "Respond Only", "c", "Clients", "ipsecPolicy{72385236-70FA-11D1-864C-14A300000000}"},
    {Role::NoPolicy, "no policy", "n", "Unmanaged", ""},
}};

const RoleInfo& info(Role role) { return kRoles[static_cast<std::size_t>(role)]; }

std::string ou_dn(Role role) { return "OU=" + std::string(info(role).ou) + "," + kDomainDn; }
std::string fqdn(const std::string& host) { return host + "." + kDnsDomain; }

template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

// The domain's skeleton: containers, one OU per role, the computers (their dNSHostName is what the
// directory maps a host principal to).
std::string base_ldif(const std::vector<Host>& hosts) {
  std::string text = std::string("dn: ") + kDomainDn + "\nobjectClass: domain\nobjectClass: wardGroupPolicyLinks\ndc: samba\n\n";
  for (const auto* cn : {"System", "Policies,CN=System", "IP Security,CN=System"}) {
    const std::string rdn = cn;
    text += "dn: CN=" + rdn + "," + kDomainDn + "\nobjectClass: container\ncn: " + rdn.substr(0, rdn.find(',')) + "\n\n";
  }
  for (const auto& r : kRoles) text += "dn: " + ou_dn(r.role) + "\nobjectClass: organizationalUnit\nou: " + std::string(r.ou) + "\n\n";
  for (const auto& h : hosts) {
    std::string account = h.name;
    for (auto& c : account) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    text += "dn: CN=" + h.name + "," + ou_dn(h.role) + "\nobjectClass: computer\ncn: " + h.name + "\nsAMAccountName: " + account +
            "$\ndNSHostName: " + fqdn(h.name) + "\n\n";
  }
  return text;
}

// Windows' LDIF as slapd takes it: without comments and isCriticalSystemObject (not in Ward's
// schema; it only marks the objects as the system's). Every ipsecData stays as Windows wrote it.
std::string windows_ldif(const std::filesystem::path& file) {
  std::istringstream in(read_text(file));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind('#', 0) == 0 || line.rfind("isCriticalSystemObject:", 0) == 0) continue;
    out += line + "\n";
  }
  return out;
}

Expected<void, std::string> must(int status, const std::string& what) {
  if (status != 0) return unexpected(what + " failed (exit " + std::to_string(status) + ")");
  return {};
}

}  // namespace

std::string_view name_of(Role role) noexcept { return info(role).name; }

Expected<std::vector<std::pair<Role, model::Policy>>, std::string> windows_default_policies(const std::filesystem::path& source_dir) {
  const auto objects = adblob::testing::ad_objects_of((source_dir / "tests/data/ad/windows-default-ipsec.ldif").string());
  std::vector<std::pair<Role, model::Policy>> out;
  for (const auto& r : kRoles) {
    if (r.policy_rdn.empty()) continue;
    const std::string dn = "CN=" + std::string(r.policy_rdn) + ",CN=IP Security,CN=System," + kDomainDn;
    auto policy = adblob::policy_from_ad(objects, dn);
    if (!policy) return unexpected(dn + ": " + policy.error().to_string());
    out.emplace_back(r.role, std::move(*policy));
  }
  return out;
}

model::Policy look_alike(model::Policy policy) {
  // Modern main mode and quick mode methods; everything else (rules, filters, pass-through,
  // fallback, the default response rule, Kerberos) as Windows wrote it.
  policy.allow_legacy_algorithms = false;
  policy.key_exchange.methods = {{model::Cipher::Aes256Cbc, model::Integrity::Sha256, model::DhGroup::Ecp256},
                                 {model::Cipher::Aes128Cbc, model::Integrity::Sha1, model::DhGroup::Modp2048}};
  for (auto& action : policy.filter_actions) {
    if (action.kind != model::ActionKind::Negotiate) continue;
    const auto seconds = action.security_methods.empty() ? 900U : action.security_methods.front().lifetime_seconds;
    const auto kilobytes = action.security_methods.empty() ? 100000U : action.security_methods.front().lifetime_kilobytes;
    action.security_methods = {
        model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Aes256Gcm, model::Integrity::None}, kilobytes, seconds},
        model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Aes128Cbc, model::Integrity::Sha256}, kilobytes, seconds}};
  }
  return model::with_fresh_ids(std::move(policy));
}

Expected<std::unique_ptr<Lab>, std::string> Lab::start(PolicySet set, const std::filesystem::path& source_dir, LabOptions options) {
  std::unique_ptr<Lab> lab(new Lab());
  lab->options_ = options;
  auto dir = TempDir::create("ward-windows-lab");
  if (!dir) return unexpected(dir.error().to_string());
  lab->dir_.emplace(std::move(*dir));
  int index = 0;
  for (const auto& r : kRoles) {
    for (int n = 1; n <= 2; ++n) {
      Host h;
      h.role = r.role;
      h.name = std::string(r.prefix) + std::to_string(n);
      h.address = kSubnet + std::to_string(11 + index++);
      lab->hosts_.push_back(std::move(h));
    }
  }
  if (auto started = lab->start_services(set, source_dir); !started) return unexpected(started.error());
  if (auto started = lab->start_hosts(); !started) return unexpected(started.error() + "\n" + lab->logs_tail());
  return lab;
}

Expected<void, std::string> Lab::start_services(PolicySet set, const std::filesystem::path& source_dir) {
  auto kdc = KdcInstance::start({kRealm});
  if (!kdc) return unexpected(kdc.error().to_string());
  kdc_ = std::move(*kdc);
  const auto service_keytab = kdc_->dir() / "ldap.keytab";
  if (auto a = kdc_->add_principal("ldap/localhost"); !a) return unexpected(a.error().to_string());
  if (auto e = kdc_->extract_keytab("ldap/localhost", service_keytab); !e) return unexpected(e.error().to_string());
  for (const auto& h : hosts_) {
    const auto principal = "host/" + fqdn(h.name);
    if (auto a = kdc_->add_principal(principal); !a) return unexpected(a.error().to_string());
    if (auto e = kdc_->extract_keytab(principal, kdc_->dir() / (h.name + ".keytab")); !e) return unexpected(e.error().to_string());
  }

  // The directory: the skeleton, then the policies' objects.
  std::string policies;
  std::vector<std::pair<Role, std::string>> policy_dns;
  if (set == PolicySet::WindowsBlobs) {
    policies = windows_ldif(source_dir / "tests/data/ad/windows-default-ipsec.ldif");
    for (const auto& r : kRoles) {
      if (!r.policy_rdn.empty()) policy_dns.emplace_back(r.role, "CN=" + std::string(r.policy_rdn) + ",CN=IP Security,CN=System," + kDomainDn);
    }
  } else {
    auto decoded = windows_default_policies(source_dir);
    if (!decoded) return unexpected(decoded.error());
    for (auto& [role, policy] : *decoded) {
      const auto modern = look_alike(policy);
      auto text = store::policy_ldif(modern, kDomainDn);
      if (!text) return unexpected("writing the look-alike of \"" + policy.name + "\": " + text.error().to_string());
      policies += *text;
      policy_dns.emplace_back(role, adblob::ipsec_dn(adblob::AdClass::Policy, modern.id, kDomainDn));
    }
  }
  const auto base = dir_->path() / "base.ldif";
  const auto objects = dir_->path() / "policies.ldif";
  if (auto w = write_file(base, base_ldif(hosts_)); !w) return unexpected(w.error().to_string());
  if (auto w = write_file(objects, policies); !w) return unexpected(w.error().to_string());

  SlapdOptions options;
  options.suffix = "dc=samba,dc=example,dc=com";
  options.root_dn = "cn=admin,dc=samba,dc=example,dc=com";
  options.create_suffix_entry = false;
  options.extra_schemas = {source_dir / "schemas/openldap/ward-ad-ipsec.ldif"};
  options.initial_ldif = {base, objects};
  SlapdSaslSettings sasl;
  sasl.sasl_host = "localhost";
  sasl.realm = kRealm;
  sasl.keytab = service_keytab;
  sasl.krb5_config = kdc_->krb5_config();
  sasl.authz_regexps = {{"^uid=host/([^,]+)(,cn=samba\\.example\\.com)?,cn=gssapi,cn=auth$",
                         "ldap:///dc=samba,dc=example,dc=com??sub?(dNSHostName=$1)"}};
  options.sasl = sasl;
  auto slapd = SlapdInstance::start(options);
  if (!slapd) return unexpected(slapd.error().to_string());
  slapd_ = std::move(*slapd);
  return assign_policies(policy_dns);
}

// One GPO per policy, linked to its role's OU, with the policy assigned: as an administrator does
// it in Active Directory (directory/store's GPO administration over LDAP).
Expected<void, std::string> Lab::assign_policies(const std::vector<std::pair<Role, std::string>>& policy_dns) {
  ldap::SessionOptions admin;
  admin.uris = {slapd_->ldap_uri()};
  admin.bind = ldap::SimpleBind{slapd_->options().root_dn, model::Secret(slapd_->options().root_password)};
  auto session = ldap::Session::connect(admin);
  if (!session) return unexpected("binding as the directory's administrator: " + session.error().to_string());
  for (const auto& [role, policy_dn] : policy_dns) {
    auto gpo = store::create_gpo(**session, kDomainDn, std::string(name_of(role)) + " IPsec");
    if (!gpo) return unexpected("creating a GPO: " + gpo.error().to_string());
    if (auto linked = store::link_gpo(**session, ou_dn(role), *gpo, {}); !linked) return unexpected(linked.error().to_string());
    if (auto assigned = store::assign_policy(**session, *gpo, policy_dn); !assigned) return unexpected(assigned.error().to_string());
  }
  return {};
}

Expected<void, std::string> Lab::start_hosts() {
  const auto& top = dir_->path();
  // One bridge in a namespace of its own: the hosts' switch.
  switch_ = std::make_unique<Netns>("switch");
  if (auto ok = must(switch_->exec("ip link add br0 type bridge && ip link set br0 up"), "creating the bridge"); !ok) return ok;
  capture_file_ = top / "bridge.pcap";
  auto capture = ChildProcess::spawn({kIp, "netns", "exec", switch_->name(), kTshark, "-q", "-n", "-i", "br0", "-w", capture_file_.string()},
                                     {}, top / "tshark.log");
  if (!capture) return unexpected(capture.error().to_string());
  capture_ = std::move(*capture);
  if (!eventually([&] { return read_text(top / "tshark.log").find("Capturing on") != std::string::npos; }, 20s)) {
    return unexpected("tshark did not start capturing on the bridge: " + file_tail(top / "tshark.log"));
  }
  // The KDC listens on the root namespace's loopback: the hosts reach it through a Unix socket.
  const auto kdc_socket = top / "kdc.sock";
  auto relay = ChildProcess::spawn({kSocat, "UNIX-LISTEN:" + kdc_socket.string() + ",fork,mode=0600",
                                    "TCP:127.0.0.1:" + std::to_string(kdc_->port())},
                                   {}, top / "kdc-relay.log");
  if (!relay) return unexpected(relay.error().to_string());
  kdc_relay_ = std::move(*relay);
  if (!wait_for_unix_listener(kdc_socket, 10s)) return unexpected(std::string("the KDC relay never listened"));

  std::string hosts_file = "127.0.0.1 localhost\n";
  for (const auto& h : hosts_) hosts_file += h.address + " " + fqdn(h.name) + " " + h.name + "\n";
  const auto ldapi = slapd_->dir() / "ldapi";
  int index = 0;
  for (auto& h : hosts_) {
    h.ns = std::make_unique<Netns>(h.name);
    h.dir = top / h.name;
    h.socket = h.dir / "run" / "control.sock";
    h.log = h.dir / "wardd.log";
    std::filesystem::create_directories(h.dir);
    const std::string link = "wh" + std::to_string(::getpid() % 100000) + "x" + std::to_string(index);
    const std::string port = "wp" + std::to_string(::getpid() % 100000) + "x" + std::to_string(index++);
    if (auto ok = must(run_command(std::string(kIp) + " link add " + link + " netns " + h.ns->name() + " type veth peer name " + port +
                                   " netns " + switch_->name()),
                       "creating the veth pair of " + h.name);
        !ok) {
      return ok;
    }
    if (auto ok = must(switch_->exec("ip link set " + port + " master br0 && ip link set " + port + " up"), "plugging " + h.name); !ok) return ok;
    // IPv4 only: IPv6 would add neighbour discovery that "All IP Traffic" has no use for here.
    if (auto ok = must(h.ns->exec("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && ip addr add " + h.address + "/24 dev " + link +
                                  " && ip link set " + link + " up"),
                       "addressing " + h.name);
        !ok) {
      return ok;
    }
    // Names for Kerberos: IKE asks for host/<the peer's name> (ip netns exec mounts this file).
    const auto etc = std::filesystem::path("/etc/netns") / h.ns->name();
    std::filesystem::create_directories(etc);
    if (auto w = write_file(etc / "hosts", hosts_file); !w) return unexpected(w.error().to_string());
    for (const auto& [listen, target, log] :
         {std::tuple{std::to_string(kdc_->port()), "UNIX-CONNECT:" + kdc_socket.string(), "kdc-relay.log"},
          std::tuple{std::to_string(slapd_->port()), "UNIX-CONNECT:" + ldapi.string(), "ldap-relay.log"}}) {
      auto r = ChildProcess::spawn({kIp, "netns", "exec", h.ns->name(), kSocat, "TCP-LISTEN:" + listen + ",bind=127.0.0.1,fork,reuseaddr", target},
                                   {}, h.dir / log);
      if (!r) return unexpected(r.error().to_string());
      relays_.push_back(std::move(*r));
    }
    std::string monitor;
    if (options_.monitor) {
      auto section = monitor_section(h);
      if (!section) return unexpected(section.error());
      monitor = std::move(section).value();
    }
    std::string account = h.name;
    for (auto& c : account) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto config = h.dir / "ward.conf";
    if (auto w = write_file(config, "[directory]\nuri = ldap://localhost:" + std::to_string(slapd_->port()) + "\nrealm = " + kRealm +
                                        "\nkeytab = " + (kdc_->dir() / (h.name + ".keytab")).string() + "\nprincipal = host/" +
                                        fqdn(h.name) + "@" + kRealm + "\ncomputer_name = " + account + "$\n[driver]\nbackend = nfqueue\n"
                                        "[control]\nsocket = " + h.socket.string() + "\n[cache]\npath = " +
                                        (h.dir / "state" / "ward.db").string() + "\n[log]\nlevel = debug\n[privsep]\nuser = nobody\n" + monitor);
        !w) {
      return unexpected(w.error().to_string());
    }
  }
  // The relays listen before any wardd asks for a ticket.
  for (const auto& h : hosts_) {
    const auto kdc_port = std::to_string(kdc_->port());
    if (!eventually([&] { return h.ns->exec("ss -ltn | grep -q 127.0.0.1:" + kdc_port) == 0; }, 10s)) {
      return unexpected("the relays in " + h.name + " never listened");
    }
  }
  for (auto& h : hosts_) {
    auto child = ChildProcess::spawn({kIp, "netns", "exec", h.ns->name(), WARDD_PATH, "--config", (h.dir / "ward.conf").string()},
                                     {{"KRB5_CONFIG", kdc_->krb5_config().string()}, {"KRB5CCNAME", "MEMORY:wardd"}}, h.log);
    if (!child) return unexpected(child.error().to_string());
    h.wardd = std::move(*child);
  }
  for (const auto& h : hosts_) {
    const bool ready = eventually(
        [&] {
          const auto policy = wardctl_json(h, "show policy");
          if (!policy.is_object()) return false;
          if (h.role != Role::NoPolicy) return policy.value("state", "") == "applied";
          const auto events = wardctl_text(h, "show events");
          return events.find("no IPsec policy assigned") != std::string::npos;
        },
        kStartLimit);
    if (!ready) return unexpected(h.name + "'s wardd did not apply its policy: " + file_tail(h.log, 4000));
  }
  return {};
}

Expected<std::string, std::string> Lab::monitor_section(Host& h) {
  constexpr const char* kMonitorPort = "4443";  // inside the host's own namespace: no collision
  const auto& top = dir_->path();
  if (!monitor_ca_) {
    auto ca = make_test_ca(top, "monitor-ca");
    if (!ca) return unexpected(ca.error().to_string());
    auto client = issue_client_certificate(*ca, top, "helpdesk", "helpdesk");
    if (!client) return unexpected(client.error().to_string());
    monitor_ca_ = *ca;
    monitor_ = MonitorCredentials{*client, ca->certificate};
  }
  auto server = issue_server_certificate(*monitor_ca_, h.dir, "monitor", fqdn(h.name), {"IP:127.0.0.1"});
  if (!server) return unexpected(server.error().to_string());
  auto port = free_loopback_port();
  if (!port) return unexpected(port.error().to_string());
  // root 127.0.0.1:port -> <host>/monitor.sock -> the host's 127.0.0.1:4443 (Unix sockets cross namespaces).
  const auto socket = h.dir / "monitor.sock";
  auto inside = ChildProcess::spawn({kIp, "netns", "exec", h.ns->name(), kSocat, "UNIX-LISTEN:" + socket.string() + ",fork,mode=0600",
                                     std::string("TCP:127.0.0.1:") + kMonitorPort},
                                    {}, h.dir / "monitor-relay.log");
  if (!inside) return unexpected(inside.error().to_string());
  relays_.push_back(std::move(*inside));
  auto outside = ChildProcess::spawn({kSocat, "TCP-LISTEN:" + std::to_string(*port) + ",bind=127.0.0.1,fork,reuseaddr",
                                      "UNIX-CONNECT:" + socket.string()},
                                     {}, h.dir / "monitor-root-relay.log");
  if (!outside) return unexpected(outside.error().to_string());
  relays_.push_back(std::move(*outside));
  h.monitor_endpoint = "127.0.0.1:" + std::to_string(*port);
  return std::string("[monitor]\nenabled = yes\nlisten = 127.0.0.1:") + kMonitorPort + "\ntls_cert = " + server->certificate.string() +
         "\ntls_key = " + server->private_key.string() + "\ntls_ca = " + monitor_ca_->certificate.string() + "\n";
}

std::string Lab::stop_wardds() {
  for (auto& h : hosts_) {
    if (h.wardd.pid() > 0) ::kill(h.wardd.pid(), SIGTERM);
  }
  std::string found;
  for (auto& h : hosts_) {
    h.wardd.stop();
    const auto log = read_text(h.log);
    for (const auto* mark : {"Sanitizer", "runtime error:"}) {
      if (const auto at = log.find(mark); at != std::string::npos) found += h.name + ": " + log.substr(at, 2000) + "\n";
    }
  }
  return found;
}

Lab::~Lab() {
  (void)stop_wardds();
  capture_.stop();
  relays_.clear();
  kdc_relay_.stop();
  for (auto& h : hosts_) {
    if (h.ns) std::filesystem::remove_all(std::filesystem::path("/etc/netns") / h.ns->name());
    h.ns.reset();
  }
  switch_.reset();
  slapd_.reset();
  kdc_.reset();
}

Host& Lab::host(Role role, int index) {
  for (auto& h : hosts_) {
    if (h.role == role && h.name.back() == static_cast<char>('0' + index)) return h;
  }
  throw std::out_of_range("no such host");
}

std::string Lab::wardctl_text(const Host& host, const std::string& command) const {
  const auto out = host.dir / ("wardctl-" + std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())) + ".out");
  const int status = run_command(std::string(WARDCTL_PATH) + " --socket " + host.socket.string() + " " + command + " > " + out.string() +
                                 " 2>&1");
  auto text = read_text(out);
  std::filesystem::remove(out);
  return status == 0 ? text : std::string();
}

nlohmann::json Lab::wardctl_json(const Host& host, const std::string& command) const {
  const auto text = wardctl_text(host, "--json " + command);
  if (text.empty()) return nullptr;
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json(nullptr) : parsed;
}

std::vector<std::string> Lab::finish_capture() {
  capture_.stop();
  const auto fields = run_captured({kTshark, "-r", capture_file_.string(), "-n", "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e",
                                    "ip.dst", "-e", "ip.proto", "-e", "udp.dstport", "-e", "tcp.flags", "-e", "tcp.len"},
                                   dir_->path());
  std::vector<std::string> lines;
  std::istringstream in(fields.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string Lab::logs_tail(std::size_t bytes_per_host) const {
  std::string out;
  for (const auto& h : hosts_) {
    if (!h.log.empty()) out += "---- " + h.name + " (" + h.address + ")\n" + file_tail(h.log, bytes_per_host) + "\n";
  }
  return out;
}

}  // namespace ward::test::windows
