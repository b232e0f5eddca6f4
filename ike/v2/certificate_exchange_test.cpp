// IKE_SA_INIT and IKE_AUTH with certificates, Ward's initiator against Ward's responder in one
// process (as exchange_test.cpp): a PKI the openssl CLI makes once per process (an RSA-2048 root
// "Ward Test Root" with a CRL, a second root "Other Root", RSA and ECDSA host certificates for
// host A 10.20.1.10 and host B 10.20.2.30, a revoked one and one whose subjectAltName names
// another address). The CHILD_SA's SaInstalls go into two SimDataplanes and a packet crosses each
// way. Which AUTH method was used is read from the decrypted IKE_AUTH messages.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/tests/exchange_support.h"
#include "ike/v2/ike_auth.h"
#include "ike/v2/protected_message.h"
#include "ike/v2/signature_auth.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::ike::v2 {
namespace {

using driver::crypto::Cipher;
using driver::crypto::Integrity;
using driver::crypto::Mode;
using ike::testing::kFilterId;
using ike::testing::kHostA;
using ike::testing::kHostB;

const std::string kRootName = "CN=Ward Test Root, O=Ward";

Bytes address_bytes(const IpAddress& a) {
  Bytes b;
  for (int i = 0; i < 4; ++i) b.push_back(std::byte{a.bytes()[static_cast<std::size_t>(i)]});
  return b;
}

struct Pki {
  test::TempDir dir;
  std::filesystem::path trust;   // both roots and Ward Test Root's CRL
  std::map<std::string, test::TestCa> cas;
  std::map<std::string, test::TestCertificate> certs;
};

class Ikev2CertificateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = test::TempDir::create("ward-ikev2-cert");
    ASSERT_TRUE(dir.has_value()) << dir.error().to_string();
    auto pki = std::make_unique<Pki>(Pki{std::move(*dir), {}, {}, {}});
    const auto d = pki->dir.path();
    for (const auto& [name, subject] : {std::pair{"root", "/O=Ward/CN=Ward Test Root"}, std::pair{"other", "/O=Other/CN=Other Root"}}) {
      auto ca = test::make_rsa_ca(d, name, subject);
      ASSERT_TRUE(ca.has_value()) << ca.error().to_string();
      pki->cas.emplace(name, *ca);
    }
    const std::vector<std::string> san_a{"IP:10.20.1.10", "DNS:a.ward.test"};
    const std::vector<std::string> san_b{"IP:10.20.2.30", "DNS:b.ward.test"};
    auto issue = [&](const std::string& name, const std::string& issuer, const std::string& subject, std::vector<std::string> sans,
                     std::filesystem::path key) {
      auto made = test::issue_rsa_certificate(pki->cas.at(issuer), d, name, subject, {std::move(sans), "", "", 10, std::move(key)});
      ASSERT_TRUE(made.has_value()) << made.error().to_string();
      pki->certs.emplace(name, *made);
    };
    issue("a", "root", "/O=Ward/CN=a.ward.test", san_a, {});
    issue("b", "root", "/O=Ward/CN=b.ward.test", san_b, {});
    const auto a_key = pki->certs.at("a").private_key;
    issue("a-revoked", "root", "/O=Ward/CN=a.ward.test", san_a, a_key);
    issue("a-wrong-ip", "root", "/O=Ward/CN=a.ward.test", {"IP:10.20.9.9", "DNS:a.ward.test"}, a_key);
    issue("a-other", "other", "/O=Other/CN=a.ward.test", san_a, a_key);
    for (const auto& [name, curve] : {std::pair<std::string, std::string>{"a-ec", "P-256"}, {"b-ec", "P-256"}, {"b-ec384", "P-384"}}) {
      auto key = test::make_ec_key(d, name + "-key", curve);
      ASSERT_TRUE(key.has_value()) << key.error().to_string();
      const bool host_a = name.front() == 'a';
      issue(name, "root", host_a ? "/O=Ward/CN=a.ward.test" : "/O=Ward/CN=b.ward.test", host_a ? san_a : san_b, *key);
    }
    ASSERT_TRUE(test::revoke_certificate(pki->cas.at("root"), pki->certs.at("a-revoked")).has_value());
    pki->trust = d / "trust";
    std::filesystem::create_directories(pki->trust);
    auto crl = test::make_crl(pki->cas.at("root"), pki->trust, "root");
    ASSERT_TRUE(crl.has_value()) << crl.error().to_string();
    std::filesystem::copy_file(pki->cas.at("root").certificate, pki->trust / "root.pem");
    std::filesystem::copy_file(pki->cas.at("other").certificate, pki->trust / "other.pem");
    pki_ = pki.release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  static std::shared_ptr<const auth::CertificateProvider> provider(const std::string& name, auth::CertificateIdentity identity,
                                                                   const std::string& ca = kRootName) {
    const auto& c = pki_->certs.at(name);
    auth::CertificateOptions options;
    options.identity.type = identity;
    auto loaded = auth::CertificateCredentials::load({c.certificate, c.private_key, pki_->trust}, options);
    EXPECT_TRUE(loaded.has_value()) << loaded.error();
    if (!loaded) return nullptr;
    auto made = auth::CertificateProvider::create(*loaded, ca);
    EXPECT_TRUE(made.has_value()) << made.error();
    return made ? std::shared_ptr<const auth::CertificateProvider>(std::move(*made)) : nullptr;
  }

  struct Side {
    IkeSaInitConfig init;
    AuthConfig auth;
    ChildSaConfig child;
  };

  static Side side(const IpAddress& local, const IpAddress& remote, bool initiator) {
    Side s;
    s.init.proposals = {IkeProposal{}};
    s.init.local = {local, 500};
    s.init.remote = {remote, 500};
    s.init.signature_hashes = true;
    s.auth.id_type = IdType::Ipv4Address;
    s.auth.id_data = address_bytes(local);
    s.auth.peer = IdPayload{!initiator, IdType::Ipv4Address, address_bytes(remote)};
    s.child.proposals = {ChildProposal{Cipher::AesGcm128, Integrity::None}};
    s.child.local = TrafficSelector::of(IpPrefix::host(local));
    s.child.remote = TrafficSelector::of(IpPrefix::host(remote));
    s.child.mode = Mode::Transport;
    s.child.filter_id = kFilterId;
    s.child.peer = remote;
    return s;
  }

  Ikev2CertificateTest() : sim_a(listener), sim_b(listener) {
    EXPECT_TRUE(sim_a.install_filter_table(ike::testing::negotiate_table()));
    EXPECT_TRUE(sim_b.install_filter_table(ike::testing::negotiate_table()));
  }
  void SetUp() override { ASSERT_NE(pki_, nullptr) << "the test PKI was not made"; }

  void use(const std::string& cert_a, const std::string& cert_b, auth::CertificateIdentity identity) {
    a.auth.certificate = provider(cert_a, identity);
    b.auth.certificate = provider(cert_b, identity);
    b.init.certificate_request = b.auth.certificate ? b.auth.certificate->ca_key_hashes() : Bytes{};
  }

  void run() {
    ASSERT_TRUE(b.auth.certificate);
    auto initiator = IkeSaInitInitiator::create(a.init);
    ASSERT_TRUE(initiator) << initiator.error();
    //   HDR, SAi1, KEi, Ni, N(NAT_D) x2, N(SIGNATURE_HASH_ALGORITHMS)  -->
    auto init_reply = respond_ike_sa_init(b.init, initiator->request());
    ASSERT_TRUE(init_reply && init_reply->sa) << (init_reply ? init_reply->refusal : init_reply.error());
    sa_b = std::move(init_reply->sa);
    //        <--  HDR, SAr1, KEr, Nr, N(NAT_D) x2, CERTREQ, N(SIGNATURE_HASH_ALGORITHMS)
    auto consumed = initiator->consume_response(init_reply->reply);
    ASSERT_TRUE(consumed && *consumed) << (consumed ? "restart" : consumed.error());
    sa_a = std::move(**consumed);
    auto parsed = parse_message(init_reply->reply);
    ASSERT_TRUE(parsed);
    const auto* certreq = parsed->find<CertPayload>();
    ASSERT_NE(certreq, nullptr);
    EXPECT_TRUE(certreq->request);
    EXPECT_EQ(certreq->data.size(), 20u);   // the SHA-1 of the root's SubjectPublicKeyInfo

    IkeAuthInitiator auth_initiator(*sa_a, a.auth, a.child, 0x1000a);
    //   HDR, SK {IDi, CERT, CERTREQ, AUTH, N(USE_TRANSPORT_MODE), SAi2, TSi, TSr}  -->
    auto request = auth_initiator.build_request();
    ASSERT_TRUE(request) << request.error();
    if (auto opened = open_protected(*sa_b, *request)) {
      if (const auto* auth = find_payload<AuthPayload>(opened->payloads)) a_auth = *auth;
      if (const auto* id = find_id(opened->payloads, true)) a_id = *id;
    }
    auto reply = respond_ike_auth(*sa_b, b.auth, b.child, 0x2000b, *request);
    ASSERT_TRUE(reply) << reply.error();
    b_authenticated = reply->authenticated;
    b_refusal = reply->refusal;
    b_saw = reply->peer_identity;
    child_b = reply->child;
    //   <--  HDR, SK {IDr, CERT, AUTH, N(USE_TRANSPORT_MODE), SAr2, TSi, TSr}
    if (auto opened = open_protected(*sa_a, reply->reply)) {
      if (const auto* auth = find_payload<AuthPayload>(opened->payloads)) b_auth = *auth;
    }
    auto child = auth_initiator.consume_response(reply->reply);
    if (child) child_a = std::move(*child);
    else a_failure = child.error().text;
    a_saw = auth_initiator.peer_identity();
  }

  void expect_traffic_crosses() {
    ASSERT_TRUE(child_a && child_b) << a_failure << " / " << b_refusal;
    ASSERT_TRUE(sim_a.add_sa(child_a->inbound));
    ASSERT_TRUE(sim_a.add_sa(child_a->outbound));
    ASSERT_TRUE(sim_b.add_sa(child_b->inbound));
    ASSERT_TRUE(sim_b.add_sa(child_b->outbound));
    const auto packet = driver::testing::make_packet(kHostA, kHostB, 17, 5000, 53, 64);
    const auto sealed = sim_a.send(packet);
    ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(sim_b.receive(sealed.bytes).bytes, packet);
    const auto back = driver::testing::make_packet(kHostB, kHostA, 17, 53, 5000, 64);
    const auto sealed_back = sim_b.send(back);
    ASSERT_EQ(sealed_back.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(sim_a.receive(sealed_back.bytes).bytes, back);
  }

  void expect_refused_by_b(const std::string& reason) {
    EXPECT_FALSE(b_authenticated);
    EXPECT_FALSE(child_b);
    EXPECT_FALSE(child_a);
    EXPECT_NE(b_refusal.find(reason), std::string::npos) << b_refusal;
    EXPECT_NE(a_failure.find("AUTHENTICATION_FAILED"), std::string::npos) << a_failure;
    RecordProperty("responder", b_refusal);
  }

  inline static Pki* pki_ = nullptr;
  Side a = side(kHostA, kHostB, true);
  Side b = side(kHostB, kHostA, false);
  ike::testing::NullDataplaneListener listener;
  driver::SimDataplane sim_a, sim_b;
  std::optional<IkeSa> sa_a, sa_b;
  std::optional<ChildSa> child_a, child_b;
  std::optional<AuthPayload> a_auth, b_auth;
  std::optional<IdPayload> a_id;
  bool b_authenticated = false;
  std::string a_failure, b_refusal, a_saw, b_saw;
};

TEST_F(Ikev2CertificateTest, RsaWithDnIdentitiesSignsByRfc7427AndCarriesTraffic) {
  use("a", "b", auth::CertificateIdentity::DistinguishedName);
  run();
  ASSERT_TRUE(child_a) << a_failure;
  ASSERT_TRUE(child_b) << b_refusal;
  EXPECT_EQ(sa_a->peer_signature_hashes, (std::vector<std::uint16_t>{2, 3, 4}));
  EXPECT_EQ(sa_b->peer_signature_hashes, (std::vector<std::uint16_t>{2, 3, 4}));
  ASSERT_TRUE(a_id && a_auth && b_auth);
  EXPECT_EQ(a_id->type, IdType::DerAsn1Dn);
  EXPECT_EQ(a_auth->method, AuthMethod::DigitalSignature);
  EXPECT_EQ(describe_signature_auth(*a_auth), "digital signature (RFC 7427) sha256WithRSAEncryption");
  EXPECT_EQ(describe_signature_auth(*b_auth), "digital signature (RFC 7427) sha256WithRSAEncryption");
  EXPECT_EQ(b_saw, "CN=a.ward.test,O=Ward");
  EXPECT_EQ(a_saw, "CN=b.ward.test,O=Ward");
  expect_traffic_crosses();
}

TEST_F(Ikev2CertificateTest, EcdsaWithFqdnIdentitiesSignsByRfc7427AndCarriesTraffic) {
  use("a-ec", "b-ec384", auth::CertificateIdentity::Fqdn);
  run();
  ASSERT_TRUE(child_a) << a_failure;
  ASSERT_TRUE(a_id && a_auth && b_auth);
  EXPECT_EQ(a_id->type, IdType::Fqdn);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(a_id->data.data()), a_id->data.size()), "a.ward.test");
  EXPECT_EQ(describe_signature_auth(*a_auth), "digital signature (RFC 7427) ecdsa-with-SHA256");
  EXPECT_EQ(describe_signature_auth(*b_auth), "digital signature (RFC 7427) ecdsa-with-SHA384");
  EXPECT_EQ(b_saw, "CN=a.ward.test,O=Ward");
  expect_traffic_crosses();
}

// A peer that does not announce RFC 7427 gets the classic methods: RSA (1, SHA-1) and ECDSA
// (9 for P-256, 10 for P-384, r | s).
TEST_F(Ikev2CertificateTest, WithoutRfc7427TheClassicMethodsAreUsed) {
  a.init.signature_hashes = false;
  b.init.signature_hashes = false;
  use("a", "b-ec384", auth::CertificateIdentity::DistinguishedName);
  run();
  ASSERT_TRUE(child_a) << a_failure;
  EXPECT_TRUE(sa_a->peer_signature_hashes.empty());
  ASSERT_TRUE(a_auth && b_auth);
  EXPECT_EQ(a_auth->method, AuthMethod::RsaSignature);
  EXPECT_EQ(b_auth->method, AuthMethod::EcdsaSha384P384);
  EXPECT_EQ(b_auth->data.size(), 96u);
  expect_traffic_crosses();
}

TEST_F(Ikev2CertificateTest, EcdsaP256ClassicMethodNine) {
  a.init.signature_hashes = false;
  b.init.signature_hashes = false;
  use("a-ec", "b", auth::CertificateIdentity::Address);
  run();
  ASSERT_TRUE(child_a) << a_failure;
  ASSERT_TRUE(a_auth && a_id);
  EXPECT_EQ(a_id->type, IdType::Ipv4Address);
  EXPECT_EQ(a_auth->method, AuthMethod::EcdsaSha256P256);
  EXPECT_EQ(a_auth->data.size(), 64u);
  expect_traffic_crosses();
}

TEST_F(Ikev2CertificateTest, RevokedCertificateIsRefusedWithAuthenticationFailed) {
  use("a-revoked", "b", auth::CertificateIdentity::DistinguishedName);
  run();
  expect_refused_by_b("revoked");
}

TEST_F(Ikev2CertificateTest, AddressIdTheCertificateDoesNotNameIsRefused) {
  use("a-wrong-ip", "b", auth::CertificateIdentity::Address);
  run();
  expect_refused_by_b("ID ID_IPV4_ADDR 10.20.1.10 does not match the certificate");
}

TEST_F(Ikev2CertificateTest, CertificateOfAnotherCaIsRefused) {
  use("a-other", "b", auth::CertificateIdentity::DistinguishedName);
  run();
  expect_refused_by_b("Ward Test Root");
}

// The responder's certificate is checked too: A's rule names Other Root, which did not issue B's.
TEST_F(Ikev2CertificateTest, InitiatorRefusesAResponderOfAnotherCa) {
  use("a", "b", auth::CertificateIdentity::DistinguishedName);
  a.auth.certificate = provider("a", auth::CertificateIdentity::DistinguishedName, "CN=Other Root, O=Other");
  run();
  EXPECT_TRUE(b_authenticated);
  EXPECT_FALSE(child_a);
  EXPECT_NE(a_failure.find("Other Root"), std::string::npos) << a_failure;
  EXPECT_NE(a_failure.find("10.20.2.30"), std::string::npos) << a_failure;
}

TEST_F(Ikev2CertificateTest, PresharedKeyAgainstACertificatePolicyIsRefused) {
  use("a", "b", auth::CertificateIdentity::DistinguishedName);
  a.auth.certificate = nullptr;
  a.auth.preshared_key = SecureBytes(std::as_bytes(std::span("some key", 8)));
  run();
  expect_refused_by_b("authenticates with a shared key; the policy wants a certificate");
}

// check_signature_auth on its own: a flipped signature octet, a method for the wrong key, and an
// AlgorithmIdentifier Ward does not check are each refused with the reason.
TEST_F(Ikev2CertificateTest, SignatureChecksRefuseAlteredAndMismatchedAuth) {
  use("a", "b-ec", auth::CertificateIdentity::DistinguishedName);
  const auto& rsa = a.auth.certificate->credentials();
  auto peer = b.auth.certificate->verify_peer(rsa.certificates_der(), IdPayload{true, IdType::DerAsn1Dn, a.auth.certificate->credentials().own_id()->data}.body(), "A");
  ASSERT_TRUE(peer) << peer.error();
  const Bytes octets(100, std::byte{7});
  const std::vector<std::uint16_t> hashes{2};
  auto signed_auth = build_signature_auth(rsa, hashes, octets);
  ASSERT_TRUE(signed_auth) << signed_auth.error();
  EXPECT_TRUE(check_signature_auth(*peer, *signed_auth, octets, "A"));

  auto altered = *signed_auth;
  altered.data.back() ^= std::byte{1};
  auto refused = check_signature_auth(*peer, altered, octets, "A");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("does not verify"), std::string::npos) << refused.error();

  auto wrong_method = *signed_auth;
  wrong_method.method = AuthMethod::EcdsaSha256P256;
  refused = check_signature_auth(*peer, wrong_method, octets, "A");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("r | s on ECDSA P-256 is 64"), std::string::npos) << refused.error();
  wrong_method.data.resize(64);
  refused = check_signature_auth(*peer, wrong_method, octets, "A");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("ECDSA P-256 SHA-256 does not fit the certificate's key"), std::string::npos) << refused.error();

  auto pss = *signed_auth;   // the OID of RSASSA-PSS in place of sha256WithRSAEncryption's
  ASSERT_EQ(pss.data[13], std::byte{0x0b});
  pss.data[13] = std::byte{0x0a};
  refused = check_signature_auth(*peer, pss, octets, "A");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("is not one Ward checks"), std::string::npos) << refused.error();

  auto short_data = *signed_auth;
  short_data.data.resize(10);
  refused = check_signature_auth(*peer, short_data, octets, "A");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("leaves no signature"), std::string::npos) << refused.error();
}

}  // namespace
}  // namespace ward::ike::v2
