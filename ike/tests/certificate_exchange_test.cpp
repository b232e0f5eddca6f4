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
#include "ike/tests/certificate_fixture.h"

namespace ward::ike::sa {
namespace {

using namespace certificate_testing;

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
  std::optional<Identification> own_identification() const override { return inner_->own_identification(); }
  bool binds_peer_identity() const noexcept override { return inner_->binds_peer_identity(); }
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
  Expected<void, IkeError> check_authentication(auth::Role peer, const auth::MainModeTranscript& t, auth::Bytes id_b,
                                                const ParsedMessage& message) const override {
    return inner_->check_authentication(peer, t, id_b, message);
  }

 private:
  std::unique_ptr<AuthProvider> inner_;
};


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
  const auto a = provider("a-wrong-ip", kRootName, address_ids());
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  expect_responder_refuses(*a, *b, "ID ID_IPV4_ADDR 10.20.1.10 does not match the certificate of 10.20.1.10");
}

TEST_F(CertificateExchangeTest, InitiatorRefusesAResponderWhoseCertificateNamesAnotherAddress) {
  const auto a = provider("a", kRootName, address_ids());
  const auto b = provider("b-wrong-ip", kRootName, address_ids());
  ASSERT_TRUE(a && b);
  const auto m5 = run_to_main_mode_5(*a, *b);
  const auto m6 = responder->handle(m5);
  ASSERT_FALSE(m6.empty()) << responder->failure();
  EXPECT_TRUE(initiator->handle(m6).empty());
  EXPECT_EQ(initiator->state(), State::Failed);
  EXPECT_NE(initiator->failure().text.find("does not match the certificate of 10.20.2.30 (CN=b.ward.test,O=Ward)"),
            std::string::npos)
      << initiator->failure();
  EXPECT_NE(initiator->failure().text.find("IP:10.20.9.9"), std::string::npos) << initiator->failure();
  EXPECT_FALSE(initiator->established());
}

TEST_F(CertificateExchangeTest, ATamperedSignatureIsRefused) {
  const auto a = provider("a");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  const TamperedSignature tampered(std::make_unique<auth::CertificateProvider>(*a));
  expect_responder_refuses(tampered, *b, "INVALID-SIGNATURE: SIG_I of 10.20.1.10 (CN=a.ward.test,O=Ward) does not verify");
}

// wardd with a key process: the certificate and trust store from their files, the key file never
// opened (here it does not exist), every signature through the signer; the key alone
// (CertificateKey) signs what the loaded credentials sign.
TEST_F(CertificateExchangeTest, LoadedWithASignerTheKeyFileIsNeverRead) {
  const auto& a = *cert("a");
  auto key_pem = test::read_text(a.private_key);
  auto key = auth::CertificateKey::from_pem(test::read_text(a.certificate), key_pem, "private key file a.key");
  ASSERT_TRUE(key.has_value()) << key.error();
  int signatures = 0;
  auto loaded = auth::CertificateCredentials::load_with_signer({a.certificate, "/nonexistent/a.key", pki_->trust},
                                                               [&](std::span<const std::byte> hash) {
                                                                 ++signatures;
                                                                 return (*key)->sign(hash);
                                                               });
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_EQ((*loaded)->crl_count(), 1u);
  auto provider_a = auth::CertificateProvider::create(*loaded, kRootName);
  ASSERT_TRUE(provider_a.has_value()) << provider_a.error();
  establish(**provider_a, *provider("b"));
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(signatures, 1) << "SIG_I";
  const auto& b = *cert("b");
  auto wrong = auth::CertificateKey::from_pem(test::read_text(a.certificate), test::read_text(b.private_key), "private key file b.key");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().find("private key file b.key does not hold the key of the certificate (CN=a.ward.test,O=Ward)"),
            std::string::npos)
      << wrong.error();
  EXPECT_FALSE(auth::CertificateCredentials::load_with_signer({a.certificate, a.private_key, pki_->trust}, {}).has_value());
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
// mode with DN and FQDN IDs: certificate_identity_test.cpp): ID_FQDN and ID_USER_FQDN against
// subjectAltName DNS / e-mail entries, ID_DER_ASN1_DN against the subject.
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
                                               << (checked ? std::string("accepted") : checked.error().text);
    if (!c.accepted && checked.has_value() == false) {
      // The provider decides what the peer is told: INVALID-ID-INFORMATION, named first in the words.
      EXPECT_EQ(checked.error().notify, NotifyMessageType::InvalidIdInformation) << checked.error();
      EXPECT_TRUE(checked.error().text.starts_with("INVALID-ID-INFORMATION: ")) << checked.error();
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
