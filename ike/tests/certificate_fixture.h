// The fixture of the certificate main mode tests (certificate_exchange_test.cpp,
// certificate_identity_test.cpp): a PKI the openssl CLI makes once per process (an RSA-2048 root
// "Ward Test Root" with an intermediate, a second trusted root "Other Root", a CA nobody trusts,
// an expired and a revoked certificate and the root's CRL), providers over it, and main mode /
// quick mode between host A (10.20.1.10, initiator) and host B (10.20.2.30, responder) into two
// SimDataplanes.
#pragma once

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


namespace ward::ike::sa::certificate_testing {

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
inline const std::string kRootName = "CN=Ward Test Root, O=Ward";   // as the rule's authentication method names it
inline const std::string kOtherRootName = "CN=Other Root, O=Other";

inline std::size_t count_payloads(std::span<const std::byte> datagram, MessageKind kind, PayloadType type) {
  auto parsed = parse_message(datagram, kind);
  if (!parsed) return 0;
  std::size_t n = 0;
  for (const auto& p : parsed->payloads) n += payload_type(p) == type ? 1 : 0;
  return n;
}

// A trust store directory `<pki>/<name>` holding copies of `files` (CA certificates, CRLs).
inline std::filesystem::path make_trust_dir(const std::filesystem::path& pki, const std::string& name,
                                            const std::vector<std::filesystem::path>& files) {
  const auto dir = pki / name;
  std::filesystem::create_directories(dir);
  for (const auto& file : files) std::filesystem::copy_file(file, dir / file.filename(), std::filesystem::copy_options::overwrite_existing);
  return dir;
}

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
    if (name == "doomed") made = test::make_rsa_intermediate_ca(*ca("root"), d, name, "/O=Ward/CN=Ward Doomed CA");
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
    if (name == "b-issued" || name == "a-issued" || name == "a-issued-revoked") issuer = "issuing";
    if (name == "a-doomed") issuer = "doomed";
    if (name == "a-expired") options.not_before = "20200101000000Z", options.not_after = "20200102000000Z";
    if (name == "a-wrong-ip") options.subject_alt_names = {"IP:10.20.9.9", "DNS:a.ward.test"};
    if (name == "b-wrong-ip") options.subject_alt_names = {"IP:10.20.9.9"};
    const auto* by = ca(issuer);
    if (by == nullptr) return nullptr;
    auto made = test::issue_rsa_certificate(*by, d, name, subject, options);
    EXPECT_TRUE(made.has_value()) << made.error().to_string();
    if (!made) return nullptr;
    if (issuer == "issuing" || issuer == "doomed") {
      // The certificate file carries the intermediate after it, as the host would install it.
      const auto chain = d / (name + "-chain.crt");
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

  static std::shared_ptr<const auth::CertificateCredentials> credentials(const std::string& name,
                                                                         const auth::CertificateOptions& options = {},
                                                                         const std::filesystem::path& trust = {}) {
    const auto* made = cert(name);
    if (made == nullptr) return nullptr;
    const auto& c = *made;
    auto loaded = auth::CertificateCredentials::load({c.certificate, c.private_key, trust.empty() ? pki_->trust : trust}, options);
    EXPECT_TRUE(loaded.has_value()) << loaded.error();
    return loaded ? *loaded : nullptr;
  }
  static std::unique_ptr<auth::CertificateProvider> provider(const std::string& cert, const std::string& ca = kRootName,
                                                             const auth::CertificateOptions& options = {},
                                                             const std::filesystem::path& trust = {}) {
    auto made = auth::CertificateProvider::create(credentials(cert, options, trust), ca);
    EXPECT_TRUE(made.has_value()) << made.error();
    return made ? std::move(*made) : nullptr;
  }
  // The address IDs Ward sent before identities were configurable.
  static auth::CertificateOptions address_ids() {
    auth::CertificateOptions options;
    options.identity.type = auth::CertificateIdentity::Address;
    return options;
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
    EXPECT_NE(responder->failure().text.find(reason), std::string::npos) << responder->failure();
    EXPECT_TRUE(responder->peer_identity().empty());
    RecordProperty("responder", responder->failure().text);
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

  inline static Pki* pki_ = nullptr;

  std::chrono::steady_clock::time_point now{};
  std::vector<std::string> log_a, log_b;
  NullDataplaneListener listener;
  driver::SimDataplane sim_a, sim_b;
  std::unique_ptr<Phase1Sa> initiator, responder;
  std::unique_ptr<QuickModeExchange> qm_initiator, qm_responder;
};

}  // namespace ward::ike::sa::certificate_testing
