// wardd <-> charon, both on a kernel that does ESP and AH: the rig of wardd_strongswan_rig.h with
// CharonKernel::Netlink, run inside User-mode Linux (ward_uml_test, one boot for the binary).
// wardd runs with `backend = auto`, which must pick xfrm there; charon with kernel-netlink. Both
// program the kernel's SAs and policies of their own namespace over XFRM netlink, in transport
// mode, and neither fakes a NAT: IKE stays on UDP 500 and ESP and AH go as IP protocols 50 and 51.
//
// Each case runs both ways: wardd initiating (a ping from Ward's namespace meets wardd's kernel
// policy; the kernel's acquire starts wardd's IKE) and charon initiating (a ping from charon's
// namespace meets charon's trap policy, start_action = trap: charon's kernel acquire starts charon's
// IKE). Checked each time: pings pass both ways, wardd's `show sa` names the role, the protocol and
// the kernel's packet counters, charon's CHILD_SA is INSTALLED in TRANSPORT mode with bytes in and
// out, and the capture on Ward's veth end holds the protected packets and never a clear ICMP.
//  - ESP AES-128-CBC / HMAC-SHA-256 with a preshared key, and with RSA certificates from a CA the
//    test makes (IKEv1 RSA signatures).
//  - AH HMAC-SHA-256 alone: ICMP inside AH on the wire.
//  - The same ESP transport case over IKEv2 (`[ike] version = ikev2`, charon's version = 2).
//  - ESP in tunnel mode: Windows' pair of tunnel rules against charon's host-to-host tunnel.
//  - AH+ESP: charon does not negotiate bundles (strongSwan skips every proposal that spans two
//    protocols: RFC 4301 dropped them). Ward offering the bundle first and ESP second agrees on
//    ESP with charon; Ward requiring the bundle gets no SA and says why, and nothing leaves in
//    clear. The bundle itself is proven Ward <-> Ward in the kernel (wardd_legacy_uml_test).
// Skips without root, `ip` or charon-systemd, and where UML cannot run (an ASan build).
#include <chrono>
#include <cstdio>
#include <string>

#include "tests/harness/test_ca.h"
#include "tests/interop/wardd_strongswan_rig.h"

namespace ward::interop {
namespace {

constexpr const char* kPsk = "ward and charon in one kernel";
constexpr const char* kRootSubject = "/O=Ward/CN=Ward Kernel Interop Root";
constexpr const char* kRootCaName = "CN=Ward Kernel Interop Root, O=Ward";
constexpr int kIcmp = 1;
constexpr int kEsp = 50;
constexpr int kAh = 51;

model::SecurityMethod esp_aes128_sha256() {
  return {std::nullopt, model::EspTransform{model::Cipher::Aes128Cbc, model::Integrity::Sha256}, 100000, 3600};
}
model::SecurityMethod ah_sha256() { return {model::AhTransform{model::Integrity::Sha256}, std::nullopt, 100000, 3600}; }
model::SecurityMethod ah_sha256_esp_aes128_sha256() {
  return {model::AhTransform{model::Integrity::Sha256}, model::EspTransform{model::Cipher::Aes128Cbc, model::Integrity::Sha256},
          100000, 3600};
}

// What the CHILD_SA carries: charon's proposals and wardd's and swanctl's names for them.
struct Protection {
  const char* esp_proposals;   // charon's, "" for none
  const char* ah_proposals;    // charon's, "" for none
  const char* ward_protocols;  // `show sa`'s "protocols"
  int wire_protocol;           // what the capture must hold (ICMP inside it)
  const char* swanctl_child;   // the algorithms in `swanctl --list-sas`
};
const Protection kEspCbc{"aes128-sha256", "", "ESP", kEsp, "ESP:AES_CBC-128/HMAC_SHA2_256_128"};
const Protection kAhSha256{"", "sha256", "AH", kAh, "AH:HMAC_SHA2_256_128"};

// charon's connection to Ward in transport mode, trapped (charon's kernel policy raises an acquire
// for the first packet), authenticated by `local` / `remote`.
std::string transport_conf(const Protection& p, const std::string& local, const std::string& remote,
                           const std::string& options = "") {
  std::string child = "        start_action = trap\n";
  if (*p.ah_proposals != '\0') child += "        ah_proposals = " + std::string(p.ah_proposals) + "\n";
  return swanctl_connection(local, remote, options, "aes128-sha256-modp2048", p.esp_proposals, "transport", child);
}

std::string psk_conf(const Protection& p) {
  const std::string ward = kWardAddress, charon = kCharonAddress;
  return transport_conf(p, "      auth = psk\n      id = " + charon + "\n", "      auth = psk\n      id = " + ward + "\n") +
         "secrets {\n  ike-ward {\n    id-1 = " + ward + "\n    id-2 = " + charon + "\n    secret = \"" + kPsk + "\"\n  }\n}\n";
}

enum class Initiator { Ward, Charon };

class WarddStrongSwanKernelTest : public WarddStrongSwanRig {
 protected:
  WarddStrongSwanKernelTest() : WarddStrongSwanRig(CharonKernel::Netlink) {}

  // Pings from `from` to `address` until one is answered (the first ones wait for, or are dropped
  // during, the negotiation): the attempts it took, 0 when none was answered.
  static int ping_until_answered_from(const ward::testing::Netns& from, const char* address) {
    for (int attempt = 1; attempt <= kPingAttempts; ++attempt) {
      if (ward::testing::ping_once(from, address) == 0) return attempt;
    }
    return 0;
  }

  // Both kernels' SAs, policies and XFRM error counters, for failure messages.
  std::string kernels() const {
    std::string text;
    for (const auto* ns : {ward_ns_.get(), charon_ns_.get()}) {
      text += "\n" + ns->name() + ":\n" +
              ns->exec_output("ip xfrm state; ip xfrm policy; grep -v ' 0$' /proc/net/xfrm_stat; ip -s link") ;
    }
    return text;
  }

  // The traffic that starts the negotiation, from the initiator's side.
  void negotiate(Initiator initiator) {
    start_packet_capture();
    const auto started = std::chrono::steady_clock::now();
    const int pings = initiator == Initiator::Ward ? ping_until_answered_from(*ward_ns_, kCharonAddress)
                                                   : ping_until_answered_from(*charon_ns_, kWardAddress);
    ASSERT_NE(pings, 0) << wardctl("show events").second << wardd_log() << charon_log() << kernels();
    std::printf("%s initiating: first echo answered after %d ping(s), %lld ms (main mode + quick mode included)\n",
                initiator == Initiator::Ward ? "wardd" : "charon", pings, ms_since(started));
  }

  // Both ends agree on `p`, in transport mode (or `charon_mode`), with Ward in `ward_role`; the wire
  // holds only IKE and `p`'s protocol.
  void expect_transport(const Protection& p, const char* ward_role, const char* charon_mode = "TRANSPORT") {
    nlohmann::json sa;
    ASSERT_TRUE(eventually([&] {
      sa = show_sa();
      return sa.value("quick_modes", nlohmann::json::array()).size() == 1;
    })) << sa.dump(1) << wardd_log() << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0) << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();

    sa = show_sa();
    ASSERT_EQ(sa["quick_modes"].size(), 1U) << sa.dump(1);
    const auto& qm = sa["quick_modes"][0];
    EXPECT_EQ(qm["role"], ward_role) << qm.dump(1);
    EXPECT_EQ(qm["peer"], kCharonAddress) << qm.dump(1);
    EXPECT_EQ(qm["protocols"], p.ward_protocols) << qm.dump(1);
    // The kernel's counters of the SA pair, read back over netlink.
    EXPECT_GE(qm.value("packets_in", 0), 2) << qm.dump(1);
    EXPECT_GE(qm.value("packets_out", 0), 2) << qm.dump(1);
    ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
    EXPECT_FALSE(sa["main_modes"][0].value("nat_t", true)) << "no NAT between the two: IKE stays on 500";
    std::printf("wardctl show sa (quick mode): %s\n", qm.dump().c_str());

    const auto list = swanctl({"--list-sas"});
    std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
    EXPECT_NE(list.out.find("ESTABLISHED"), std::string::npos) << list.describe();
    EXPECT_NE(list.out.find(std::string("INSTALLED, ") + charon_mode + ","), std::string::npos) << list.describe();
    EXPECT_NE(list.out.find(p.swanctl_child), std::string::npos) << list.describe();
    const auto [bytes_in, bytes_out] = child_sa_bytes(list.out);
    EXPECT_GT(bytes_in, 0) << list.out;
    EXPECT_GT(bytes_out, 0) << list.out;

    const auto on_wire = wire();
    const std::string carried = p.wire_protocol == kAh ? "51/1" : "50";
    EXPECT_GE(on_wire.count(carried) ? on_wire.at(carried) : 0, 4) << ward::testing::PacketCapture::describe(on_wire);
    EXPECT_GT(on_wire.count("17") ? on_wire.at("17") : 0, 0) << "IKE" << ward::testing::PacketCapture::describe(on_wire);
    EXPECT_EQ(on_wire.count(std::to_string(kIcmp)), 0U) << "ICMP in clear" << ward::testing::PacketCapture::describe(on_wire);
    EXPECT_EQ(on_wire.count(std::to_string(p.wire_protocol == kAh ? kEsp : kAh)), 0U)
        << ward::testing::PacketCapture::describe(on_wire);
  }

  void psk_case(const Protection& p, const model::SecurityMethod& method, Initiator initiator, int ike_version = 1) {
    auto conf = psk_conf(p);
    std::string wardd_config;
    if (ike_version == 2) {
      conf.replace(conf.find("version = 1"), std::string("version = 1").size(), "version = 2");
      wardd_config = "[ike]\nversion = ikev2\n";  // no IKEv1 fallback: an IKEv1 SA would pass the checks
    }
    start_charon(conf);
    start_wardd(transport_policy(model::AuthMethod::preshared(kPsk), {method}), wardd_config);
    negotiate(initiator);
    if (HasFatalFailure()) return;
    expect_transport(p, initiator == Initiator::Ward ? "initiator" : "responder");
    const auto sa = show_sa();
    ASSERT_EQ(sa["quick_modes"].size(), 1U) << sa.dump(1);
    EXPECT_EQ(sa["quick_modes"][0]["ike_version"], ike_version) << sa.dump(1);
  }
};

TEST_F(WarddStrongSwanKernelTest, PskEspTransportWarddInitiates) { psk_case(kEspCbc, esp_aes128_sha256(), Initiator::Ward); }
TEST_F(WarddStrongSwanKernelTest, PskEspTransportCharonInitiates) { psk_case(kEspCbc, esp_aes128_sha256(), Initiator::Charon); }
TEST_F(WarddStrongSwanKernelTest, PskAhTransportWarddInitiates) { psk_case(kAhSha256, ah_sha256(), Initiator::Ward); }
TEST_F(WarddStrongSwanKernelTest, PskAhTransportCharonInitiates) { psk_case(kAhSha256, ah_sha256(), Initiator::Charon); }

// IKEv2 (RFC 7296) in transport mode: USE_TRANSPORT_MODE both ways, both kernels' SAs in transport
// mode, the traffic selectors the two hosts' addresses. One charon for both directions (as the
// tunnel case below): a UML boot makes every start dear.
TEST_F(WarddStrongSwanKernelTest, Ikev2PskEspTransportEachSideInitiating) {
  psk_case(kEspCbc, esp_aes128_sha256(), Initiator::Ward, 2);
  if (HasFatalFailure()) return;
  wardd_.reset();
  ASSERT_TRUE(eventually([&] { return swanctl({"--list-sas"}).out.find("INSTALLED") == std::string::npos; }))
      << swanctl({"--list-sas"}).out << charon_log();
  start_wardd(transport_policy(model::AuthMethod::preshared(kPsk), {esp_aes128_sha256()}), "[ike]\nversion = ikev2\n");
  negotiate(Initiator::Charon);
  if (HasFatalFailure()) return;
  expect_transport(kEspCbc, "responder");
  EXPECT_EQ(show_sa()["quick_modes"][0]["ike_version"], 2);
}

// Windows' pair of tunnel rules (Ward -> charon through charon, charon -> Ward through Ward) against
// charon's host-to-host tunnel: both kernels encapsulate, ESP goes as protocol 50 (no NAT here).
TEST_F(WarddStrongSwanKernelTest, PskEspTunnelEachSideInitiating) {
  const std::string ward = kWardAddress, charon = kCharonAddress;
  const std::string conf =
      swanctl_connection("      auth = psk\n      id = " + charon + "\n", "      auth = psk\n      id = " + ward + "\n", "",
                         "aes128-sha256-modp2048", kEspCbc.esp_proposals, "tunnel", "        start_action = trap\n") +
      "secrets {\n  ike-ward {\n    id-1 = " + ward + "\n    id-2 = " + charon + "\n    secret = \"" + kPsk + "\"\n  }\n}\n";
  start_charon(conf);
  start_wardd(tunnel_policy(model::AuthMethod::preshared(kPsk)));
  negotiate(Initiator::Ward);
  if (HasFatalFailure()) return;
  expect_transport(kEspCbc, "initiator", "TUNNEL");
  EXPECT_EQ(show_sa()["quick_modes"][0]["rule"], "Ward to charon");

  // charon's turn: Ward's SAs go (SIGTERM deletes them and tells charon), a fresh wardd answers.
  wardd_.reset();
  ASSERT_TRUE(eventually([&] { return swanctl({"--list-sas"}).out.find("INSTALLED") == std::string::npos; }))
      << swanctl({"--list-sas"}).out << charon_log();
  start_wardd(tunnel_policy(model::AuthMethod::preshared(kPsk)));
  negotiate(Initiator::Charon);
  if (HasFatalFailure()) return;
  expect_transport(kEspCbc, "responder", "TUNNEL");
}

// Ward prefers AH+ESP and also offers ESP: charon skips the two-protocol proposal and takes ESP.
TEST_F(WarddStrongSwanKernelTest, BundleOfferedFirstCharonSkipsItAndEspIsAgreed) {
  start_charon(psk_conf(kEspCbc));
  start_wardd(transport_policy(model::AuthMethod::preshared(kPsk), {ah_sha256_esp_aes128_sha256(), esp_aes128_sha256()}));
  negotiate(Initiator::Ward);
  if (HasFatalFailure()) return;
  expect_transport(kEspCbc, "initiator");
}

// Ward requires AH+ESP: charon finds no proposal it takes, no SA on either side, wardd's event says
// so, and the echo requests never leave in clear (the kernel holds them for the SA that never comes).
TEST_F(WarddStrongSwanKernelTest, BundleRequiredGivesNoSaAReasonAndNoClearTraffic) {
  start_charon(psk_conf(kEspCbc));
  start_wardd(transport_policy(model::AuthMethod::preshared(kPsk), {ah_sha256_esp_aes128_sha256()}));
  start_packet_capture();
  EXPECT_NE(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0);
  nlohmann::json sa;
  ASSERT_TRUE(eventually([&] {
    sa = show_sa();
    return !sa.value("failures", nlohmann::json::array()).empty();
  }, kMainModeGiveUp)) << sa.dump(1) << wardd_log() << charon_log();
  std::printf("wardd's failure: %s\nwardd events:\n%s\n", sa["failures"][0].dump().c_str(), wardctl("show events").second.c_str());
  EXPECT_EQ(sa["failures"][0]["failure_kind"], "no-proposal-chosen") << sa["failures"].dump(1) << charon_log();
  EXPECT_NE(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0);
  EXPECT_TRUE(show_sa().value("sas", nlohmann::json::array()).empty()) << show_sa().dump(1);
  const auto list = swanctl({"--list-sas"});
  EXPECT_EQ(list.out.find("INSTALLED"), std::string::npos) << list.out;
  const auto on_wire = wire();
  EXPECT_EQ(on_wire.count(std::to_string(kIcmp)), 0U) << ward::testing::PacketCapture::describe(on_wire);
  EXPECT_EQ(on_wire.count(std::to_string(kEsp)), 0U) << ward::testing::PacketCapture::describe(on_wire);
}

// RSA certificates from one root: Ward's [certificates] in ward.conf (identifying by its subject,
// the default), charon's x509/, private/, x509ca/ and auth = pubkey (identifying by its address);
// charon sends message 6 unfragmented (Ward does not reassemble).
class WarddStrongSwanKernelCertificateTest : public WarddStrongSwanKernelTest {
 protected:
  void certificate_case(Initiator initiator) {
    auto root = test::make_rsa_ca(dir(), "root", kRootSubject);
    ASSERT_TRUE(root) << root.error().to_string();
    auto ward_cert = test::issue_rsa_certificate(*root, dir(), "ward", "/O=Ward/CN=ward.kernel.test",
                                                 test::RsaCertificateOptions{{std::string("IP:") + kWardAddress}, "", "", 10, {}});
    ASSERT_TRUE(ward_cert) << ward_cert.error().to_string();
    auto charon_cert = test::issue_rsa_certificate(*root, dir(), "charon", "/O=Ward/CN=charon.kernel.test",
                                                   test::RsaCertificateOptions{{std::string("IP:") + kCharonAddress}, "", "", 10, {}});
    ASSERT_TRUE(charon_cert) << charon_cert.error().to_string();
    for (const char* sub : {"x509", "x509ca", "private"}) std::filesystem::create_directories(swanctl_dir() / sub);
    std::filesystem::copy_file(charon_cert->certificate, swanctl_dir() / "x509" / "charon.crt");
    std::filesystem::copy_file(charon_cert->private_key, swanctl_dir() / "private" / "charon.key");
    std::filesystem::copy_file(root->certificate, swanctl_dir() / "x509ca" / "root.crt");
    const std::string ward = kWardAddress, charon = kCharonAddress;
    start_charon(transport_conf(kEspCbc, "      auth = pubkey\n      certs = charon.crt\n      id = " + charon + "\n",
                                // wardd's default identity with a certificate: its subject (ID_DER_ASN1_DN)
                                "      auth = pubkey\n      id = \"O=Ward, CN=ward.kernel.test\"\n",
                                "    fragmentation = no\n    send_cert = always\n    send_certreq = yes\n"));
    start_wardd(transport_policy(model::AuthMethod::certificate(kRootCaName), {esp_aes128_sha256()}),
                "[certificates]\ncertificate = " + ward_cert->certificate.string() + "\nprivate_key = " +
                    ward_cert->private_key.string() + "\ntrust = " + root->certificate.string() + "\n");
    negotiate(initiator);
    if (HasFatalFailure()) return;
    expect_transport(kEspCbc, initiator == Initiator::Ward ? "initiator" : "responder");
    const auto sa = show_sa();
    ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
    EXPECT_EQ(sa["main_modes"][0]["auth_method"], "RSA signature (X.509)") << sa["main_modes"][0].dump(1);
  }
};

TEST_F(WarddStrongSwanKernelCertificateTest, EspTransportWarddInitiates) { certificate_case(Initiator::Ward); }
TEST_F(WarddStrongSwanKernelCertificateTest, EspTransportCharonInitiates) { certificate_case(Initiator::Charon); }

}  // namespace
}  // namespace ward::interop
