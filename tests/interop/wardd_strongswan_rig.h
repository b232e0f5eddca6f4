// The rig shared by the wardd <-> strongSwan interop tests: the real wardd (local policy file) in
// one network namespace, charon-systemd in the other, joined by a veth pair; a capture on Ward's end
// of the veth. charon does ESP one of two ways (CharonKernel):
//  - Libipsec, on the host (a kernel without ESP): charon's kernel-libipsec, tunnel mode in UDP
//    only, wardd with the nfqueue backend, tshark capturing. The policy is the Windows pair of
//    tunnel rules (Ward -> charon through charon's endpoint, charon -> Ward through Ward's).
//  - Netlink, inside User-mode Linux (a kernel with ESP and AH: tests/harness/uml_kernel.h):
//    charon's kernel-netlink, wardd with `backend = auto` (which must pick xfrm), transport mode,
//    ESP or AH, and an AF_PACKET capture (tests/netns/packet_capture.h; tshark is too slow there).
// Authentication is the test's choice; charon's swanctl.conf is the test's. Facts about charon in
// such a rig: /work/shared/reference/strongswan-peer.md.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "directory/model/policy.h"
#include "directory/model/policy_json.h"
#include "tests/harness/process.h"
#include "tests/netns/netns.h"
#include "tests/netns/packet_capture.h"

namespace ward::interop {

using namespace std::chrono_literals;

inline constexpr const char* kCharon = "/usr/sbin/charon-systemd";
inline constexpr const char* kSwanctl = "/usr/sbin/swanctl";
inline constexpr const char* kTshark = "/usr/bin/tshark";
inline constexpr const char* kIp = "/usr/sbin/ip";
inline constexpr const char* kWardAddress = "10.79.0.1";
inline constexpr const char* kCharonAddress = "10.79.0.2";
inline constexpr auto kWaitLimit = 10s;
inline constexpr auto kMainModeGiveUp = 15s;   // wardd retransmits main mode 5 for 7.5 s before it gives up
inline constexpr int kPingAttempts = 8;
inline constexpr int kRttPings = 5;

inline IpAddress ip(const char* text) { return *IpAddress::parse(text); }

enum class CharonKernel { Libipsec, Netlink };

// Two unmirrored filters, each in its own tunnel rule (Windows tunnel rules are one per direction),
// ESP AES-128-CBC / HMAC-SHA-256, main mode AES-128 / SHA-256 / MODP-2048, authenticated by `auth`.
inline model::Policy tunnel_policy(const model::AuthMethod& auth) {
  model::Policy p;
  p.id = model::Guid::random();
  p.name = "Ward to strongSwan tunnel";
  p.key_exchange.id = model::Guid::random();
  p.key_exchange.methods = {{model::Cipher::Aes128Cbc, model::Integrity::Sha256, model::DhGroup::Modp2048}};
  p.key_exchange.lifetime_minutes = 60;
  model::FilterAction secure;
  secure.id = model::Guid::random();
  secure.name = "require ESP";
  secure.kind = model::ActionKind::Negotiate;
  secure.security_methods = {
      model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Aes128Cbc, model::Integrity::Sha256}, 100000, 3600}};
  p.filter_actions = {secure};
  auto add_rule = [&](const char* name, const char* from, const char* to, const char* endpoint) {
    model::FilterList list{model::Guid::random(), std::string(name) + " traffic", {}, {}};
    list.filters.push_back(model::Filter{model::Guid::random(), name, model::AddressSpec::host(ip(from)),
                                         model::AddressSpec::host(ip(to)), model::ip_protocol::kAny, PortRange::any(),
                                         PortRange::any(), false});
    p.filter_lists.push_back(list);
    model::Rule rule;
    rule.id = model::Guid::random();
    rule.name = name;
    rule.filter_list = list.id;
    rule.filter_action = secure.id;
    rule.auth_methods = {auth};
    rule.tunnel_endpoint = ip(endpoint);
    p.rules.push_back(rule);
  };
  add_rule("Ward to charon", kWardAddress, kCharonAddress, kCharonAddress);
  add_rule("charon to Ward", kCharonAddress, kWardAddress, kWardAddress);
  return p;
}

// One mirrored filter Ward <-> charon (any protocol) in a transport mode rule, main mode AES-128 /
// SHA-256 / MODP-2048, quick mode `methods` (ESP, AH or both), authenticated by `auth`.
inline model::Policy transport_policy(const model::AuthMethod& auth, std::vector<model::SecurityMethod> methods) {
  auto p = tunnel_policy(auth);
  p.name = "Ward to strongSwan, transport mode";
  p.filter_actions[0].security_methods = std::move(methods);
  p.filter_lists.resize(1);
  p.filter_lists[0].name = "Ward and charon";
  p.filter_lists[0].filters[0].mirrored = true;
  p.rules.resize(1);
  p.rules[0].name = "Ward and charon";
  p.rules[0].tunnel_endpoint.reset();
  return p;
}

// The openssl plugin is listed but optional (Debian ships it in libstrongswan-standard-plugins);
// without it gmp does RSA and MODP, and x509 / pem / pkcs1 / pkcs8 read certificates and keys.
// Netlink: the kernel's ESP and AH through kernel-netlink (no libipsec, no routes: transport mode).
inline std::string strongswan_conf(const std::filesystem::path& dir, CharonKernel kernel = CharonKernel::Libipsec) {
  const bool libipsec = kernel == CharonKernel::Libipsec;
  return "charon-systemd {\n  journal {\n    default = -1\n  }\n}\n"
         "charon {\n"
         "  load_modular = no\n"
         "  load = random nonce openssl aes sha1 sha2 hmac gmp curve25519 kdf pem pkcs1 pkcs8 x509 pubkey revocation "
         "constraints " + std::string(libipsec ? "kernel-libipsec " : "") + "kernel-netlink socket-default vici updown\n" +
         (libipsec ? "" : "  install_routes = no\n") +
         "  filelog {\n    charon {\n      path = " + (dir / "charon.log").string() +
         "\n      flush_line = yes\n      default = 1\n      ike = 2\n      cfg = 2\n    }\n  }\n"
         "  plugins {\n"
         "    vici {\n      socket = unix://" + (dir / "charon.vici").string() + "\n    }\n" +
         (libipsec ? "    kernel-libipsec {\n      allow_peer_ts = yes\n    }\n"
                     "    kernel-netlink {\n      fwmark = !0x42\n    }\n"
                     "    socket-default {\n      fwmark = 0x42\n    }\n"
                   : "") +
         "  }\n}\n";
}

// charon's IKEv1 connection to Ward: `local` and `remote` are the lines of the auth rounds,
// `options` extra connection lines; the CHILD_SA is the host-to-host tunnel. `proposals` and
// `esp_proposals` are swanctl's (main mode, quick mode; no esp_proposals line when empty);
// `child` adds lines to the CHILD_SA (ah_proposals, start_action).
inline std::string swanctl_connection(const std::string& local, const std::string& remote, const std::string& options = "",
                                      const std::string& proposals = "aes128-sha256-modp2048",
                                      const std::string& esp_proposals = "aes128-sha256", const std::string& mode = "tunnel",
                                      const std::string& child = "") {
  const std::string ward = kWardAddress, charon = kCharonAddress;
  return "connections {\n  ward {\n    version = 1\n    local_addrs = " + charon + "\n    remote_addrs = " + ward + "\n"
         "    proposals = " + proposals + "\n" + options +
         "    local {\n" + local + "    }\n"
         "    remote {\n" + remote + "    }\n"
         "    children {\n      ward {\n        local_ts = " + charon + "/32\n        remote_ts = " + ward + "/32\n"
         "        mode = " + mode + "\n" + (esp_proposals.empty() ? "" : "        esp_proposals = " + esp_proposals + "\n") + child +
         "      }\n    }\n  }\n}\n";
}

template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit = kWaitLimit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

inline long long ms_since(std::chrono::steady_clock::time_point start) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
}

// The CHILD_SA's byte counters in `swanctl --list-sas` ("    in  c91cec62,    588 bytes,     7 packets").
inline std::pair<long long, long long> child_sa_bytes(const std::string& list) {
  std::smatch in, out;
  static const std::regex kIn(R"(\bin\s+[0-9a-f]+,\s+(\d+) bytes)"), kOut(R"(\bout\s+[0-9a-f]+,\s+(\d+) bytes)");
  return {std::regex_search(list, in, kIn) ? std::stoll(in[1]) : -1, std::regex_search(list, out, kOut) ? std::stoll(out[1]) : -1};
}

class WarddStrongSwanRig : public ::testing::Test {
 protected:
  explicit WarddStrongSwanRig(CharonKernel kernel = CharonKernel::Libipsec) : kernel_(kernel) {}

  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    for (const char* tool : {kCharon, kSwanctl}) {
      if (!std::filesystem::exists(tool)) GTEST_SKIP() << tool << " not installed";
    }
    if (kernel_ == CharonKernel::Libipsec && !std::filesystem::exists(kTshark)) GTEST_SKIP() << kTshark << " not installed";
    auto dir = test::TempDir::create("wardd-strongswan");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_.emplace(std::move(*dir));
    ward_ns_ = std::make_unique<ward::testing::Netns>("wsw-ward");
    charon_ns_ = std::make_unique<ward::testing::Netns>("wsw-charon");
    std::tie(ward_link_, charon_link_) = ward::testing::connect_veth(*ward_ns_, std::string(kWardAddress) + "/24", *charon_ns_,
                                                                     std::string(kCharonAddress) + "/24");
    std::filesystem::create_directories(swanctl_dir());
  }

  void TearDown() override {
    packets_.reset();
    charon_packets_.reset();
    capture_.reset();
    wardd_.reset();
    charon_.reset();
  }

  const std::filesystem::path& dir() const { return dir_->path(); }
  // charon's swanctl directory: swanctl.conf, and x509/, x509ca/, private/ for credentials.
  std::filesystem::path swanctl_dir() const { return dir() / "swanctl"; }

  // Writes strongswan.conf and `swanctl_conf`, starts charon in its namespace and loads
  // connections, secrets and the credentials under swanctl_dir() (`swanctl --load-all`).
  void start_charon(const std::string& swanctl_conf) {
    auto conf = strongswan_conf(dir(), kernel_);
    if (!charon_options_.empty()) conf.insert(conf.find("charon {\n") + std::string("charon {\n").size(), charon_options_);
    ASSERT_TRUE(test::write_file(dir() / "strongswan.conf", conf));
    ASSERT_TRUE(test::write_file(swanctl_dir() / "swanctl.conf", swanctl_conf));
    const test::Environment env{{"STRONGSWAN_CONF", (dir() / "strongswan.conf").string()}};
    auto started = test::ChildProcess::spawn({kIp, "netns", "exec", charon_ns_->name(), kCharon}, env,
                                             dir() / "charon.out");
    ASSERT_TRUE(started) << started.error().to_string();
    charon_.emplace(std::move(*started));
    ASSERT_TRUE(test::wait_for_unix_listener(dir() / "charon.vici", kWaitLimit)) << charon_log();
    loaded_ = swanctl({"--load-all"});
    ASSERT_EQ(loaded_.exit_code, 0) << loaded_.describe() << charon_log();
  }

  // The IKEv1 tests against charon keep IKEv1 ([ike] version = ikev1) unless `extra_config` sets
  // the version (the IKEv2 ones).
  static std::string testing_ike_version(const std::string& extra_config) {
    return extra_config.find("\nversion = ") != std::string::npos ? "" : "[ike]\nversion = ikev1\n";
  }
  // wardd with `policy` as its local policy file; `extra_config` is appended to ward.conf. Netlink:
  // `backend = auto`, which must have chosen xfrm (the kernel's ESP and AH).
  void start_wardd(const model::Policy& policy, const std::string& extra_config = "") {
    const auto config = dir() / "ward.conf";
    const std::string backend = kernel_ == CharonKernel::Netlink ? "auto" : "nfqueue";
    ASSERT_TRUE(test::write_private_file(dir() / "policy.json", model::policy_to_json(policy)));
    ASSERT_TRUE(test::write_file(config, "[driver]\nbackend = " + backend + "\n[control]\nsocket = " + socket().string() +
                                             "\n[cache]\npath = " + (dir() / "state" / "ward.db").string() +
                                             "\n[policy]\nlocal_file = " + (dir() / "policy.json").string() +
                                             "\n[log]\nlevel = debug\n" + testing_ike_version(extra_config) + extra_config));
    auto child = test::ChildProcess::spawn({kIp, "netns", "exec", ward_ns_->name(), WARDD_PATH, "--config",
                                            config.string()},
                                           {}, dir() / "wardd.log");
    ASSERT_TRUE(child) << child.error().to_string();
    wardd_.emplace(std::move(*child));
    // The control socket answers at once (on the boot policy); wait for the file's policy.
    ASSERT_TRUE(eventually([&] { return wardctl("--json show policy").second.find("\"state\": \"applied\"") != std::string::npos; }))
        << wardd_log();
    if (kernel_ != CharonKernel::Netlink) return;
    const auto shown = nlohmann::json::parse(wardctl("show policy --json").second, nullptr, false);
    ASSERT_FALSE(shown.is_discarded());
    ASSERT_EQ(shown["dataplane"]["backend"], "xfrm") << shown["dataplane"].dump() << wardd_log();
  }

  // Netlink: what each end of the veth sends, from now on (start_capture is tshark's). Only what an
  // end sends counts: a kernel that decapsulates tunnel-mode ESP hands the inner packet to the
  // veth's receive path again, where a capture sees it as received.
  void start_packet_capture() {
    packets_ = std::make_unique<ward::testing::PacketCapture>(*ward_ns_, ward_link_);
    charon_packets_ = std::make_unique<ward::testing::PacketCapture>(*charon_ns_, charon_link_);
  }
  std::map<std::string, int> wire() const {
    auto counts = packets_->protocols_between(ip(kWardAddress), ip(kCharonAddress), true);
    for (const auto& [protocol, n] : charon_packets_->protocols_between(ip(kWardAddress), ip(kCharonAddress), true)) {
      counts[protocol] += n;
    }
    return counts;
  }

  // tshark on Ward's end of the veth: IKE, NAT-T, ESP and any ICMP in clear, one line a packet:
  // "source destination udp-source-port udp-destination-port protocol", tab-separated.
  void start_capture() {
    auto child = test::ChildProcess::spawn({kIp, "netns", "exec", ward_ns_->name(), kTshark, "-l", "-n", "-i",
                                            ward_link_, "-f", "udp port 500 or udp port 4500 or esp or icmp", "-T", "fields",
                                            "-e", "ip.src", "-e", "ip.dst", "-e", "udp.srcport", "-e", "udp.dstport", "-e",
                                            "_ws.col.Protocol"},
                                           {}, dir() / "capture.txt");
    ASSERT_TRUE(child) << child.error().to_string();
    capture_.emplace(std::move(*child));
    ASSERT_TRUE(eventually([&] { return test::read_text(dir() / "capture.txt").find("Capture started") != std::string::npos; }))
        << test::read_text(dir() / "capture.txt");
  }
  std::string stop_capture() {
    std::this_thread::sleep_for(300ms);   // tshark prints what it has seen
    capture_.reset();
    return test::read_text(dir() / "capture.txt");
  }

  // Pings charon from Ward until an echo is answered (the first waits in wardd's dataplane for the
  // SA that IKE negotiates): the number of echo requests sent, 0 when none was answered.
  int ping_until_answered() const {
    for (int attempt = 1; attempt <= kPingAttempts; ++attempt) {
      if (ward::testing::ping_once(*ward_ns_, kCharonAddress) == 0) return attempt;
    }
    return 0;
  }

  test::CapturedRun swanctl(std::vector<std::string> args) const {
    std::vector<std::string> argv{kIp, "netns", "exec", charon_ns_->name(), "/usr/bin/env",
                                  "SWANCTL_DIR=" + swanctl_dir().string(), kSwanctl};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--uri");
    argv.push_back("unix://" + (dir() / "charon.vici").string());
    return test::run_captured(argv, dir());
  }

  std::pair<int, std::string> wardctl(const std::string& command) const {
    const auto out = dir() / "wardctl.out";
    const int status = ward::testing::run_command(std::string(WARDCTL_PATH) + " --socket " + socket().string() + " " + command +
                                                  " > " + out.string() + " 2>&1");
    return {status, test::read_text(out)};
  }
  nlohmann::json show_sa() const {
    const auto [status, text] = wardctl("show sa --json");
    if (status != 0) return nlohmann::json::object();
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json::object() : parsed;
  }

  std::filesystem::path socket() const { return dir() / "run" / "control.sock"; }
  std::string charon_log() const { return "\ncharon log:\n" + test::file_tail(dir() / "charon.log", 3000); }
  std::string wardd_log() const { return "\nwardd log:\n" + test::file_tail(dir() / "wardd.log", 3000); }

  std::optional<test::TempDir> dir_;
  std::unique_ptr<ward::testing::Netns> ward_ns_, charon_ns_;
  std::string ward_link_, charon_link_;
  std::optional<test::ChildProcess> charon_, wardd_, capture_;
  std::unique_ptr<ward::testing::PacketCapture> packets_, charon_packets_;
  CharonKernel kernel_;
  test::CapturedRun loaded_;   // what `swanctl --load-all` said
  std::string charon_options_;  // lines added to strongswan.conf's charon section (fragment_size = 200)
};

}  // namespace ward::interop
