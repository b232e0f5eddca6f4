// The real wardd (nfqueue dataplane, local policy file) in one namespace, charon-systemd with
// kernel-libipsec in the other, joined by a veth pair. The policy holds the Windows pair of tunnel
// rules (Ward -> charon through charon's endpoint, charon -> Ward through Ward's) with a PSK. The
// first ping makes wardd's dataplane ask IKE for an SA; IKEv1 main mode floats to UDP 4500 (charon
// fakes a NAT) and quick mode installs UDP-encapsulated tunnel-mode ESP in wardd's dataplane and in
// libipsec. Checked: pings pass both ways, `swanctl --list-sas` shows bytes in and out on the
// CHILD_SA, `wardctl show sa` shows the SA pair with packets, and tshark on Ward's veth end sees
// UDP/4500 ESP and no ICMP in clear. A wrong PSK: no SA on either side, the reason in wardd's
// events, and the ping neither passes nor leaves in clear. Skips without root, `ip`, charon-systemd
// or tshark.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "directory/model/policy.h"
#include "directory/model/policy_json.h"
#include "tests/harness/process.h"
#include "tests/netns/netns.h"

namespace ward {
namespace {

using namespace std::chrono_literals;

constexpr const char* kCharon = "/usr/sbin/charon-systemd";
constexpr const char* kSwanctl = "/usr/sbin/swanctl";
constexpr const char* kTshark = "/usr/bin/tshark";
constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kWardAddress = "10.79.0.1";
constexpr const char* kCharonAddress = "10.79.0.2";
constexpr auto kWaitLimit = 10s;
constexpr auto kMainModeGiveUp = 15s;   // wardd retransmits main mode 5 for 7.5 s before it gives up
constexpr int kPingAttempts = 8;
constexpr int kRttPings = 5;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// Two unmirrored filters, each in its own tunnel rule (Windows tunnel rules are one per direction),
// ESP AES-128-CBC / HMAC-SHA-256, main mode AES-128 / SHA-256 / MODP-2048, authenticated by `psk`.
model::Policy tunnel_policy(const std::string& psk) {
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
    rule.auth_methods = {model::AuthMethod::preshared(psk)};
    rule.tunnel_endpoint = ip(endpoint);
    p.rules.push_back(rule);
  };
  add_rule("Ward to charon", kWardAddress, kCharonAddress, kCharonAddress);
  add_rule("charon to Ward", kCharonAddress, kWardAddress, kWardAddress);
  return p;
}

std::string strongswan_conf(const std::filesystem::path& dir) {
  return "charon-systemd {\n  journal {\n    default = -1\n  }\n}\n"
         "charon {\n"
         "  load_modular = no\n"
         "  load = random nonce openssl aes sha1 sha2 hmac gmp curve25519 kdf pem pkcs1 pkcs8 x509 pubkey revocation "
         "constraints kernel-libipsec kernel-netlink socket-default vici updown\n"
         "  filelog {\n    charon {\n      path = " + (dir / "charon.log").string() +
         "\n      default = 1\n      ike = 2\n      cfg = 2\n    }\n  }\n"
         "  plugins {\n"
         "    vici {\n      socket = unix://" + (dir / "charon.vici").string() + "\n    }\n"
         "    kernel-libipsec {\n      allow_peer_ts = yes\n    }\n"
         "    kernel-netlink {\n      fwmark = !0x42\n    }\n"
         "    socket-default {\n      fwmark = 0x42\n    }\n"
         "  }\n}\n";
}

std::string swanctl_conf(const std::string& psk) {
  const std::string ward = kWardAddress, charon = kCharonAddress;
  return "connections {\n  ward {\n    version = 1\n    local_addrs = " + charon + "\n    remote_addrs = " + ward + "\n"
         "    proposals = aes128-sha256-modp2048\n"
         "    local {\n      auth = psk\n      id = " + charon + "\n    }\n"
         "    remote {\n      auth = psk\n      id = " + ward + "\n    }\n"
         "    children {\n      ward {\n        local_ts = " + charon + "/32\n        remote_ts = " + ward + "/32\n"
         "        mode = tunnel\n        esp_proposals = aes128-sha256\n      }\n    }\n  }\n}\n"
         "secrets {\n  ike-ward {\n    id-1 = " + ward + "\n    id-2 = " + charon + "\n    secret = \"" + psk + "\"\n  }\n}\n";
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

long long ms_since(std::chrono::steady_clock::time_point start) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
}

class WarddStrongSwanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    for (const char* tool : {kCharon, kSwanctl, kTshark}) {
      if (!std::filesystem::exists(tool)) GTEST_SKIP() << tool << " not installed";
    }
    auto dir = test::TempDir::create("wardd-strongswan");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_.emplace(std::move(*dir));
    ward_ns_ = std::make_unique<ward::testing::Netns>("wsw-ward");
    charon_ns_ = std::make_unique<ward::testing::Netns>("wsw-charon");
    ward_link_ = ward::testing::connect_veth(*ward_ns_, std::string(kWardAddress) + "/24", *charon_ns_,
                                             std::string(kCharonAddress) + "/24").first;
  }

  void TearDown() override {
    capture_.reset();
    wardd_.reset();
    charon_.reset();
  }

  const std::filesystem::path& dir() const { return dir_->path(); }

  void start_charon(const std::string& psk) {
    std::filesystem::create_directories(dir() / "swanctl");
    ASSERT_TRUE(test::write_file(dir() / "strongswan.conf", strongswan_conf(dir())));
    ASSERT_TRUE(test::write_file(dir() / "swanctl" / "swanctl.conf", swanctl_conf(psk)));
    const test::Environment env{{"STRONGSWAN_CONF", (dir() / "strongswan.conf").string()}};
    auto started = test::ChildProcess::spawn({kIp, "netns", "exec", charon_ns_->name(), kCharon}, env, dir() / "charon.out");
    ASSERT_TRUE(started) << started.error().to_string();
    charon_.emplace(std::move(*started));
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir() / "charon.vici"); })) << charon_log();
    const auto loaded = swanctl({"--load-all"});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.describe() << charon_log();
  }

  void start_wardd(const std::string& psk) {
    const auto config = dir() / "ward.conf";
    ASSERT_TRUE(test::write_file(dir() / "policy.json", model::policy_to_json(tunnel_policy(psk))));
    ASSERT_TRUE(test::write_file(config, "[driver]\nbackend = nfqueue\n[control]\nsocket = " + socket().string() +
                                             "\n[cache]\npath = " + (dir() / "state" / "ward.db").string() +
                                             "\n[policy]\nlocal_file = " + (dir() / "policy.json").string() +
                                             "\n[log]\nlevel = debug\n"));
    auto child = test::ChildProcess::spawn({kIp, "netns", "exec", ward_ns_->name(), WARDD_PATH, "--config", config.string()}, {},
                                           dir() / "wardd.log");
    ASSERT_TRUE(child) << child.error().to_string();
    wardd_.emplace(std::move(*child));
    ASSERT_TRUE(eventually([&] { return wardctl("show policy").first == 0; })) << wardd_log();
  }

  // tshark on Ward's end of the veth: IKE, NAT-T, ESP and any ICMP in clear, one line a packet:
  // "source destination udp-source-port udp-destination-port protocol", tab-separated.
  void start_capture() {
    auto child = test::ChildProcess::spawn({kIp, "netns", "exec", ward_ns_->name(), kTshark, "-l", "-n", "-i", ward_link_, "-f",
                                            "udp port 500 or udp port 4500 or esp or icmp", "-T", "fields", "-e", "ip.src",
                                            "-e", "ip.dst", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "_ws.col.Protocol"},
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

  test::CapturedRun swanctl(std::vector<std::string> args) const {
    std::vector<std::string> argv{kIp, "netns", "exec", charon_ns_->name(), "/usr/bin/env",
                                  "SWANCTL_DIR=" + (dir() / "swanctl").string(), kSwanctl};
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
  std::string ward_link_;
  std::optional<test::ChildProcess> charon_, wardd_, capture_;
};

// The CHILD_SA's byte counters in `swanctl --list-sas` ("    in  c91cec62,    588 bytes,     7 packets").
std::pair<long long, long long> child_sa_bytes(const std::string& list) {
  std::smatch in, out;
  static const std::regex kIn(R"(\bin\s+[0-9a-f]+,\s+(\d+) bytes)"), kOut(R"(\bout\s+[0-9a-f]+,\s+(\d+) bytes)");
  return {std::regex_search(list, in, kIn) ? std::stoll(in[1]) : -1, std::regex_search(list, out, kOut) ? std::stoll(out[1]) : -1};
}

TEST_F(WarddStrongSwanTest, PskTunnelEstablishesOnBothSidesAndTrafficPassesEncrypted) {
  start_charon("ward and charon agree");
  start_wardd("ward and charon agree");
  start_capture();

  // The first echo request waits in wardd's dataplane for the SA that IKE negotiates.
  const auto started = std::chrono::steady_clock::now();
  int answered = 1;
  for (int attempt = 0; attempt < kPingAttempts && answered != 0; ++attempt) answered = ward::testing::ping_once(*ward_ns_, kCharonAddress);
  ASSERT_EQ(answered, 0) << wardctl("show events").second << wardd_log() << charon_log();
  const auto first_answer = ms_since(started);
  nlohmann::json sa;
  ASSERT_TRUE(eventually([&] {
    sa = show_sa();
    return sa.value("quick_modes", nlohmann::json::array()).size() == 1;
  })) << sa.dump(1);
  std::printf("first ping answered through the tunnel (main mode + quick mode included) after %lld ms\n", first_answer);

  // charon pings back through the same SA pair; then the round trip through the tunnel.
  EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();
  const auto rtt = ward_ns_->exec_output("ping -q -c " + std::to_string(kRttPings) + " -i 0.2 -W1 " + kCharonAddress + " | tail -1");
  std::printf("ping -c %d through the tunnel: %s", kRttPings, rtt.c_str());

  // wardd's view: one UDP-encapsulated main mode and the quick mode with packets both ways.
  sa = show_sa();
  ASSERT_EQ(sa["quick_modes"].size(), 1U) << sa.dump(1);
  const auto& qm = sa["quick_modes"][0];
  EXPECT_EQ(qm["peer"], kCharonAddress) << qm.dump(1);
  EXPECT_EQ(qm["role"], "initiator");
  EXPECT_EQ(qm["rule"], "Ward to charon");
  EXPECT_GE(qm.value("packets_out", 0), kRttPings + 2) << qm.dump(1);
  EXPECT_GE(qm.value("packets_in", 0), kRttPings + 2) << qm.dump(1);
  ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
  EXPECT_EQ(sa["main_modes"][0].value("peer_port", 0), 4500) << sa["main_modes"][0].dump(1);
  EXPECT_TRUE(sa["main_modes"][0].value("nat_t", false)) << "charon fakes a NAT; wardd must have floated";
  EXPECT_EQ(sa["sas"].size(), 2U) << sa.dump(1);
  std::printf("wardctl show sa (quick mode): %s\n", qm.dump().c_str());

  // charon's view: the CHILD_SA is installed, UDP-encapsulated, with bytes in and out.
  const auto list = swanctl({"--list-sas"});
  std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
  EXPECT_NE(list.out.find("ESTABLISHED"), std::string::npos) << list.describe();
  EXPECT_NE(list.out.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << list.describe();
  const auto [bytes_in, bytes_out] = child_sa_bytes(list.out);
  EXPECT_GT(bytes_in, 0) << list.out;
  EXPECT_GT(bytes_out, 0) << list.out;

  // On the wire: IKE, then UDP-encapsulated ESP on 4500; no ICMP in clear.
  const auto capture = stop_capture();
  std::printf("capture on Ward's veth (%zu bytes of tshark lines)\n", capture.size());
  const std::string ward_to_charon = std::string(kWardAddress) + "\t" + kCharonAddress;
  const std::string charon_to_ward = std::string(kCharonAddress) + "\t" + kWardAddress;
  EXPECT_NE(capture.find(ward_to_charon + "\t500\t500\tISAKMP"), std::string::npos) << capture;
  EXPECT_NE(capture.find(ward_to_charon + "\t4500\t4500\tISAKMP"), std::string::npos) << "no float to 4500:\n" << capture;
  EXPECT_NE(capture.find(ward_to_charon + "\t4500\t4500\tESP"), std::string::npos) << capture;
  EXPECT_NE(capture.find(charon_to_ward + "\t4500\t4500\tESP"), std::string::npos) << capture;
  EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests or replies in clear:\n" << capture;
}

TEST_F(WarddStrongSwanTest, WrongPskGivesNoSaAReasonAndNoClearTraffic) {
  start_charon("charon's key");
  start_wardd("ward's different key");
  start_capture();

  EXPECT_NE(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0);
  ASSERT_TRUE(eventually([&] { return wardctl("show events").second.find("main mode failed") != std::string::npos; },
                         kMainModeGiveUp))
      << wardctl("show events").second << wardd_log() << charon_log();
  const auto events = wardctl("show events").second;
  std::printf("wardd events:\n%s\n", events.c_str());
  EXPECT_NE(events.find("preshared key"), std::string::npos) << events;
  EXPECT_NE(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0);
  EXPECT_TRUE(show_sa().value("quick_modes", nlohmann::json::array()).empty());
  EXPECT_TRUE(show_sa().value("sas", nlohmann::json::array()).empty());
  EXPECT_EQ(swanctl({"--list-sas"}).out.find("INSTALLED"), std::string::npos);
  const auto capture = stop_capture();
  EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests in clear:\n" << capture;
}

}  // namespace
}  // namespace ward
