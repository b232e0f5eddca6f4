// wardd <-> charon (the rig of wardd_strongswan_rig.h) with RSA certificates from a CA the test
// makes (tests/harness/test_ca): IKEv1 main mode with RSA signatures, quick mode, ESP tunnel mode in
// UDP. Ward's rule authenticates with a certificate from "CN=Ward Interop Root, O=Ward" ([certificates]
// in ward.conf: its certificate for SAN IP:10.79.0.1, its key, the root as trust store); charon
// gets its certificate (SAN IP:10.79.0.2), key and the root in its own swanctl dir (x509/,
// private/, x509ca/) and `auth = pubkey`. Both IKEv1 IDs are the addresses, which Ward binds to the
// certificate's SAN and charon to its `id`. Checked: pings pass, charon's CHILD_SA has bytes in and
// out, `wardctl show sa` shows "RSA signature (X.509)" and packets, tshark sees ESP and no ICMP in
// clear. charon with a certificate from an untrusted CA, or an expired one: no SA on either side
// and wardd's event names the CA or the expiry. Skips without root, `ip`, charon-systemd or tshark.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <sstream>
#include <string>

#include "tests/harness/test_ca.h"
#include "tests/interop/wardd_strongswan_rig.h"

namespace ward::interop {
namespace {

constexpr const char* kRootSubject = "/O=Ward/CN=Ward Interop Root";
constexpr const char* kRootCaName = "CN=Ward Interop Root, O=Ward";
constexpr const char* kRogueSubject = "/O=Rogue/CN=Rogue Interop Root";
// The certificates' subjects as swanctl writes an ID_DER_ASN1_DN identity, and their DNS names.
constexpr const char* kWardDn = "O=Ward, CN=ward.interop.test";
constexpr const char* kCharonDn = "O=Ward, CN=charon.interop.test";
constexpr const char* kWardFqdn = "ward.interop.test";
constexpr const char* kCharonFqdn = "charon.interop.test";
// charon drops its IKE_SA when it processes wardd's DELETE, a round trip after message 6.
constexpr auto kIkeSaGone = std::chrono::seconds(5);

// openssl's YYYYMMDDHHMMSSZ for now + `offset` (UTC).
std::string openssl_time(std::chrono::seconds offset) {
  const std::time_t at = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + offset);
  std::tm utc{};
  gmtime_r(&at, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d%H%M%SZ", &utc);
  return text;
}

// charon authenticates with its certificate (always sent: Ward does not look certificates up) and
// wants Ward's, from the CAs in x509ca/. Ward does not reassemble IKE fragments, so charon sends
// the certificate-carrying message 6 whole. `charon_id` / `ward_id` are swanctl identities: an
// address (ID_IPV4_ADDR), "O=Ward, CN=..." (ID_DER_ASN1_DN) or a host name (ID_FQDN).
std::string certificate_swanctl_conf(const std::string& charon_id = kCharonAddress, const std::string& ward_id = kWardAddress) {
  return swanctl_connection("      auth = pubkey\n      certs = charon.crt\n      id = \"" + charon_id + "\"\n",
                            "      auth = pubkey\n      id = \"" + ward_id + "\"\n",
                            "    fragmentation = no\n    send_cert = always\n    send_certreq = yes\n");
}

// The lines of `text` that contain any of `needles`.
std::string lines_with(const std::string& text, std::initializer_list<const char*> needles) {
  std::string found, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    for (const char* needle : needles) {
      if (line.find(needle) != std::string::npos) {
        found += line + "\n";
        break;
      }
    }
  }
  return found;
}

class WarddStrongSwanCertificateTest : public WarddStrongSwanRig {
 protected:
  void SetUp() override {
    WarddStrongSwanRig::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto root = test::make_rsa_ca(dir(), "root", kRootSubject);
    ASSERT_TRUE(root) << root.error().to_string();
    root_.emplace(std::move(*root));
  }

  // Ward: its certificate from `issuer` (the root when null; then the certificate file carries the
  // intermediate after it) for SAN IP:10.79.0.1 and DNS:ward.interop.test, the root trusted (or
  // `trust`), a rule naming the root; `certificates` adds lines to [certificates] (identity, ...).
  // `key`: an existing key to certify (an ECDSA one); `ike` adds an [ike] section (the IKEv2 tests).
  void start_ward(const std::string& certificates = "identity = address\n", const test::TestCa* issuer = nullptr,
                  const std::filesystem::path& trust = {}, const std::filesystem::path& key = {}, const std::string& ike = "") {
    auto cert = test::issue_rsa_certificate(issuer != nullptr ? *issuer : *root_, dir(), "ward", "/O=Ward/CN=ward.interop.test",
                                            test::RsaCertificateOptions{{std::string("IP:") + kWardAddress, "DNS:ward.interop.test"},
                                                                        "", "", 10, key});
    ASSERT_TRUE(cert) << cert.error().to_string();
    if (issuer != nullptr) {
      const auto chain = dir() / "ward-chain.crt";
      ASSERT_TRUE(test::write_file(chain, test::read_text(cert->certificate) + test::read_text(issuer->certificate)));
      cert->certificate = chain;
    }
    start_wardd(tunnel_policy(model::AuthMethod::certificate(kRootCaName)),
                "[certificates]\ncertificate = " + cert->certificate.string() + "\nprivate_key = " +
                    cert->private_key.string() + "\ntrust = " + (trust.empty() ? root_->certificate : trust).string() + "\n" +
                    certificates + ike);
  }

  // charon: a certificate from `issuer` valid as `options` says (SAN IP:10.79.0.2 and
  // DNS:charon.interop.test), the root (and `intermediate`, to send it) as its CAs.
  void start_charon_with(const test::TestCa& issuer, test::RsaCertificateOptions options,
                         const std::string& swanctl_conf = certificate_swanctl_conf(), const test::TestCa* intermediate = nullptr) {
    options.subject_alt_names = {std::string("IP:") + kCharonAddress, "DNS:charon.interop.test"};
    auto cert = test::issue_rsa_certificate(issuer, dir(), "charon", "/O=Ward/CN=charon.interop.test", options);
    ASSERT_TRUE(cert) << cert.error().to_string();
    for (const char* sub : {"x509", "x509ca", "private"}) std::filesystem::create_directories(swanctl_dir() / sub);
    std::filesystem::copy_file(cert->certificate, swanctl_dir() / "x509" / "charon.crt");
    std::filesystem::copy_file(cert->private_key, swanctl_dir() / "private" / "charon.key");
    std::filesystem::copy_file(root_->certificate, swanctl_dir() / "x509ca" / "root.crt");
    if (intermediate != nullptr) std::filesystem::copy_file(intermediate->certificate, swanctl_dir() / "x509ca" / "intermediate.crt");
    start_charon(swanctl_conf);
    if (HasFatalFailure()) return;
    // Which plugins do the RSA and X.509 work (openssl is optional: gmp, x509, pkcs1, pkcs8 do).
    std::printf("%s", lines_with(test::read_text(dir() / "charon.log"), {"loaded plugins", "plugin '"}).c_str());
    // swanctl says what it loaded; a certificate or key charon cannot read fails the test here.
    EXPECT_NE(loaded_.out.find("loaded certificate from '" + (swanctl_dir() / "x509" / "charon.crt").string()), std::string::npos)
        << loaded_.describe();
    const std::string kind = options.key.empty() ? "RSA" : "ECDSA";
    EXPECT_NE(loaded_.out.find("loaded " + kind + " key from '" + (swanctl_dir() / "private" / "charon.key").string()), std::string::npos)
        << loaded_.describe();
  }

  // The tunnel is up, Ward `role`: pings both ways through it, wardd's quick mode and charon's
  // CHILD_SA carried packets both ways, ESP on the wire and no ICMP in clear; charon
  // authenticated Ward as `ward_id` and Ward authenticated charon's certificate.
  void expect_tunnel_carries_traffic(const std::string& role, const std::string& ward_id) {
    nlohmann::json sa;
    ASSERT_TRUE(eventually([&] {
      sa = show_sa();
      return sa.value("quick_modes", nlohmann::json::array()).size() == 1;
    })) << sa.dump(1) << wardd_log() << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0) << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();
    sa = show_sa();
    std::printf("wardctl show sa: %s\n", sa.dump().c_str());
    ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
    EXPECT_EQ(sa["main_modes"][0]["auth_method"], "RSA signature (X.509)") << sa.dump(1);
    EXPECT_EQ(sa["main_modes"][0]["role"], role) << sa.dump(1);
    ASSERT_EQ(sa["quick_modes"].size(), 1U) << sa.dump(1);
    EXPECT_GE(sa["quick_modes"][0].value("packets_out", 0), 2) << sa.dump(1);
    EXPECT_GE(sa["quick_modes"][0].value("packets_in", 0), 2) << sa.dump(1);
    const auto list = swanctl({"--list-sas"});
    std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
    EXPECT_NE(list.out.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << list.describe();
    const auto [bytes_in, bytes_out] = child_sa_bytes(list.out);
    EXPECT_GT(bytes_in, 0) << list.out;
    EXPECT_GT(bytes_out, 0) << list.out;
    const auto checked = lines_with(test::read_text(dir() / "charon.log"), {"authentication of", "IDir", "IDii", "received end entity"});
    std::printf("charon on the identities:\n%s", checked.c_str());
    EXPECT_NE(checked.find("authentication of '" + ward_id + "' with RSA"), std::string::npos) << checked;
    const auto authenticated = lines_with(wardd_log(), {"authenticated as"});
    std::printf("wardd:\n%s", authenticated.c_str());
    EXPECT_NE(authenticated.find("the peer authenticated as CN=charon.interop.test,O=Ward"), std::string::npos) << wardd_log();
    const auto capture = stop_capture();
    const std::string ward_to_charon = std::string(kWardAddress) + "\t" + kCharonAddress;
    const std::string charon_to_ward = std::string(kCharonAddress) + "\t" + kWardAddress;
    EXPECT_NE(capture.find(ward_to_charon + "\t4500\t4500\tESP"), std::string::npos) << capture;
    EXPECT_NE(capture.find(charon_to_ward + "\t4500\t4500\tESP"), std::string::npos) << capture;
    EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests or replies in clear:\n" << capture;
  }

  void ward_initiates(const std::string& ward_id) {
    start_capture();
    ASSERT_NE(ping_until_answered(), 0) << wardctl("show events").second << wardd_log() << charon_log();
    expect_tunnel_carries_traffic("initiator", ward_id);
  }
  void charon_initiates(const std::string& ward_id) {
    start_capture();
    const auto initiated = swanctl({"--initiate", "--child", "ward", "--timeout", "10"});
    ASSERT_EQ(initiated.exit_code, 0) << initiated.describe() << wardd_log() << charon_log();
    expect_tunnel_carries_traffic("responder", ward_id);
  }

  // The failure is Ward's to see (message 6 carries charon's certificate): the reason in wardd's
  // events, no SA in wardd, no CHILD_SA in charon, no echo in clear. charon, the IKEv1 responder,
  // counts its IKE_SA ESTABLISHED once it has sent message 6; wardd, which decrypted message 6,
  // sends an informational under the phase 1 keys (N(AUTHENTICATION-FAILED) + DELETE of the
  // ISAKMP SA), and charon deletes its IKE_SA: `swanctl --list-sas` lists none within seconds.
  void expect_refused_with(const std::string& reason) {
    start_capture();
    EXPECT_NE(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0);
    ASSERT_TRUE(eventually([&] { return wardctl("show events").second.find(reason) != std::string::npos; }, kMainModeGiveUp))
        << wardctl("show events").second << wardd_log() << charon_log();
    const auto events = wardctl("show events").second;
    std::printf("wardd events:\n%s\n", events.c_str());
    EXPECT_NE(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0);
    const auto sa = show_sa();
    EXPECT_TRUE(sa.value("main_modes", nlohmann::json::array()).empty()) << sa.dump(1);
    EXPECT_TRUE(sa.value("quick_modes", nlohmann::json::array()).empty()) << sa.dump(1);
    EXPECT_TRUE(sa.value("sas", nlohmann::json::array()).empty()) << sa.dump(1);
    test::CapturedRun list;
    const bool gone = eventually(
        [&] {
          list = swanctl({"--list-sas"});
          return list.exit_code == 0 && list.out.find(kWardAddress) == std::string::npos;
        },
        kIkeSaGone);
    std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
    EXPECT_TRUE(gone) << "charon still lists an IKE_SA with wardd:\n" << list.describe() << charon_log();
    EXPECT_EQ(list.out.find("ESTABLISHED"), std::string::npos) << list.out;
    EXPECT_EQ(list.out.find("INSTALLED"), std::string::npos) << list.out;
    std::printf("charon on wardd's informational:\n%s",
                lines_with(test::read_text(dir() / "charon.log"), {"INFORMATIONAL", "error notify", "DELETE", "deleting"}).c_str());
    const auto capture = stop_capture();
    EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests in clear:\n" << capture;
  }

  // ---- IKEv2 ---------------------------------------------------------------------------------------

  // The tunnel is up over IKEv2 with certificates, Ward `role`: both sides list it as IKEv2, pings
  // pass both ways, charon's CHILD_SA counted bytes both ways, ESP on the wire and no ICMP in clear;
  // charon authenticated Ward as `ward_id` by `charon_saw` (its name for the AUTH method: RFC 7427's
  // "RSA_EMSA_PKCS1_SHA2_256", "ECDSA_WITH_SHA256_DER"), and Ward names charon's certificate.
  void expect_ikev2_tunnel(const std::string& role, const std::string& ward_id, const std::string& charon_saw) {
    nlohmann::json sa;
    ASSERT_TRUE(eventually([&] {
      sa = show_sa();
      return sa.value("quick_modes", nlohmann::json::array()).size() == 1;
    })) << sa.dump(1) << wardd_log() << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0) << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();
    sa = show_sa();
    std::printf("wardctl show sa: %s\n", sa.dump().c_str());
    ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
    EXPECT_EQ(sa["main_modes"][0]["ike_version"], 2) << sa.dump(1);
    // Ward's method is named by its own key, the one charon verified.
    const bool ward_signs_ecdsa = charon_saw.find("ECDSA") != std::string::npos;
    EXPECT_EQ(sa["main_modes"][0]["auth_method"], ward_signs_ecdsa ? "ECDSA signature (X.509)" : "RSA signature (X.509)") << sa.dump(1);
    EXPECT_EQ(sa["main_modes"][0]["role"], role) << sa.dump(1);
    ASSERT_EQ(sa["quick_modes"].size(), 1U) << sa.dump(1);
    EXPECT_EQ(sa["quick_modes"][0]["ike_version"], 2) << sa.dump(1);
    EXPECT_GE(sa["quick_modes"][0].value("packets_out", 0), 2) << sa.dump(1);
    EXPECT_GE(sa["quick_modes"][0].value("packets_in", 0), 2) << sa.dump(1);
    const auto list = swanctl({"--list-sas"});
    std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
    EXPECT_NE(list.out.find("IKEv2"), std::string::npos) << list.describe();
    EXPECT_NE(list.out.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << list.describe();
    const auto [bytes_in, bytes_out] = child_sa_bytes(list.out);
    EXPECT_GT(bytes_in, 0) << list.out;
    EXPECT_GT(bytes_out, 0) << list.out;
    const auto checked = lines_with(test::read_text(dir() / "charon.log"), {"authentication of", "received end entity", "signature scheme"});
    std::printf("charon on the identities:\n%s", checked.c_str());
    EXPECT_NE(checked.find("authentication of '" + ward_id + "' with " + charon_saw + " successful"), std::string::npos) << checked;
    const auto established = lines_with(wardd_log(), {"established (", "authenticated as"});
    std::printf("wardd:\n%s", established.c_str());
    EXPECT_NE(established.find("the peer authenticated as CN=charon.interop.test,O=Ward"), std::string::npos) << wardd_log();
    const auto capture = stop_capture();
    EXPECT_NE(capture.find(std::string(kWardAddress) + "\t" + kCharonAddress + "\t4500\t4500\tESP"), std::string::npos) << capture;
    EXPECT_NE(capture.find(std::string(kCharonAddress) + "\t" + kWardAddress + "\t4500\t4500\tESP"), std::string::npos) << capture;
    EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests or replies in clear:\n" << capture;
  }

  // charon's IKEv2 connection (certificate_swanctl_conf with version 2, and charon's default
  // fragmentation = yes: Ward reassembles IKEv2 fragments, RFC 7383) and wardd with [ike]
  // version = ikev2 (no fallback: an IKEv1 SA would fail the test). `ecdsa`: both keys P-256.
  void start_ikev2_pair(const std::string& charon_id, const std::string& ward_id, const std::string& ward_identity, bool ecdsa) {
    auto conf = certificate_swanctl_conf(charon_id, ward_id);
    conf.replace(conf.find("version = 1"), std::string("version = 1").size(), "version = 2");
    conf.erase(conf.find("    fragmentation = no\n"), std::string("    fragmentation = no\n").size());
    test::RsaCertificateOptions charon_options;
    std::filesystem::path ward_key;
    if (ecdsa) {
      auto charon_key = test::make_ec_key(dir(), "charon-ec", "P-256");
      auto ward_ec = test::make_ec_key(dir(), "ward-ec", "P-256");
      ASSERT_TRUE(charon_key && ward_ec);
      charon_options.key = *charon_key;
      ward_key = *ward_ec;
    }
    start_charon_with(*root_, charon_options, conf);
    ASSERT_FALSE(HasFatalFailure());
    start_ward(ward_identity, nullptr, {}, ward_key, "[ike]\nversion = ikev2\n");
  }
  void ward_initiates_ikev2(const std::string& ward_id, const std::string& charon_saw) {
    start_capture();
    ASSERT_NE(ping_until_answered(), 0) << wardctl("show events").second << wardd_log() << charon_log();
    expect_ikev2_tunnel("initiator", ward_id, charon_saw);
  }
  void charon_initiates_ikev2(const std::string& ward_id, const std::string& charon_saw) {
    start_capture();
    const auto initiated = swanctl({"--initiate", "--child", "ward", "--timeout", "10"});
    ASSERT_EQ(initiated.exit_code, 0) << initiated.describe() << wardd_log() << charon_log();
    expect_ikev2_tunnel("responder", ward_id, charon_saw);
  }

  std::optional<test::TestCa> root_;
};

// IKEv2 (RFC 7296 IKE_AUTH with CERT and CERTREQ): charon announces RFC 7427 hashes, so both sides
// sign by RFC 7427 digital signature (method 14); RSA keys and ID_DER_ASN1_DN, each side initiating.
TEST_F(WarddStrongSwanCertificateTest, Ikev2RsaWithDistinguishedNamesWhenWardInitiates) {
  start_ikev2_pair(kCharonDn, kWardDn, "", false);
  ASSERT_FALSE(HasFatalFailure());
  ward_initiates_ikev2(kWardDn, "RSA_EMSA_PKCS1_SHA2_256");
  // Ward's IKE_AUTH with its RSA certificate is over its 576-byte default: it went as fragments.
  EXPECT_NE(test::read_text(dir() / "charon.log").find("reassembled fragmented IKE message"), std::string::npos) << charon_log();
}

TEST_F(WarddStrongSwanCertificateTest, Ikev2RsaWithDistinguishedNamesWhenCharonInitiates) {
  start_ikev2_pair(kCharonDn, kWardDn, "", false);
  ASSERT_FALSE(HasFatalFailure());
  charon_initiates_ikev2(kWardDn, "RSA_EMSA_PKCS1_SHA2_256");
}

// ECDSA P-256 keys (from the RSA root) and ID_FQDN.
TEST_F(WarddStrongSwanCertificateTest, Ikev2EcdsaWithFqdnsWhenWardInitiates) {
  start_ikev2_pair(kCharonFqdn, kWardFqdn, "identity = fqdn\n", true);
  ASSERT_FALSE(HasFatalFailure());
  ward_initiates_ikev2(kWardFqdn, "ECDSA_WITH_SHA256_DER");
}

TEST_F(WarddStrongSwanCertificateTest, Ikev2EcdsaWithFqdnsWhenCharonInitiates) {
  start_ikev2_pair(kCharonFqdn, kWardFqdn, "identity = fqdn\n", true);
  ASSERT_FALSE(HasFatalFailure());
  charon_initiates_ikev2(kWardFqdn, "ECDSA_WITH_SHA256_DER");
}

TEST_F(WarddStrongSwanCertificateTest, CertificatesFromTheRulesCaEstablishATunnelThatCarriesTraffic) {
  start_charon_with(*root_, {});
  ASSERT_FALSE(HasFatalFailure());
  start_ward();
  ASSERT_FALSE(HasFatalFailure());
  start_capture();

  const auto started = std::chrono::steady_clock::now();
  const int pings = ping_until_answered();
  const auto first_answer = ms_since(started);
  ASSERT_NE(pings, 0) << wardctl("show events").second << wardd_log() << charon_log();
  // wardd installs its outbound SA, which releases the held echo request, after quick mode
  // message 3 and a pause in which charon installs its inbound SA: the first echo is not lost.
  EXPECT_EQ(pings, 1) << "the echo request held while IKE negotiated was lost; answered after " << first_answer << " ms";
  nlohmann::json sa;
  ASSERT_TRUE(eventually([&] {
    sa = show_sa();
    return sa.value("quick_modes", nlohmann::json::array()).size() == 1;
  })) << sa.dump(1);
  std::printf("certificates: first ping answered through the tunnel (main mode + quick mode included) after %lld ms\n",
              first_answer);

  EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();
  const auto rtt = ward_ns_->exec_output("ping -q -c " + std::to_string(kRttPings) + " -i 0.2 -W1 " + kCharonAddress + " | tail -1");
  std::printf("ping -c %d through the tunnel: %s", kRttPings, rtt.c_str());

  // wardd: main mode authenticated by RSA signature, the quick mode with packets both ways.
  sa = show_sa();
  std::printf("wardctl show sa: %s\n", sa.dump().c_str());
  ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
  EXPECT_EQ(sa["main_modes"][0]["auth_method"], "RSA signature (X.509)") << sa.dump(1);
  EXPECT_TRUE(sa["main_modes"][0].value("nat_t", false)) << sa.dump(1);
  ASSERT_EQ(sa["quick_modes"].size(), 1U) << sa.dump(1);
  const auto& qm = sa["quick_modes"][0];
  EXPECT_EQ(qm["auth_method"], "RSA signature (X.509)") << qm.dump(1);
  EXPECT_EQ(qm["rule"], "Ward to charon");
  EXPECT_GE(qm.value("packets_out", 0), kRttPings + 2) << qm.dump(1);
  EXPECT_GE(qm.value("packets_in", 0), kRttPings + 2) << qm.dump(1);
  EXPECT_EQ(sa["sas"].size(), 2U) << sa.dump(1);

  // charon: the IKE_SA authenticated Ward's certificate, the CHILD_SA carried bytes both ways.
  const auto list = swanctl({"--list-sas"});
  std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
  EXPECT_NE(list.out.find("ESTABLISHED"), std::string::npos) << list.describe();
  EXPECT_NE(list.out.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << list.describe();
  const auto [bytes_in, bytes_out] = child_sa_bytes(list.out);
  EXPECT_GT(bytes_in, 0) << list.out;
  EXPECT_GT(bytes_out, 0) << list.out;
  const auto checked = lines_with(test::read_text(dir() / "charon.log"), {"authentication of", "trusted ca", "root ca"});
  std::printf("charon on Ward's certificate:\n%s", checked.c_str());
  EXPECT_NE(checked.find("authentication of '" + std::string(kWardAddress) + "' with RSA"), std::string::npos) << checked;
  EXPECT_NE(checked.find("reached self-signed root ca"), std::string::npos) << checked;

  const auto capture = stop_capture();
  const std::string ward_to_charon = std::string(kWardAddress) + "\t" + kCharonAddress;
  const std::string charon_to_ward = std::string(kCharonAddress) + "\t" + kWardAddress;
  EXPECT_NE(capture.find(ward_to_charon + "\t4500\t4500\tESP"), std::string::npos) << capture;
  EXPECT_NE(capture.find(charon_to_ward + "\t4500\t4500\tESP"), std::string::npos) << capture;
  EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests or replies in clear:\n" << capture;
}

TEST_F(WarddStrongSwanCertificateTest, ACertificateFromAnUntrustedCaGivesNoSaAndNamesTheCa) {
  auto rogue = test::make_rsa_ca(dir(), "rogue", kRogueSubject);
  ASSERT_TRUE(rogue) << rogue.error().to_string();
  start_charon_with(*rogue, {});
  ASSERT_FALSE(HasFatalFailure());
  start_ward();
  ASSERT_FALSE(HasFatalFailure());
  expect_refused_with("is not signed by the trusted CA \"" + std::string(kRootCaName) + "\"");
  EXPECT_NE(wardctl("show events").second.find("Rogue Interop Root"), std::string::npos) << wardctl("show events").second;
}

TEST_F(WarddStrongSwanCertificateTest, AnExpiredCertificateGivesNoSaAndSaysItExpired) {
  // Issued by the trusted root; valid from 20 hours ago until an hour ago.
  start_charon_with(*root_, test::RsaCertificateOptions{{}, openssl_time(-20h), openssl_time(-1h), 10, {}});
  ASSERT_FALSE(HasFatalFailure());
  start_ward();
  ASSERT_FALSE(HasFatalFailure());
  expect_refused_with("expired on");
}

// ---- identities: the certificate's subject (ID_DER_ASN1_DN) and DNS name (ID_FQDN) ----------------

// wardd's default identity is its certificate's subject, as Windows sends with a certificate;
// charon names both sides by DN.
TEST_F(WarddStrongSwanCertificateTest, DistinguishedNameIdsWhenWardInitiates) {
  start_charon_with(*root_, {}, certificate_swanctl_conf(kCharonDn, kWardDn));
  ASSERT_FALSE(HasFatalFailure());
  start_ward("");
  ASSERT_FALSE(HasFatalFailure());
  ward_initiates(kWardDn);
}

TEST_F(WarddStrongSwanCertificateTest, DistinguishedNameIdsWhenCharonInitiates) {
  start_charon_with(*root_, {}, certificate_swanctl_conf(kCharonDn, kWardDn));
  ASSERT_FALSE(HasFatalFailure());
  start_ward("");
  ASSERT_FALSE(HasFatalFailure());
  charon_initiates(kWardDn);
}

TEST_F(WarddStrongSwanCertificateTest, FqdnIdsWhenWardInitiates) {
  start_charon_with(*root_, {}, certificate_swanctl_conf(kCharonFqdn, kWardFqdn));
  ASSERT_FALSE(HasFatalFailure());
  start_ward("identity = fqdn\n");   // the certificate's first DNS name
  ASSERT_FALSE(HasFatalFailure());
  ward_initiates(kWardFqdn);
}

TEST_F(WarddStrongSwanCertificateTest, FqdnIdsWhenCharonInitiates) {
  start_charon_with(*root_, {}, certificate_swanctl_conf(kCharonFqdn, kWardFqdn));
  ASSERT_FALSE(HasFatalFailure());
  start_ward("identity = fqdn\nfqdn = " + std::string(kWardFqdn) + "\n");
  ASSERT_FALSE(HasFatalFailure());
  charon_initiates(kWardFqdn);
}

// ---- chains: intermediate CAs and revocation --------------------------------------------------------

// Both certificates come from an intermediate CA that only the senders have: wardd sends it after
// its certificate ([certificates] certificate holds both), charon from its x509ca/; each side
// trusts only the root.
TEST_F(WarddStrongSwanCertificateTest, CertificatesFromAnIntermediateCaChainToTheRoot) {
  auto issuing = test::make_rsa_intermediate_ca(*root_, dir(), "issuing", "/O=Ward/CN=Ward Interop Issuing CA");
  ASSERT_TRUE(issuing) << issuing.error().to_string();
  start_charon_with(*issuing, {}, certificate_swanctl_conf(kCharonDn, kWardDn), &*issuing);
  ASSERT_FALSE(HasFatalFailure());
  start_ward("", &*issuing);
  ASSERT_FALSE(HasFatalFailure());
  ward_initiates(kWardDn);
  const auto chain = lines_with(test::read_text(dir() / "charon.log"), {"intermediate ca", "issuer cert", "root ca"});
  std::printf("charon on Ward's chain:\n%s", chain.c_str());
  EXPECT_NE(chain.find("Ward Interop Issuing CA"), std::string::npos) << chain;
}

// charon's certificate is fine, but the root revoked the intermediate CA that issued it: the
// root's CRL in wardd's trust store refuses the chain.
TEST_F(WarddStrongSwanCertificateTest, ACertificateFromARevokedIntermediateCaGivesNoSa) {
  auto doomed = test::make_rsa_intermediate_ca(*root_, dir(), "doomed", "/O=Ward/CN=Ward Interop Doomed CA");
  ASSERT_TRUE(doomed) << doomed.error().to_string();
  ASSERT_TRUE(test::revoke_certificate(*root_, test::TestCertificate{doomed->certificate, doomed->private_key}));
  auto crl = test::make_crl(*root_, dir(), "root");
  ASSERT_TRUE(crl) << crl.error().to_string();
  const auto trust = dir() / "ward-trust";
  std::filesystem::create_directories(trust);
  std::filesystem::copy_file(root_->certificate, trust / "root.pem");
  std::filesystem::copy_file(*crl, trust / "root.crl");
  start_charon_with(*doomed, {}, certificate_swanctl_conf(kCharonDn, kWardDn), &*doomed);
  ASSERT_FALSE(HasFatalFailure());
  start_ward("", nullptr, trust);
  ASSERT_FALSE(HasFatalFailure());
  expect_refused_with("CA certificate \"CN=Ward Interop Doomed CA,O=Ward\" in the chain of " + std::string(kCharonAddress) +
                      " (CN=charon.interop.test,O=Ward) is revoked (in the CRL of \"CN=Ward Interop Root,O=Ward\")");
}

// charon without RFC 7427 (signature_authentication = no: no SIGNATURE_HASH_ALGORITHMS) gets and
// sends the classic methods: ECDSA P-256 (method 9, r | s) with Ward initiating, RSA (method 1,
// PKCS#1 v1.5 SHA-1) with charon initiating.
TEST_F(WarddStrongSwanCertificateTest, Ikev2ClassicEcdsaMethodWithoutRfc7427WhenWardInitiates) {
  charon_options_ = "  signature_authentication = no\n";
  start_ikev2_pair(kCharonFqdn, kWardFqdn, "identity = fqdn\n", true);
  ASSERT_FALSE(HasFatalFailure());
  ward_initiates_ikev2(kWardFqdn, "ECDSA-256 signature");
}

TEST_F(WarddStrongSwanCertificateTest, Ikev2ClassicRsaMethodWithoutRfc7427WhenCharonInitiates) {
  charon_options_ = "  signature_authentication = no\n";
  start_ikev2_pair(kCharonDn, kWardDn, "", false);
  ASSERT_FALSE(HasFatalFailure());
  charon_initiates_ikev2(kWardDn, "RSA signature");
}

}  // namespace
}  // namespace ward::interop
