// Two wardd processes (nfqueue backend on the host; xfrm inside User-mode Linux: wardd_ike_uml_test),
// each in its own network namespace joined by a veth pair,
// each with a local policy file: the Legal subnet negotiates ESP (AES-256-GCM, PFS) with a
// preshared key. The first ping triggers an acquire, IKE main mode + quick mode run between the
// two wardd, the held echo request goes out protected, and `wardctl show sa --json` lists the
// SAs on both sides with matching SPIs; a capture on B shows IKE then ESP, never the clear ping
// or TCP. A wrong preshared key on one side: no SA, the failure is
// in the event log. The same with RSA certificates ([certificates] in ward.conf), and a
// certificate from an untrusted CA. Skips without root / `ip`.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "directory/model/policy_json.h"
#include "directory/model/test_support.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"
#include "agent/daemon/wardd_host.h"
#include "tests/netns/netns.h"
#include "tests/netns/packet_capture.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAddressA = "10.20.1.1";
constexpr const char* kAddressB = "10.20.1.2";
constexpr std::uint16_t kTcpPort = 7401;
constexpr std::uint16_t kStreamPort = 7402;
constexpr std::uint32_t kMinLifetimeKilobytes = 20480;   // Windows' smallest (directory/model/limits.h)
constexpr std::uint32_t kStreamBytes = 20U << 20;         // past the soft limit (90 % of 20480 KB)

using Host = testing::WarddHost;
using testing::esp_policy;
using testing::eventually;
using testing::kIpTool;
using testing::show_sa;
using testing::wardctl;

class WarddIkeNetnsTest : public testing::TwoWarddHosts {
 protected:
  void SetUp() override {
    set_up_hosts("ike", kAddressA, kAddressB, [this](Host& host, const std::filesystem::path& dir) {
      // Host B spreads its flows over two queues (two threads) and runs the nfqueue fast path
      // (TCP cut by Ward, inbound ESP from the packet ring, decrypted packets through its TUN
      // device); host A keeps the default: one queue, per packet. Every test here so runs IKE's
      // SAs between the two paths.
      testing::lay_out(host, dir, testing::kTestBackend, &host == &b_ ? "\nqueues = 2\nfast_path = yes" : "");
    });
  }

  void start(Host& host, const model::Policy& policy) { testing::start_wardd(host, policy); }

  // Both hosts with the fast path, A with [ike] udp_encapsulation = force, IKE `version`.
  // `sections`: more of ward.conf on both hosts.
  void expect_forced_udp_encapsulation(const std::string& version, const std::string& sections = "");

  // A's link has no address when wardd starts (a host whose DHCP lease comes after wardd): IKE
  // runs nowhere. An address appears: within the address poll IKE runs on it and B's ping
  // negotiates with A there; a second one too, beside the first. The second goes away: its service
  // stops and its SAs go, the first's stay.
  void expect_ike_to_follow_the_address(const std::string& sections);

  void use_certificate(Host& host, const test::TestCa& issuer, const test::TestCa& trusted, const std::string& address) {
    testing::use_certificate(host, &host == &a_ ? "a" : "b", issuer, trusted, address);
  }

};

// The same rule authenticated by certificates from the CA it names ([certificates] in ward.conf).
model::Policy certificate_policy(const std::string& ca_name) {
  auto policy = esp_policy("unused");
  policy.name = "Legal ESP with certificates";
  policy.rules[0].auth_methods = {model::AuthMethod::certificate(ca_name)};
  return policy;
}

TEST_F(WarddIkeNetnsTest, FirstPingNegotiatesEspAndBothSidesShowTheSas) {
  start(a_, esp_policy("netns ike secret"));
  start(b_, esp_policy("netns ike secret"));
  ward::testing::PacketCapture capture(*b_.ns, links_.second);
  ward::testing::TcpListeners listener(*b_.ns, kAddressB, {kTcpPort});

  // The first echo request waits in A's dataplane for the SA that IKE negotiates.
  const auto started = std::chrono::steady_clock::now();
  auto since = [&] {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  };
  int answered = ward::testing::ping_once(*a_.ns, kAddressB);
  std::printf("first echo request: %s after %lld ms\n", answered == 0 ? "answered" : "no answer", since());
  for (int attempt = 1; attempt < 10 && answered != 0; ++attempt) answered = ward::testing::ping_once(*a_.ns, kAddressB);
  ASSERT_EQ(answered, 0) << test::file_tail(a_.log) << test::file_tail(b_.log);
  std::printf("first answered ping (negotiation included) after %lld ms\n", since());

  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  const auto& qa = sa_a["quick_modes"][0];
  const auto& qb = sa_b["quick_modes"][0];
  EXPECT_EQ(qa["peer"], kAddressB);
  EXPECT_EQ(qb["peer"], kAddressA);
  EXPECT_EQ(qa["spi_in"], qb["spi_out"]);
  EXPECT_EQ(qa["spi_out"], qb["spi_in"]);
  EXPECT_EQ(qa["role"], "initiator");
  EXPECT_EQ(qb["role"], "responder");
  EXPECT_EQ(qa["auth_method"], "pre-shared key");
  EXPECT_EQ(qa["pfs_group"], 19);
  EXPECT_EQ(qa["rule"], "Legal intra-department communications");
  EXPECT_GT(qa.value("packets_out", 0), 0);
  EXPECT_GT(qb.value("packets_in", 0), 0);
  ASSERT_EQ(sa_a["main_modes"].size(), 1U);
  // The helpdesk's word, and the state machine's name for developers.
  EXPECT_EQ(sa_a["main_modes"][0]["state"], "established");
  EXPECT_EQ(sa_a["main_modes"][0]["internal_state"], "MainMode6Received");
  EXPECT_EQ(sa_a["main_modes"][0]["cipher"], "AES-CBC-256");
  EXPECT_EQ(sa_b["main_modes"][0]["state"], "established");
  EXPECT_EQ(sa_b["main_modes"][0]["internal_state"], "MainMode6Sent");
  EXPECT_EQ(sa_a["sas"].size(), 2U);
  EXPECT_EQ(sa_b["sas"].size(), 2U);
  EXPECT_EQ(ward::testing::ping_once(*a_.ns, kAddressB), 0);
  EXPECT_EQ(ward::testing::ping_once(*b_.ns, kAddressA), 0) << "B reuses the SA pair";
  EXPECT_TRUE(ward::testing::tcp_connects(*a_.ns, kAddressB, kTcpPort)) << "TCP through the same SA pair";
  if (std::string(testing::kTestBackend) == "nfqueue") {  // B's fast path ran whole, not a fallback of it
    EXPECT_NE(test::read_text(b_.log).find("fast_path = yes: TCP segmentation on, TUN device ward"), std::string::npos)
        << test::file_tail(b_.log);
    EXPECT_NE(test::read_text(b_.log).find("ESP ring on"), std::string::npos) << test::file_tail(b_.log);
  }

  // The Legal scenario's wire: IKE, then ESP only; never the clear ICMP or TCP.
  const auto wire = capture.protocols_between(*IpAddress::parse(kAddressA), *IpAddress::parse(kAddressB));
  EXPECT_GE(wire.count("50") ? wire.at("50") : 0, 8) << "ESP" << ward::testing::PacketCapture::describe(wire);
  EXPECT_GT(wire.count("17") ? wire.at("17") : 0, 0) << "IKE" << ward::testing::PacketCapture::describe(wire);
  EXPECT_EQ(wire.count("1"), 0U) << "ICMP in clear" << ward::testing::PacketCapture::describe(wire);
  EXPECT_EQ(wire.count("6"), 0U) << "TCP in clear" << ward::testing::PacketCapture::describe(wire);

  const auto events = wardctl(a_, "show events").second;
  EXPECT_NE(events.find("ike-success"), std::string::npos) << events;
  EXPECT_NE(events.find("quick mode established"), std::string::npos) << events;

  // SIGTERM on A: its SAs are deleted and B is told, so B's go too.
  ASSERT_EQ(::kill(a_.wardd.pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return !a_.wardd.running(); }));
  EXPECT_EQ(a_.wardd.exit_description(), "exited with status 0") << test::file_tail(a_.log);
  EXPECT_TRUE(eventually([&] { return show_sa(b_).value("quick_modes", nlohmann::json::array()).empty(); }))
      << show_sa(b_).dump(1);
}

// The smallest byte lifetime Windows allows (20480 KB): a 20 MiB TCP stream passes the soft limit
// (90 %), the dataplane reports the soft expiry (xfrm: the kernel's XFRM_MSG_EXPIRE) and A's IKE
// negotiates the successor SA pair before the old one runs out; traffic carries on through it.
TEST_F(WarddIkeNetnsTest, TheSoftByteLifetimeRekeysAndTrafficCarriesOn) {
  auto policy = esp_policy("netns ike rekey");
  policy.filter_actions[0].security_methods.resize(1);
  policy.filter_actions[0].security_methods[0].lifetime_kilobytes = kMinLifetimeKilobytes;
  start(a_, policy);
  start(b_, policy);
  ASSERT_TRUE(testing::ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa_a;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}})) << sa_a.dump(1);
  const auto first_spi = sa_a["quick_modes"][0]["spi_out"];

  auto sink = test::ChildProcess::spawn({kIpTool, "netns", "exec", b_.ns->name(), "socat", "-u",
                                         std::string("TCP-LISTEN:") + std::to_string(kStreamPort) + ",bind=" + kAddressB + ",reuseaddr",
                                         "OPEN:/dev/null"},
                                        {}, dir_->path() / "sink.out");
  ASSERT_TRUE(sink) << sink.error().to_string();
  ASSERT_TRUE(eventually([&] { return b_.ns->exec("ss -ltn | grep -q :" + std::to_string(kStreamPort)) == 0; }));
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(a_.ns->exec("head -c " + std::to_string(kStreamBytes) + " /dev/zero | socat -u STDIN TCP:" + kAddressB + ":" +
                        std::to_string(kStreamPort)),
            0)
      << test::file_tail(a_.log);
  std::printf("%u MiB through the SA in %lld ms\n", kStreamBytes >> 20,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()));

  ASSERT_TRUE(eventually([&] {
    sa_a = show_sa(a_);
    for (const auto& qm : sa_a.value("quick_modes", nlohmann::json::array())) {
      if (qm["spi_out"] != first_spi) return true;
    }
    return false;
  })) << sa_a.dump(1) << test::file_tail(a_.log);
  // Both sides count the same bytes (A's outbound SA is B's inbound one), so either may reach the
  // soft limit first and negotiate the successor: in UML, B's kernel often tells B first.
  const auto rekeyed_by = [](const Host& host) {
    return test::read_text(host.log).find("reached its soft lifetime: rekeying") != std::string::npos;
  };
  EXPECT_TRUE(rekeyed_by(a_) || rekeyed_by(b_)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  EXPECT_EQ(ward::testing::ping_once(*a_.ns, kAddressB), 0) << "traffic carries on through the successor";
  std::printf("rekeyed: outbound SPI %s, then %s\n", first_spi.dump().c_str(), sa_a["quick_modes"].back()["spi_out"].dump().c_str());
}

// Time-based expiry, in seconds instead of Windows' minutes: A's `[driver] sa_lifetime_limit = 9s`
// gives its SAs a soft expiry at 6 s and a hard one at 9 s (lifetime_limit.h). The dataplane's expiry
// (xfrm: the kernel's XFRM_MSG_EXPIRE by time; nfqueue: the engine's clock) makes A's IKE negotiate
// a successor pair, the hard expiry deletes the old pair (the kernel's states too), and traffic
// carries on through the successor.
TEST_F(WarddIkeNetnsTest, TheSoftTimeLifetimeRekeysAndTheHardOneDeletes) {
  const auto policy = esp_policy("netns ike time rekey");
  ASSERT_TRUE(test::write_file(a_.config, test::read_text(a_.config) + "[driver]\nsa_lifetime_limit = 9s\n"));
  start(a_, policy);
  start(b_, policy);
  EXPECT_NE(wardctl(a_, "show policy").second.find("SA lifetimes limited to 9s"), std::string::npos) << wardctl(a_, "show policy").second;
  ASSERT_TRUE(testing::ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  const auto installed = std::chrono::steady_clock::now();
  nlohmann::json sa_a;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}})) << sa_a.dump(1);
  const auto first_spi = sa_a["quick_modes"][0]["spi_out"];
  const auto spis = [&] {
    std::vector<nlohmann::json> out;
    for (const auto& qm : show_sa(a_).value("quick_modes", nlohmann::json::array())) out.push_back(qm["spi_out"]);
    return out;
  };
  ASSERT_TRUE(eventually([&] {
    const auto now = spis();
    return std::any_of(now.begin(), now.end(), [&](const auto& spi) { return spi != first_spi; });
  })) << show_sa(a_).dump(1) << test::file_tail(a_.log);
  const auto rekeyed = std::chrono::steady_clock::now();
  EXPECT_GE(rekeyed - installed, 4s) << "not long before the soft expiry (6 s after the SA went in, which was before the ping came back)";
  EXPECT_NE(test::read_text(a_.log).find("reached its soft lifetime: rekeying"), std::string::npos) << test::file_tail(a_.log);
  ASSERT_TRUE(eventually([&] {
    const auto now = spis();
    return !now.empty() && std::none_of(now.begin(), now.end(), [&](const auto& spi) { return spi == first_spi; });
  })) << show_sa(a_).dump(1) << test::file_tail(a_.log);
  EXPECT_NE(test::read_text(a_.log).find("reached its hard lifetime"), std::string::npos) << test::file_tail(a_.log);
  if (std::string(testing::kTestBackend) != "nfqueue") {
    const auto states = a_.ns->exec_output("ip xfrm state");
    EXPECT_EQ(states.find("spi " + first_spi.get<std::string>()), std::string::npos) << "the kernel deleted the expired state\n" << states;
  }
  EXPECT_EQ(ward::testing::ping_once(*a_.ns, kAddressB), 0) << "traffic carries on through the successor";
  std::printf("time rekey: soft expiry and successor after %lld ms, old pair gone after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(rekeyed - installed).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - installed).count()));
}

TEST_F(WarddIkeNetnsTest, CertificatesFromTheRulesCaNegotiateEsp) {
  auto root = test::make_rsa_ca(dir_->path(), "root", "/O=Ward/CN=Wardd Test Root");
  ASSERT_TRUE(root) << root.error().to_string();
  use_certificate(a_, *root, *root, kAddressA);
  use_certificate(b_, *root, *root, kAddressB);
  ASSERT_FALSE(HasFatalFailure());
  start(a_, certificate_policy("CN=Wardd Test Root, O=Ward"));
  start(b_, certificate_policy("CN=Wardd Test Root, O=Ward"));
  ASSERT_TRUE(testing::ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa_a;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}})) << sa_a.dump(1);
  EXPECT_EQ(sa_a["quick_modes"][0]["auth_method"], "RSA signature (X.509)") << sa_a.dump(1);
  EXPECT_NE(test::read_text(a_.log).find("certificates-loaded"), std::string::npos) << test::file_tail(a_.log);
}

TEST_F(WarddIkeNetnsTest, ACertificateFromAnUntrustedCaGivesNoSaAndTheReason) {
  auto root = test::make_rsa_ca(dir_->path(), "root", "/O=Ward/CN=Wardd Test Root");
  auto rogue = test::make_rsa_ca(dir_->path(), "rogue", "/O=Rogue/CN=Rogue Root");
  ASSERT_TRUE(root && rogue);
  use_certificate(a_, *rogue, *root, kAddressA);
  use_certificate(b_, *root, *root, kAddressB);
  ASSERT_FALSE(HasFatalFailure());
  start(a_, certificate_policy("CN=Wardd Test Root, O=Ward"));
  start(b_, certificate_policy("CN=Wardd Test Root, O=Ward"));
  EXPECT_NE(ward::testing::ping_once(*a_.ns, kAddressB), 0);
  EXPECT_TRUE(eventually([&] {
    return wardctl(b_, "show events").second.find("is not signed by the trusted CA") != std::string::npos;
  })) << wardctl(b_, "show events").second << test::file_tail(b_.log);
  EXPECT_TRUE(show_sa(a_).value("sas", nlohmann::json::array()).empty());
  EXPECT_TRUE(show_sa(b_).value("sas", nlohmann::json::array()).empty());
}

// [ike] version = ikev2-first (the default) on both: the first ping negotiates IKE_SA_INIT +
// IKE_AUTH, both sides list an IKEv2 SA and its CHILD_SA, and the wire carries ESP only.
TEST_F(WarddIkeNetnsTest, Ikev2FirstOnBothSidesNegotiatesIkev2) {
  for (auto* host : {&a_, &b_}) testing::lay_out(*host, host->dir, testing::kTestBackend, "", "[ike]\nversion = ikev2-first\n");
  start(a_, esp_policy("netns ike secret"));
  start(b_, esp_policy("netns ike secret"));
  ward::testing::PacketCapture capture(*b_.ns, links_.second);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  std::printf("IKEv2: first answered ping (negotiation included) after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()));
  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  ASSERT_EQ(sa_a["main_modes"].size(), 1U) << sa_a.dump(1);
  EXPECT_EQ(sa_a["main_modes"][0]["ike_version"], 2);
  EXPECT_EQ(sa_a["main_modes"][0]["internal_state"], "Established");
  EXPECT_EQ(sa_a["main_modes"][0]["role"], "initiator");
  EXPECT_EQ(sa_b["main_modes"][0]["ike_version"], 2);
  EXPECT_EQ(sa_b["main_modes"][0]["role"], "responder");
  const auto& qa = sa_a["quick_modes"][0];
  const auto& qb = sa_b["quick_modes"][0];
  EXPECT_EQ(qa["ike_version"], 2);
  EXPECT_EQ(qb["ike_version"], 2);
  EXPECT_EQ(qa["spi_in"], qb["spi_out"]);
  EXPECT_EQ(qa["spi_out"], qb["spi_in"]);
  EXPECT_EQ(qa["auth_method"], "pre-shared key");
  EXPECT_EQ(qa["cipher"], "AES-GCM-256");
  EXPECT_GT(qa.value("packets_out", 0), 0);
  EXPECT_GT(qb.value("packets_in", 0), 0);
  EXPECT_EQ(ward::testing::ping_once(*b_.ns, kAddressA), 0) << "B reuses the CHILD_SA";
  const auto table = wardctl(a_, "show sa").second;
  EXPECT_NE(table.find("IKEv2"), std::string::npos) << table;
  const auto wire = capture.protocols_between(*IpAddress::parse(kAddressA), *IpAddress::parse(kAddressB));
  EXPECT_GE(wire.count("50") ? wire.at("50") : 0, 4) << "ESP" << ward::testing::PacketCapture::describe(wire);
  EXPECT_EQ(wire.count("1"), 0U) << "ICMP in clear" << ward::testing::PacketCapture::describe(wire);
}

// `[ike] udp_encapsulation = force` on A alone (strongSwan's `encap = yes`), both with the fast
// path, IKEv1 and IKEv2: without a NAT, A pretends one, B sees it too, both float to 4500 and the CHILD_SA carries
// ESP in UDP, which the fast path sends in UDP GSO superpackets (a capture on the veth sees one
// frame each): the wire has no IP protocol 50, pings and a TCP stream pass.
void WarddIkeNetnsTest::expect_forced_udp_encapsulation(const std::string& version, const std::string& sections) {
  const bool fast_path = std::string(testing::kTestBackend) == "nfqueue";
  const std::string driver_lines = fast_path ? "\nfast_path = yes" : "";
  testing::lay_out(a_, a_.dir, testing::kTestBackend, driver_lines, sections + "[ike]\nversion = " + version + "\nudp_encapsulation = force\n");
  testing::lay_out(b_, b_.dir, testing::kTestBackend, driver_lines, sections + "[ike]\nversion = " + version + "\n");
  start(a_, esp_policy("netns ike secret"));
  start(b_, esp_policy("netns ike secret"));
  testing::expect_esp_in_udp(a_, b_, links_.second, kAddressA, kAddressB, kTcpPort, 7403, fast_path);
}

TEST_F(WarddIkeNetnsTest, ForcedUdpEncapsulationCarriesTrafficAsEspInUdpWithIkev1) {
  if (std::string(testing::kTestBackend) != "nfqueue") GTEST_SKIP() << "the fast path is the nfqueue backend's";
  expect_forced_udp_encapsulation("ikev1");
}

TEST_F(WarddIkeNetnsTest, ForcedUdpEncapsulationCarriesTrafficAsEspInUdpWithIkev2) {
  if (std::string(testing::kTestBackend) != "nfqueue") GTEST_SKIP() << "the fast path is the nfqueue backend's";
  expect_forced_udp_encapsulation("ikev2-first");
}

// The same with IKE in its own process ([privsep] user, the packaged default) on both hosts: wardd
// binds UDP 4500 and hands it to its dataplane (prepare_ike_socket) before the child gets it, so
// A's fast path sends ESP in UDP through the NAT-T socket the child holds, in UDP GSO superpackets.
TEST_F(WarddIkeNetnsTest, ForcedUdpEncapsulationLeavesInSuperpacketsWithTheIkeProcess) {
  if (std::string(testing::kTestBackend) != "nfqueue") GTEST_SKIP() << "the fast path is the nfqueue backend's";
  expect_forced_udp_encapsulation("ikev2-first", "[privsep]\nuser = nobody\n");
}

// With the kernel's SAs (xfrm, in wardd_ike_uml_test) and the IKE process: the sockets wardd binds
// get their per-socket bypass policies (IKE's datagrams are not held for the SAs they negotiate)
// and UDP_ENCAP on 4500 before the child gets them, so the kernel opens the ESP in UDP arriving
// on the child's NAT-T socket and the child reads only IKE from it.
TEST_F(WarddIkeNetnsTest, ForcedUdpEncapsulationWithTheIkeProcessAndTheKernelsSas) {
  if (std::string(testing::kTestBackend) == "nfqueue") GTEST_SKIP() << "for the backend with kernel SAs (xfrm, under UML)";
  expect_forced_udp_encapsulation("ikev2-first", "[privsep]\nuser = nobody\n");
}

void WarddIkeNetnsTest::expect_ike_to_follow_the_address(const std::string& sections) {
  constexpr const char* kSecondAddressA = "10.20.1.3";
  testing::lay_out(a_, a_.dir, testing::kTestBackend, "", sections);
  const auto on_link = [&](const std::string& address) { return address + "/24 dev " + links_.first; };
  ASSERT_EQ(a_.ns->exec(std::string(kIpTool) + " address del " + on_link(kAddressA)), 0);
  start(a_, esp_policy("netns ike secret"));
  start(b_, esp_policy("netns ike secret"));
  const auto log_has = [&](const std::string& text) { return test::read_text(a_.log).find(text) != std::string::npos; };
  EXPECT_FALSE(log_has("ike-started")) << test::file_tail(a_.log);
  const auto quick_modes = [&] { return show_sa(a_).value("quick_modes", nlohmann::json::array()).size(); };

  // The first address: IKE starts (with [privsep] user, the IKE process too).
  ASSERT_EQ(a_.ns->exec(std::string(kIpTool) + " address add " + on_link(kAddressA)), 0);
  const auto added = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return log_has(std::string("ike-started address=") + kAddressA); })) << test::file_tail(a_.log);
  std::printf("IKE on the new address after %lld ms (address poll: 5 s)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - added).count()));
  // A's policy follows the address on the same poll; B's ping may meet it a moment before.
  ASSERT_TRUE(testing::ping_until_answered(b_, kAddressA)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  EXPECT_EQ(sa_a["quick_modes"][0]["role"], "responder") << sa_a.dump(1);

  // A second one while IKE runs (the IKE process: a service added to the running child).
  ASSERT_EQ(a_.ns->exec(std::string(kIpTool) + " address add " + on_link(kSecondAddressA)), 0);
  ASSERT_TRUE(eventually([&] { return log_has(std::string("ike-started address=") + kSecondAddressA); })) << test::file_tail(a_.log);
  ASSERT_TRUE(testing::ping_until_answered(b_, kSecondAddressA)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  EXPECT_TRUE(eventually([&] { return quick_modes() == 2; })) << show_sa(a_).dump(1);

  // The second goes (deleting the first, the primary, would take the secondary with it): its
  // service stops and its SAs go; the first's stay and carry traffic.
  ASSERT_EQ(a_.ns->exec(std::string(kIpTool) + " address del " + on_link(kSecondAddressA)), 0);
  ASSERT_TRUE(eventually([&] { return log_has(std::string("ike-stopped address=") + kSecondAddressA); })) << test::file_tail(a_.log);
  EXPECT_TRUE(eventually([&] { return quick_modes() == 1; })) << show_sa(a_).dump(1);
  EXPECT_EQ(ward::testing::ping_once(*b_.ns, kAddressA), 0) << test::file_tail(a_.log);
  EXPECT_FALSE(log_has(std::string("ike-stopped address=") + kAddressA)) << test::file_tail(a_.log);
}

// IKE in wardd (nfqueue; the kernel's SAs are covered with the IKE process, below).
TEST_F(WarddIkeNetnsTest, IkeStartsOnAnAddressThatAppearsAfterStartUpAndStopsWhenItGoes) {
  if (std::string(testing::kTestBackend) != "nfqueue") GTEST_SKIP() << "IKE in wardd: the nfqueue build covers it";
  expect_ike_to_follow_the_address("");
}

// The packaged default: wardd binds the new address's sockets, prepares them for the dataplane
// and passes them to the IKE process (started late, for the first; a service added to the running
// child, kServices, for the second), which stops the service whose address went. The sockets are
// bound and prepared as at start-up (IkeProcess::bind_service), which wardd_ike_uml_test covers
// with the kernel's SAs: not repeated there, where each test costs a UML kernel's pace.
TEST_F(WarddIkeNetnsTest, TheIkeProcessFollowsAnAddressThatAppearsAndGoes) {
  if (std::string(testing::kTestBackend) != "nfqueue") GTEST_SKIP() << "the nfqueue build covers it";
  expect_ike_to_follow_the_address("[privsep]\nuser = nobody\n");
}

// A with ikev2-first, B with ikev1: B answers IKE_SA_INIT with INVALID_MAJOR_VERSION, A falls
// back to IKEv1 at once and the first ping is answered through IKEv1's SAs.
TEST_F(WarddIkeNetnsTest, Ikev2FirstFallsBackToIkev1WhenThePeerIsSetToIkev1) {
  testing::lay_out(a_, a_.dir, testing::kTestBackend, "", "[ike]\nversion = ikev2-first\n");
  testing::lay_out(b_, b_.dir, testing::kTestBackend, "", "[ike]\nversion = ikev1\n");
  start(a_, esp_policy("netns ike secret"));
  start(b_, esp_policy("netns ike secret"));
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::ping_until_answered(a_, kAddressB)) << test::file_tail(a_.log) << test::file_tail(b_.log);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::printf("ikev2-first -> ikev1 fallback: first answered ping after %lld ms\n", static_cast<long long>(elapsed.count()));
  EXPECT_LT(elapsed, 3000ms) << "the refusal, not the 2 s silence, sends A to IKEv1";
  nlohmann::json sa_a, sa_b;
  ASSERT_TRUE(testing::one_quick_mode_each({{&a_, &sa_a}, {&b_, &sa_b}})) << sa_a.dump(1) << sa_b.dump(1);
  EXPECT_EQ(sa_a["main_modes"][0]["ike_version"], 1);
  EXPECT_EQ(sa_a["quick_modes"][0]["ike_version"], 1);
  EXPECT_EQ(sa_b["main_modes"][0]["internal_state"], "MainMode6Sent");
  EXPECT_NE(test::read_text(a_.log).find("does not speak IKEv2, negotiating with IKEv1"), std::string::npos) << test::file_tail(a_.log);
}

TEST_F(WarddIkeNetnsTest, WrongPresharedKeyGivesNoSaAndAnEvent) {
  start(a_, esp_policy("one secret"));
  start(b_, esp_policy("another secret"));
  EXPECT_NE(ward::testing::ping_once(*a_.ns, kAddressB), 0);
  EXPECT_TRUE(eventually([&] {
    return wardctl(a_, "show events").second.find("main mode failed") != std::string::npos;
  })) << wardctl(a_, "show events").second << test::file_tail(a_.log);
  const auto events = wardctl(a_, "show events").second;
  EXPECT_NE(events.find("preshared keys"), std::string::npos) << events;
  EXPECT_TRUE(show_sa(a_).value("quick_modes", nlohmann::json::array()).empty());
  EXPECT_TRUE(show_sa(b_).value("sas", nlohmann::json::array()).empty());
}

}  // namespace
}  // namespace ward::agent::daemon
