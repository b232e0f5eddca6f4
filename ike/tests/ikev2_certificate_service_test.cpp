// IKEv2 with certificates in the running service: two IkeServices on loopback (service_hosts.h)
// whose policy's preferred method is a certificate (FixedPolicy::method). The engine chooses IKEv2
// for it as for a preshared key (ikev2-first): IKE_AUTH with CERT and a signature, the CHILD_SA
// installed on both sides with matching keys, the snapshot saying version 2. RSA with DN IDs and
// ECDSA with FQDN IDs; a revoked certificate fails both sides as AuthenticationFailed, naming the
// CRL, without a fallback to IKEv1, the responder's too (the initiator tells it, RFC 7296 2.21.2). The PKI is made once per process by the openssl CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "ike/auth/certificate_provider.h"
#include "ike/tests/service_hosts.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::ike {
namespace {

using namespace service_test;
using namespace std::chrono_literals;
using service::IkeVersionPolicy;

struct Pki {
  test::TempDir dir;
  std::filesystem::path trust;
  std::map<std::string, test::TestCertificate> certs;
};

class Ikev2CertificateService : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = test::TempDir::create("ward-ikev2-service-cert");
    ASSERT_TRUE(dir.has_value()) << dir.error().to_string();
    auto pki = std::make_unique<Pki>(Pki{std::move(*dir), {}, {}});
    const auto d = pki->dir.path();
    auto root = test::make_rsa_ca(d, "root", "/O=Ward/CN=Ward Test Root");
    ASSERT_TRUE(root.has_value()) << root.error().to_string();
    auto issue = [&](const std::string& name, const std::string& host, const std::string& address, std::filesystem::path key) {
      auto made = test::issue_rsa_certificate(*root, d, name, "/O=Ward/CN=" + host,
                                              {{"IP:" + address, "DNS:" + host}, "", "", 10, std::move(key)});
      ASSERT_TRUE(made.has_value()) << made.error().to_string();
      pki->certs.emplace(name, *made);
    };
    issue("a", "a.ward.test", "127.0.0.1", {});
    issue("b", "b.ward.test", "127.0.0.2", {});
    issue("a-revoked", "a.ward.test", "127.0.0.1", pki->certs.at("a").private_key);
    for (const auto& [name, host, address] : {std::tuple<std::string, std::string, std::string>{"a-ec", "a.ward.test", "127.0.0.1"},
                                              {"b-ec", "b.ward.test", "127.0.0.2"}}) {
      auto key = test::make_ec_key(d, name + "-key", "P-256");
      ASSERT_TRUE(key.has_value()) << key.error().to_string();
      issue(name, host, address, *key);
    }
    ASSERT_TRUE(test::revoke_certificate(*root, pki->certs.at("a-revoked")).has_value());
    pki->trust = d / "trust";
    std::filesystem::create_directories(pki->trust);
    ASSERT_TRUE(test::make_crl(*root, pki->trust, "root").has_value());
    std::filesystem::copy_file(root->certificate, pki->trust / "root.pem");
    pki_ = pki.release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(pki_, nullptr) << "the test PKI was not made"; }

  static std::shared_ptr<const auth::AuthProvider> provider(const std::string& name, auth::CertificateIdentity identity) {
    const auto& c = pki_->certs.at(name);
    auth::CertificateOptions options;
    options.identity.type = identity;
    auto loaded = auth::CertificateCredentials::load({c.certificate, c.private_key, pki_->trust}, options);
    EXPECT_TRUE(loaded.has_value()) << loaded.error();
    if (!loaded) return nullptr;
    auto made = auth::CertificateProvider::create(*loaded, "CN=Ward Test Root, O=Ward");
    EXPECT_TRUE(made.has_value()) << made.error();
    return made ? std::shared_ptr<const auth::AuthProvider>(std::move(*made)) : nullptr;
  }

  // A authenticates with the certificate `a_cert`, B with `b_cert`, both naming themselves by
  // `identity`.
  static void use_certificates(Host& a, const std::string& a_cert, Host& b, const std::string& b_cert,
                               auth::CertificateIdentity identity = auth::CertificateIdentity::DistinguishedName) {
    a.policy.method = provider(a_cert, identity);
    b.policy.method = provider(b_cert, identity);
  }

  static service::IkeServiceOptions ikev2_first(service::IkeServiceOptions o) {
    o.ike_version = IkeVersionPolicy::Ikev2First;
    return o;
  }

  // Both services started, IKEv2 first with IKEv1 to fall back to: whether both run.
  static bool start_ikev2_first(Host& a, Host& b) {
    a.start(ikev2_first(a.options()));
    b.start(ikev2_first(b.options()));
    return a.ike && b.ike;
  }

  void establish_and_check(Host& a, Host& b, std::string_view method) {
    ASSERT_TRUE(start_ikev2_first(a, b));
    a.ike->initiate(acquire_to(kA, kB));
    const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
    const auto qb = b.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
    ASSERT_TRUE(qa.has_value() && qb.has_value());
    EXPECT_EQ(qa->auth_method, method);
    EXPECT_EQ(qb->auth_method, method);
    EXPECT_EQ(qa->inbound_spi, qb->outbound_spi);
    expect_traffic_both_ways(a, b);
    a.ike->sync();
    const auto sa = a.ike->snapshot();
    EXPECT_EQ(sa.counters.ikev2_sas_established, 1U);
    ASSERT_EQ(sa.main_modes.size(), 1U);
    EXPECT_EQ(sa.main_modes[0].ike_version, 2U);
  }

  inline static Pki* pki_ = nullptr;
};

TEST_F(Ikev2CertificateService, ACertificatePolicyNegotiatesIkev2WithRsaAndDnIds) {
  Host a(kA, "unused"), b(kB, "unused");
  use_certificates(a, "a", b, "b");
  establish_and_check(a, b, "RSA signature (X.509)");
}

TEST_F(Ikev2CertificateService, ACertificatePolicyNegotiatesIkev2WithEcdsaAndFqdnIds) {
  Host a(kA, "unused"), b(kB, "unused");
  use_certificates(a, "a-ec", b, "b-ec", auth::CertificateIdentity::Fqdn);
  establish_and_check(a, b, "ECDSA signature (X.509)");
}

TEST_F(Ikev2CertificateService, ARevokedCertificateFailsBothSidesWithoutFallingBackToIkev1) {
  Host a(kA, "unused"), b(kB, "unused");
  use_certificates(a, "a-revoked", b, "b");
  ASSERT_TRUE(start_ikev2_first(a, b));
  a.ike->initiate(acquire_to(kA, kB));
  const auto fa = a.events.wait_for(IkeEvent::Kind::MainModeFailed);
  const auto fb = b.events.wait_for(IkeEvent::Kind::MainModeFailed);
  ASSERT_TRUE(fa.has_value() && fb.has_value());
  EXPECT_EQ(fa->failure, service::FailureKind::AuthenticationFailed) << fa->reason;
  EXPECT_EQ(fb->failure, service::FailureKind::AuthenticationFailed) << fb->reason;
  EXPECT_NE(fb->reason.find("is revoked (in the CRL of \"CN=Ward Test Root,O=Ward\")"), std::string::npos) << fb->reason;
  EXPECT_NE(fa->reason.find("AUTHENTICATION_FAILED"), std::string::npos) << fa->reason;
  a.ike->sync();
  EXPECT_EQ(a.ike->snapshot().counters.ikev2_fallbacks, 0U);
  EXPECT_EQ(a.sim.counters().sas.size(), 0U);
  EXPECT_EQ(b.sim.counters().sas.size(), 0U);
}

// RFC 7296 2.21.2: the responder counts the IKE SA established once it answered IKE_AUTH; when
// the initiator's check of the responder's certificate fails, the initiator tells it
// AUTHENTICATION_FAILED in an INFORMATIONAL, and the responder gives the SA up at once.
TEST_F(Ikev2CertificateService, AResponderWhoseCertificateFailsIsToldAuthenticationFailed) {
  Host a(kA, "unused"), b(kB, "unused");
  use_certificates(a, "a-revoked", b, "b");
  ASSERT_TRUE(start_ikev2_first(a, b));
  b.ike->initiate(acquire_to(kB, kA));
  const auto initiator = b.events.wait_for(IkeEvent::Kind::MainModeFailed);
  ASSERT_TRUE(initiator.has_value());
  EXPECT_EQ(initiator->failure, service::FailureKind::AuthenticationFailed) << initiator->reason;
  EXPECT_NE(initiator->reason.find("is revoked"), std::string::npos) << initiator->reason;
  const auto responder = a.events.wait_for(IkeEvent::Kind::QuickModeFailed);
  ASSERT_TRUE(responder.has_value()) << "the responder was not told";
  EXPECT_EQ(responder->failure, service::FailureKind::AuthenticationFailed) << responder->reason;
  EXPECT_EQ(responder->reason, "peer 127.0.0.2 refused: AUTHENTICATION_FAILED");
  ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::SasDeleted).has_value());
  EXPECT_EQ(a.sim.counters().sas.size(), 0U);   // the CHILD_SA it had installed is gone
  a.ike->sync();
  b.ike->sync();
  EXPECT_EQ(a.ike->snapshot().counters.refusals_received, 1U);
  EXPECT_EQ(b.ike->snapshot().counters.refusals_sent, 1U);
  EXPECT_TRUE(a.ike->snapshot().main_modes.empty());
}

}  // namespace
}  // namespace ward::ike
