// RSA signature main mode with X.509 certificates between two Ward hosts in one process, with
// certificates the openssl CLI makes for the suite (tests/harness/test_ca.h): an RSA-2048 root
// "Ward Test Root" with an intermediate, a second trusted root "Other Root", a CA nobody trusts,
// an expired and a revoked certificate and the root's CRL. Host A (10.20.1.10) initiates, host B
// (10.20.2.30) responds; then quick mode, SAs into two SimDataplanes and a packet each way. Each
// failure asserts the state, that no SA exists, and the reason an administrator reads.
//
//   Initiator                               Responder
//   HDR, SA                        -->
//                                  <--      HDR, SA
//   HDR, KE, Ni, CR                -->
//                                  <--      HDR, KE, Nr, CR
//   HDR*, IDii, CERT+, SIG_I       -->      chain to the rule's CA, validity, CRL, ID, signature
//                                  <--      HDR*, IDir, CERT+, SIG_R
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/certificate_provider.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"
#include "ike/tests/exchange_support.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::ike::sa {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;
using State = Phase1Sa::State;
using QmState = QuickModeExchange::State;

using testing::kFilterId;
using testing::kHostA;
using testing::kHostB;
using testing::negotiate_table;
using testing::NullDataplaneListener;
const std::string kRootName = "CN=Ward Test Root, O=Ward";   // as the rule's authentication method names it
const std::string kOtherRootName = "CN=Other Root, O=Other";

std::size_t count_payloads(std::span<const std::byte> datagram, MessageKind kind, PayloadType type) {
  auto parsed = parse_message(datagram, kind);
  if (!parsed) return 0;
  std::size_t n = 0;
  for (const auto& p : parsed->payloads) n += payload_type(p) == type ? 1 : 0;
  return n;
}

// Flips a bit of the SIG this side sends: an attacker (or a broken peer) whose signature does not
// match. A wrapper, because the SIG travels encrypted and cannot be altered on the wire.
class TamperedSignature final : public auth::AuthProvider {
 public:
  explicit TamperedSignature(std::unique_ptr<auth::AuthProvider> inner) : inner_(std::move(inner)) {}
  IkeAuthenticationMethod method() const noexcept override { return inner_->method(); }
  std::string_view name() const noexcept override { return inner_->name(); }
  std::unique_ptr<AuthProvider> for_exchange(auth::Role self, const IpAddress& peer) const override {
    return std::make_unique<TamperedSignature>(inner_->for_exchange(self, peer));
  }
  auth::SecureBytes skeyid(IkeHashAlgorithm hash, auth::Bytes ni, auth::Bytes nr, const auth::SecureBytes& g_xy) const override {
    return inner_->skeyid(hash, ni, nr, g_xy);
  }
  Expected<std::vector<Payload>, std::string> build_key_exchange_payloads(auth::Role self) const override {
    return inner_->build_key_exchange_payloads(self);
  }
  Expected<std::vector<Payload>, std::string> build_authentication(auth::Role self, const auth::MainModeTranscript& t,
                                                                   auth::Bytes own_id_b) const override {
    auto payloads = inner_->build_authentication(self, t, own_id_b);
    if (payloads) {
      for (auto& p : *payloads) {
        if (auto* sig = std::get_if<Signature>(&p)) sig->data.back() ^= std::byte{0x01};
      }
    }
    return payloads;
  }
  Expected<void, std::string> check_authentication(auth::Role peer, const auth::MainModeTranscript& t, auth::Bytes id_b,
                                                   const ParsedMessage& message) const override {
    return inner_->check_authentication(peer, t, id_b, message);
  }

 private:
  std::unique_ptr<AuthProvider> inner_;
};

class CertificateExchangeTest : public ::testing::Test {
 protected:
  // The suite's PKI: made once per process (ctest runs each test in its own), the rest on demand.
  // Host certificates share one key per host, as a renewed certificate would, to keep RSA key
  // generation (the slow part) to the CAs and two host keys.
  struct Pki {
    test::TempDir dir;
    std::filesystem::path trust;   // directory: both trusted roots and Ward Test Root's CRL
    std::map<std::string, test::TestCa> cas;
    std::map<std::string, test::TestCertificate> certs;
  };

  static void SetUpTestSuite() {
    auto dir = test::TempDir::create("ward-ike-cert");
    ASSERT_TRUE(dir.has_value()) << dir.error().to_string();
    auto pki = std::make_unique<Pki>(Pki{std::move(*dir), {}, {}, {}});
    const auto d = pki->dir.path();
    for (const auto& [name, subject] : {std::pair{"root", "/O=Ward/CN=Ward Test Root"}, std::pair{"other", "/O=Other/CN=Other Root"}}) {
      auto ca = test::make_rsa_ca(d, name, subject);
      ASSERT_TRUE(ca.has_value()) << ca.error().to_string();
      pki->cas.emplace(name, *ca);
    }
    pki_ = pki.release();
    ASSERT_NE(cert("a"), nullptr);
    ASSERT_NE(cert("b"), nullptr);
    const auto* revoked = cert("a-revoked");
    ASSERT_NE(revoked, nullptr);
    ASSERT_TRUE(test::revoke_certificate(pki_->cas.at("root"), *revoked).has_value());
    const auto trust = d / "trust";
    std::filesystem::create_directories(trust);
    auto crl = test::make_crl(pki_->cas.at("root"), trust, "root");
    ASSERT_TRUE(crl.has_value()) << crl.error().to_string();
    std::filesystem::copy_file(pki_->cas.at("root").certificate, trust / "root.pem");
    std::filesystem::copy_file(pki_->cas.at("other").certificate, trust / "other.pem");
    pki_->trust = trust;
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  static const test::TestCa* ca(const std::string& name) {
    if (const auto found = pki_->cas.find(name); found != pki_->cas.end()) return &found->second;
    const auto d = pki_->dir.path();
    Expected<test::TestCa, test::HarnessError> made = unexpected(test::HarnessError{"CA " + name, "no such test CA"});
    if (name == "issuing") made = test::make_rsa_intermediate_ca(*ca("root"), d, name, "/O=Ward/CN=Ward Issuing CA");
    if (name == "rogue") made = test::make_rsa_ca(d, name, "/O=Rogue/CN=Rogue Root");
    EXPECT_TRUE(made.has_value()) << made.error().to_string();
    return made ? &pki_->cas.emplace(name, *made).first->second : nullptr;
  }

  static const test::TestCertificate* cert(const std::string& name) {
    if (const auto found = pki_->certs.find(name); found != pki_->certs.end()) return &found->second;
    const auto d = pki_->dir.path();
    const std::vector<std::string> san_a{"IP:10.20.1.10", "DNS:a.ward.test"};
    const std::vector<std::string> san_b{"IP:10.20.2.30", "DNS:b.ward.test"};
    const bool host_a = name.front() == 'a';
    test::RsaCertificateOptions options{host_a ? san_a : san_b, "", "", 10, {}};
    if (name != "a" && name != "b") options.key = cert(host_a ? "a" : "b")->private_key;
    std::string issuer = "root";
    std::string subject = host_a ? "/O=Ward/CN=a.ward.test" : "/O=Ward/CN=b.ward.test";
    if (name == "a-other") issuer = "other", subject = "/O=Other/CN=a.ward.test";
    if (name == "a-rogue") issuer = "rogue", subject = "/O=Rogue/CN=a.ward.test";
    if (name == "b-issued") issuer = "issuing";
    if (name == "a-expired") options.not_before = "20200101000000Z", options.not_after = "20200102000000Z";
    if (name == "a-wrong-ip") options.subject_alt_names = {"IP:10.20.9.9", "DNS:a.ward.test"};
    if (name == "b-wrong-ip") options.subject_alt_names = {"IP:10.20.9.9"};
    const auto* by = ca(issuer);
    if (by == nullptr) return nullptr;
    auto made = test::issue_rsa_certificate(*by, d, name, subject, options);
    EXPECT_TRUE(made.has_value()) << made.error().to_string();
    if (!made) return nullptr;
    if (name == "b-issued") {
      // B's certificate file carries the intermediate after it, as the host would install it.
      const auto chain = d / "b-issued-chain.crt";
      EXPECT_TRUE(test::write_file(chain, test::read_text(made->certificate) + test::read_text(by->certificate)).has_value());
      made->certificate = chain;
    }
    return &pki_->certs.emplace(name, *made).first->second;
  }

  CertificateExchangeTest() : sim_a(listener, {}, [this] { return now; }), sim_b(listener, {}, [this] { return now; }) {
    EXPECT_TRUE(sim_a.install_filter_table(negotiate_table()).has_value());
    EXPECT_TRUE(sim_b.install_filter_table(negotiate_table()).has_value());
  }
  void SetUp() override {
    ASSERT_NE(pki_, nullptr) << "the test PKI was not made";
    ASSERT_FALSE(pki_->trust.empty()) << "the test PKI is incomplete";
  }

  static std::shared_ptr<const auth::CertificateCredentials> credentials(const std::string& name) {
    const auto* made = cert(name);
    if (made == nullptr) return nullptr;
    const auto& c = *made;
    auto loaded = auth::CertificateCredentials::load({c.certificate, c.private_key, pki_->trust});
    EXPECT_TRUE(loaded.has_value()) << loaded.error();
    return loaded ? *loaded : nullptr;
  }
  static std::unique_ptr<auth::CertificateProvider> provider(const std::string& cert, const std::string& ca = kRootName) {
    auto made = auth::CertificateProvider::create(credentials(cert), ca);
    EXPECT_TRUE(made.has_value()) << made.error();
    return made ? std::move(*made) : nullptr;
  }

  Clock clock() { return [this] { return now; }; }

  Phase1Config phase1_config(const IpAddress& local, const IpAddress& peer, std::vector<std::string>& log) {
    return testing::phase1_config(local, peer, {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Modp2048, 28800s}}, log);
  }

  QuickModeConfig quick_config(const IpAddress& local, const IpAddress& peer) {
    return testing::quick_config(local, peer, {sa::EspProposal{Cipher::AesGcm256, Integrity::None}});
  }

  // Messages 1 to 4; returns message 5 (empty when A failed).
  std::vector<std::byte> run_to_main_mode_5(const auth::AuthProvider& a, const auth::AuthProvider& b) {
    initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), a, clock());
    auto m1 = initiator->build_main_mode_1();
    EXPECT_TRUE(m1.has_value()) << m1.error();
    if (!m1) return {};
    std::vector<std::byte> m2;
    auto responded = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), b, clock(), *m1, m2);
    EXPECT_TRUE(responded.has_value()) << responded.error();
    if (!responded) return {};
    responder = std::move(*responded);
    //   HDR, KE, Ni, CR  -->
    const auto m3 = initiator->handle(m2);
    EXPECT_EQ(count_payloads(m3, MessageKind::MainModeMessage3, PayloadType::CertificateRequest), 1u);
    //            <--  HDR, KE, Nr, CR
    const auto m4 = responder->handle(m3);
    EXPECT_EQ(count_payloads(m4, MessageKind::MainModeMessage4, PayloadType::CertificateRequest), 1u);
    //   HDR*, IDii, CERT+, SIG_I  -->
    return initiator->handle(m4);
  }

  void establish(const auth::AuthProvider& a, const auth::AuthProvider& b) {
    const auto m5 = run_to_main_mode_5(a, b);
    ASSERT_FALSE(m5.empty()) << initiator->failure();
    //            <--  HDR*, IDir, CERT+, SIG_R
    const auto m6 = responder->handle(m5);
    ASSERT_FALSE(m6.empty()) << responder->failure();
    EXPECT_TRUE(responder->established());
    EXPECT_TRUE(initiator->handle(m6).empty());
    EXPECT_EQ(initiator->state(), State::MainMode6Received) << initiator->failure();
    EXPECT_TRUE(crypto::equal_constant_time(initiator->keys().skeyid_d.reveal(), responder->keys().skeyid_d.reveal()));
  }

  // A's message 5 is refused by B; nothing is established on either side.
  void expect_responder_refuses(const auth::AuthProvider& a, const auth::AuthProvider& b, const std::string& reason) {
    const auto m5 = run_to_main_mode_5(a, b);
    ASSERT_FALSE(m5.empty()) << initiator->failure();
    EXPECT_TRUE(responder->handle(m5).empty());
    EXPECT_EQ(responder->state(), State::Failed);
    EXPECT_NE(responder->failure().find(reason), std::string::npos) << responder->failure();
    EXPECT_TRUE(responder->peer_identity().empty());
    RecordProperty("responder", responder->failure());
    expect_no_sa();
  }

  void run_quick_mode() {
    qm_initiator = QuickModeExchange::initiate(*initiator, quick_config(kHostA, kHostB), sim_a, clock());
    auto q1 = qm_initiator->build_quick_mode_1();
    ASSERT_TRUE(q1.has_value()) << q1.error();
    std::vector<std::byte> q2;
    auto responded = QuickModeExchange::respond(*responder, quick_config(kHostB, kHostA), sim_b, clock(), *q1, q2);
    ASSERT_TRUE(responded.has_value()) << responded.error();
    qm_responder = std::move(*responded);
    const auto q3 = qm_initiator->handle(q2);
    ASSERT_FALSE(q3.empty()) << qm_initiator->failure();
    EXPECT_TRUE(qm_responder->handle(q3).empty());
    EXPECT_EQ(qm_responder->state(), QmState::QuickMode3Received) << qm_responder->failure();
    EXPECT_EQ(sim_a.counters().sas.size(), 2u);
    EXPECT_EQ(sim_b.counters().sas.size(), 2u);
  }

  void expect_traffic_flows() {
    const auto request = driver::testing::make_packet(kHostA, kHostB, 6, 40000, 445, 300);
    const auto sealed = sim_a.send(request);
    ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
    const auto opened = sim_b.receive(sealed.bytes);
    ASSERT_EQ(opened.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(opened.bytes, request);
  }

  void expect_no_sa() {
    EXPECT_FALSE(initiator && initiator->established());
    EXPECT_FALSE(responder && responder->established());
    EXPECT_EQ(sim_a.counters().sas.size(), 0u);
    EXPECT_EQ(sim_b.counters().sas.size(), 0u);
  }

  static Pki* pki_;

  std::chrono::steady_clock::time_point now{};
  std::vector<std::string> log_a, log_b;
  NullDataplaneListener listener;
  driver::SimDataplane sim_a, sim_b;
  std::unique_ptr<Phase1Sa> initiator, responder;
  std::unique_ptr<QuickModeExchange> qm_initiator, qm_responder;
};

CertificateExchangeTest::Pki* CertificateExchangeTest::pki_ = nullptr;

TEST_F(CertificateExchangeTest, MainModeAndQuickModeEstablishWithRsaCertificates) {
  const auto a = provider("a");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->method(), IkeAuthenticationMethod::RsaSignatures);
  establish(*a, *b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(initiator->peer_identity(), "CN=b.ward.test,O=Ward");
  EXPECT_EQ(responder->peer_identity(), "CN=a.ward.test,O=Ward");
  EXPECT_TRUE(a->peer_identity().empty()) << "the shared provider keeps no exchange's result";
  run_quick_mode();
  ASSERT_FALSE(HasFatalFailure());
  expect_traffic_flows();
}

// wardd's sandboxed IKE process: credentials rebuilt from the PEM wardd exports (no key), signing
// through a Signer that stands for the call to wardd (agent/ikeproc kSign).
TEST_F(CertificateExchangeTest, CredentialsWithoutTheKeySignThroughTheSigner) {
  const auto held = credentials("a");
  ASSERT_NE(held, nullptr);
  int signatures = 0;
  auto remote = auth::CertificateCredentials::from_pem(held->certificate_pem(), held->trust_pem(),
                                                       [&](std::span<const std::byte> hash) {
                                                         ++signatures;
                                                         return held->sign(hash);
                                                       });
  ASSERT_TRUE(remote.has_value()) << remote.error();
  EXPECT_EQ((*remote)->subject(), held->subject());
  EXPECT_EQ((*remote)->trusted_ca_count(), held->trusted_ca_count());
  EXPECT_EQ((*remote)->crl_count(), held->crl_count()) << "a CRL left out would let a revoked certificate through";
  auto a = auth::CertificateProvider::create(*remote, kRootName);
  ASSERT_TRUE(a.has_value()) << a.error();
  const auto b = provider("b");
  establish(**a, *b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(signatures, 1) << "SIG_I";
  EXPECT_EQ(responder->peer_identity(), "CN=a.ward.test,O=Ward");

  auto keyless = auth::CertificateCredentials::from_pem(held->certificate_pem(), held->trust_pem(), {});
  ASSERT_FALSE(keyless.has_value());
  EXPECT_NE(keyless.error().find("no key and no signer"), std::string::npos) << keyless.error();
  EXPECT_FALSE(auth::CertificateCredentials::from_pem("not PEM", held->trust_pem(), [](std::span<const std::byte>) {
                 return Expected<std::vector<std::byte>, std::string>(std::vector<std::byte>{});
               }).has_value());
}

TEST_F(CertificateExchangeTest, EstablishesWithACertificateFromAnIntermediateCa) {
  // B sends its certificate and the intermediate; A trusts only the root.
  const auto a = provider("a");
  const auto b = provider("b-issued");
  ASSERT_TRUE(a && b);
  establish(*a, *b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(initiator->peer_identity(), "CN=b.ward.test,O=Ward");
}

TEST_F(CertificateExchangeTest, ACertificateFromAnUntrustedCaIsRefused) {
  const auto a = provider("a-rogue", kRootName);   // A's own CA need not be trusted to make the provider
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  expect_responder_refuses(*a, *b, "certificate of 10.20.1.10 (CN=a.ward.test,O=Rogue) is not signed by the trusted CA \"" +
                                       kRootName + "\"");
}

TEST_F(CertificateExchangeTest, TheRulesCaNameSelectsTheCaNotAnyTrustedOne) {
  // "Other Root" is in B's trust store, but B's rule names Ward Test Root.
  const auto a = provider("a-other", kOtherRootName);
  const auto b = provider("b", kRootName);
  ASSERT_TRUE(a && b);
  expect_responder_refuses(*a, *b, "is not signed by the trusted CA \"" + kRootName + "\"");
  // A rule that names the other root accepts it.
  const auto b_other = provider("b", kOtherRootName);
  ASSERT_TRUE(b_other);
  const auto m5 = run_to_main_mode_5(*a, *b_other);
  EXPECT_FALSE(responder->handle(m5).empty()) << responder->failure();
  EXPECT_EQ(responder->peer_identity(), "CN=a.ward.test,O=Other");
  // A CA name nobody in the trust store has is refused when the provider is made.
  auto unknown = auth::CertificateProvider::create(credentials("b"), "CN=Nobody");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().find("no trusted CA has the subject \"CN=Nobody\""), std::string::npos) << unknown.error();
}

TEST_F(CertificateExchangeTest, AnExpiredCertificateIsRefusedWithItsDate) {
  const auto a = provider("a-expired");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  expect_responder_refuses(*a, *b, "certificate of 10.20.1.10 (CN=a.ward.test,O=Ward) expired on 2020-01-02 00:00:00 UTC");
}

TEST_F(CertificateExchangeTest, ARevokedCertificateIsRefusedThroughTheCrl) {
  const auto a = provider("a-revoked");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  expect_responder_refuses(*a, *b, "certificate of 10.20.1.10 (CN=a.ward.test,O=Ward) is revoked");
}

TEST_F(CertificateExchangeTest, AnIdThatTheCertificateDoesNotNameIsRefused) {
  const auto a = provider("a-wrong-ip");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  expect_responder_refuses(*a, *b, "ID ID_IPV4_ADDR 10.20.1.10 does not match the certificate of 10.20.1.10");
}

TEST_F(CertificateExchangeTest, InitiatorRefusesAResponderWhoseCertificateNamesAnotherAddress) {
  const auto a = provider("a");
  const auto b = provider("b-wrong-ip");
  ASSERT_TRUE(a && b);
  const auto m5 = run_to_main_mode_5(*a, *b);
  const auto m6 = responder->handle(m5);
  ASSERT_FALSE(m6.empty()) << responder->failure();
  EXPECT_TRUE(initiator->handle(m6).empty());
  EXPECT_EQ(initiator->state(), State::Failed);
  EXPECT_NE(initiator->failure().find("does not match the certificate of 10.20.2.30 (CN=b.ward.test,O=Ward)"),
            std::string::npos)
      << initiator->failure();
  EXPECT_NE(initiator->failure().find("IP:10.20.9.9"), std::string::npos) << initiator->failure();
  EXPECT_FALSE(initiator->established());
}

TEST_F(CertificateExchangeTest, ATamperedSignatureIsRefused) {
  const auto a = provider("a");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  const TamperedSignature tampered(std::make_unique<auth::CertificateProvider>(*a));
  expect_responder_refuses(tampered, *b, "INVALID-SIGNATURE: SIG_I of 10.20.1.10 (CN=a.ward.test,O=Ward) does not verify");
}

TEST_F(CertificateExchangeTest, CredentialsThatDoNotFitAreRefusedWhenLoaded) {
  const auto& a = *cert("a");
  const auto& b = *cert("b");
  auto mismatched = auth::CertificateCredentials::load({a.certificate, b.private_key, pki_->trust});
  ASSERT_FALSE(mismatched.has_value());
  EXPECT_NE(mismatched.error().find("does not hold the key of certificate"), std::string::npos) << mismatched.error();
  auto no_trust = auth::CertificateCredentials::load({a.certificate, a.private_key, a.private_key});
  ASSERT_FALSE(no_trust.has_value());
  EXPECT_NE(no_trust.error().find("holds no PEM certificate or CRL"), std::string::npos) << no_trust.error();
  EXPECT_EQ(no_trust.error().find("PRIVATE KEY"), std::string::npos);
  auto loaded = auth::CertificateCredentials::load({a.certificate, a.private_key, pki_->trust});
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_EQ((*loaded)->subject(), "CN=a.ward.test,O=Ward");
  EXPECT_EQ((*loaded)->trusted_ca_count(), 2u);
  EXPECT_EQ((*loaded)->crl_count(), 1u);
}

// The ID types a certificate can bind, signed and checked directly through the providers (main
// mode itself always identifies by address): ID_FQDN and ID_USER_FQDN against subjectAltName
// DNS / e-mail entries, ID_DER_ASN1_DN against the subject.
TEST_F(CertificateExchangeTest, EveryIdTypeACertificateCanNameIsBound) {
  const auto a = provider("a");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  const std::vector<std::byte> skeyid_bytes(32, std::byte{0x5a}), g_xi(64, std::byte{1}), g_xr(64, std::byte{2}),
      cky_i(8, std::byte{3}), cky_r(8, std::byte{4}), sai_b(40, std::byte{5});
  const auth::SecureBytes skeyid(skeyid_bytes);
  const auth::MainModeTranscript transcript{IkeHashAlgorithm::Sha2_256, &skeyid, g_xi, g_xr, cky_i, cky_r, sai_b};
  const auto id_body = [](IdType type, std::span<const std::byte> data) {
    // Sized once and copied into: GCC 12 at -O3 warns falsely (-Warray-bounds) on inserting into
    // a vector built from four bytes.
    std::vector<std::byte> body(4 + data.size());
    body[0] = static_cast<std::byte>(type);
    std::copy(data.begin(), data.end(), body.begin() + 4);
    return body;
  };
  const auto text = [](std::string_view t) {
    return std::vector<std::byte>(reinterpret_cast<const std::byte*>(t.data()), reinterpret_cast<const std::byte*>(t.data()) + t.size());
  };
  // ID_DER_ASN1_DN: DER of "O=Ward, CN=a.ward.test" (SEQUENCE of two RDNs), as strongSwan sends it.
  const std::vector<std::byte> dn = [&] {
    std::vector<std::byte> o{std::byte{0x31}, std::byte{0x0d}, std::byte{0x30}, std::byte{0x0b}, std::byte{0x06}, std::byte{0x03},
                             std::byte{0x55}, std::byte{0x04}, std::byte{0x0a}, std::byte{0x0c}, std::byte{0x04}};
    for (auto c : text("Ward")) o.push_back(c);
    std::vector<std::byte> cn{std::byte{0x31}, std::byte{0x14}, std::byte{0x30}, std::byte{0x12}, std::byte{0x06}, std::byte{0x03},
                              std::byte{0x55}, std::byte{0x04}, std::byte{0x03}, std::byte{0x0c}, std::byte{0x0b}};
    for (auto c : text("a.ward.test")) cn.push_back(c);
    std::vector<std::byte> out{std::byte{0x30}, static_cast<std::byte>(o.size() + cn.size())};
    for (auto c : o) out.push_back(c);  // not insert(): GCC 12 at -O3 warns falsely (-Warray-bounds)
    for (auto c : cn) out.push_back(c);
    return out;
  }();
  struct Case {
    std::vector<std::byte> id_b;
    bool accepted;
  };
  const std::vector<Case> cases{
      {id_body(IdType::Fqdn, text("a.ward.test")), true},
      {id_body(IdType::Fqdn, text("b.ward.test")), false},
      {id_body(IdType::DerAsn1Dn, dn), true},
      {id_body(IdType::UserFqdn, text("admin@a.ward.test")), false},   // the certificate has no e-mail SAN
      {id_body(IdType::Ipv4Addr, std::vector<std::byte>{std::byte{10}, std::byte{20}, std::byte{1}, std::byte{10}}), true},
      {id_body(IdType::KeyId, text("a")), false},
  };
  for (const auto& c : cases) {
    auto payloads = a->build_authentication(auth::Role::Initiator, transcript, c.id_b);
    ASSERT_TRUE(payloads.has_value()) << payloads.error();
    EXPECT_EQ(payloads->size(), 2u) << "CERT, SIG";
    ParsedMessage message;
    message.payloads = std::move(*payloads);
    const auto checker = b->for_exchange(auth::Role::Responder, kHostA);
    auto checked = checker->check_authentication(auth::Role::Initiator, transcript, c.id_b, message);
    EXPECT_EQ(checked.has_value(), c.accepted) << static_cast<int>(c.id_b[0]) << ": "
                                               << (checked ? std::string("accepted") : checked.error());
    if (!c.accepted && checked.has_value() == false) {
      EXPECT_NE(checked.error().find("INVALID-ID-INFORMATION"), std::string::npos) << checked.error();
    }
    EXPECT_EQ(checker->peer_identity(), c.accepted ? "CN=a.ward.test,O=Ward" : "");
  }
}

TEST(DistinguishedNameMatch, EitherOrderAnyCaseShortOrLongTypes) {
  // The rule's CA name as administrators write it, against a CA subject OpenSSL made.
  auto dir = test::TempDir::create("ward-dn");
  ASSERT_TRUE(dir.has_value());
  auto ca = test::make_rsa_ca(dir->path(), "dn", "/DC=test/DC=ward/O=Ward/CN=Ward Test Root");
  ASSERT_TRUE(ca.has_value()) << ca.error().to_string();
  test::TestCertificate self{ca->certificate, ca->private_key};
  auto creds = auth::CertificateCredentials::load({self.certificate, self.private_key, self.certificate});
  ASSERT_TRUE(creds.has_value()) << creds.error();
  for (const char* name : {"CN=Ward Test Root, O=Ward, DC=ward, DC=test", "DC=test, DC=ward, O=Ward, CN=Ward Test Root",
                           "cn=ward test root;o=WARD;dc=ward;dc=test", "commonName=Ward Test Root, organizationName=Ward, "
                                                                       "domainComponent=ward, DC=test"}) {
    EXPECT_TRUE(auth::CertificateProvider::create(*creds, name).has_value()) << name;
  }
  for (const char* name : {"CN=Ward Test Root", "CN=Ward Test Root, O=Ward, DC=test, DC=ward", "Ward Test Root",
                           "XX=Ward Test Root, O=Ward, DC=ward, DC=test"}) {
    EXPECT_FALSE(auth::CertificateProvider::create(*creds, name).has_value()) << name;
  }
}

}  // namespace
}  // namespace ward::ike::sa
