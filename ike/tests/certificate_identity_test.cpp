// Certificate identities and chains in main mode between two Ward hosts (the PKI and hosts of
// certificate_fixture.h):
//  - each side's ID is its certificate's subject (ID_DER_ASN1_DN, the default), a DNS name of its
//    subjectAltName (ID_FQDN) or its address, and main mode leaves a DN or FQDN ID to the
//    certificate check instead of refusing what is not an address;
//  - an ID the certificate does not carry is refused with INVALID-ID-INFORMATION naming both;
//  - an identity our own certificate cannot carry is refused when the credentials load;
//  - revocation for the whole chain: a leaf revoked by its intermediate's CRL, a revoked
//    intermediate, and `revocation = required` without the intermediate's CRL.
#include "ike/tests/certificate_fixture.h"

namespace ward::ike::sa {
namespace {

using namespace certificate_testing;

std::vector<std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), reinterpret_cast<const std::byte*>(text.data()) + text.size()};
}

// A peer that claims an identity its certificate does not carry: sends (and signs over) `claimed`
// as its ID, with its own certificate. The signature is valid; only the ID check can refuse it.
class ClaimedIdentity final : public auth::AuthProvider {
 public:
  ClaimedIdentity(std::unique_ptr<auth::AuthProvider> inner, Identification claimed)
      : inner_(std::move(inner)), claimed_(std::move(claimed)) {}
  IkeAuthenticationMethod method() const noexcept override { return inner_->method(); }
  std::string_view name() const noexcept override { return inner_->name(); }
  std::unique_ptr<AuthProvider> for_exchange(auth::Role self, const IpAddress& peer) const override {
    return std::make_unique<ClaimedIdentity>(inner_->for_exchange(self, peer), claimed_);
  }
  auth::SecureBytes skeyid(IkeHashAlgorithm hash, auth::Bytes ni, auth::Bytes nr, const auth::SecureBytes& g_xy) const override {
    return inner_->skeyid(hash, ni, nr, g_xy);
  }
  Expected<std::vector<Payload>, std::string> build_key_exchange_payloads(auth::Role self) const override {
    return inner_->build_key_exchange_payloads(self);
  }
  std::optional<Identification> own_identification() const override { return claimed_; }
  bool binds_peer_identity() const noexcept override { return true; }
  Expected<std::vector<Payload>, std::string> build_authentication(auth::Role self, const auth::MainModeTranscript& t,
                                                                   auth::Bytes own_id_b) const override {
    return inner_->build_authentication(self, t, own_id_b);
  }
  Expected<void, IkeError> check_authentication(auth::Role peer, const auth::MainModeTranscript& t, auth::Bytes id_b,
                                                const ParsedMessage& message) const override {
    return inner_->check_authentication(peer, t, id_b, message);
  }

 private:
  std::unique_ptr<AuthProvider> inner_;
  Identification claimed_;
};

auth::CertificateOptions identity(auth::CertificateIdentity type, std::string fqdn = {}) {
  auth::CertificateOptions options;
  options.identity = {type, std::move(fqdn)};
  return options;
}

TEST_F(CertificateExchangeTest, DistinguishedNameIdsAreTheDefaultAndEstablishBothWays) {
  const auto a = provider("a");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  const auto a_id = a->own_identification();
  ASSERT_TRUE(a_id.has_value());
  EXPECT_EQ(a_id->type, IdType::DerAsn1Dn);
  // DER: SEQUENCE { SET { O=Ward }, SET { CN=a.ward.test } }
  ASSERT_FALSE(a_id->data.empty());
  EXPECT_EQ(a_id->data.front(), std::byte{0x30});
  establish(*a, *b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(initiator->peer_identity(), "CN=b.ward.test,O=Ward");
  EXPECT_EQ(responder->peer_identity(), "CN=a.ward.test,O=Ward");
  run_quick_mode();
  ASSERT_FALSE(HasFatalFailure());
  expect_traffic_flows();
}

TEST_F(CertificateExchangeTest, FqdnIdsFromTheSubjectAltNameEstablish) {
  const auto a = provider("a", kRootName, identity(auth::CertificateIdentity::Fqdn));                  // its first DNS name
  const auto b = provider("b", kRootName, identity(auth::CertificateIdentity::Fqdn, "b.ward.test"));   // named
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->own_identification().has_value());
  EXPECT_EQ(a->own_identification()->type, IdType::Fqdn);
  EXPECT_EQ(a->own_identification()->data, bytes_of("a.ward.test"));
  establish(*a, *b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(initiator->peer_identity(), "CN=b.ward.test,O=Ward");
  run_quick_mode();
  ASSERT_FALSE(HasFatalFailure());
  expect_traffic_flows();
}

TEST_F(CertificateExchangeTest, EachSideChoosesItsOwnIdType) {
  const auto a = provider("a", kRootName, identity(auth::CertificateIdentity::Address));
  const auto b = provider("b", kRootName, identity(auth::CertificateIdentity::Fqdn));
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(a->own_identification().has_value()) << "address: main mode sends the local address";
  establish(*a, *b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(responder->peer_identity(), "CN=a.ward.test,O=Ward");
}

TEST_F(CertificateExchangeTest, ADnIdThatIsNotTheCertificatesSubjectIsRefusedNamingBoth) {
  const auto a = provider("a");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  // A claims B's subject with its own certificate.
  const ClaimedIdentity claiming(std::make_unique<auth::CertificateProvider>(*a), *b->own_identification());
  expect_responder_refuses(claiming, *b,
                           "INVALID-ID-INFORMATION: ID ID_DER_ASN1_DN \"CN=b.ward.test,O=Ward\" does not match the certificate of "
                           "10.20.1.10 (CN=a.ward.test,O=Ward) (its subject is \"CN=a.ward.test,O=Ward\")");
}

TEST_F(CertificateExchangeTest, AnFqdnIdThatIsNotInTheSubjectAltNameIsRefusedNamingBoth) {
  const auto a = provider("a");
  const auto b = provider("b");
  ASSERT_TRUE(a && b);
  Identification claimed;
  claimed.type = IdType::Fqdn;
  claimed.data = bytes_of("b.ward.test");
  const ClaimedIdentity claiming(std::make_unique<auth::CertificateProvider>(*a), claimed);
  expect_responder_refuses(claiming, *b,
                           "INVALID-ID-INFORMATION: ID ID_FQDN \"b.ward.test\" does not match the certificate of 10.20.1.10 "
                           "(CN=a.ward.test,O=Ward) (subjectAltName IP:10.20.1.10, DNS:a.ward.test)");
}

TEST_F(CertificateExchangeTest, AnIdentityOurCertificateCannotCarryIsRefusedWhenLoaded) {
  const auto& a = *cert("a");
  auto unnamed = auth::CertificateCredentials::load({a.certificate, a.private_key, pki_->trust},
                                                    identity(auth::CertificateIdentity::Fqdn, "c.ward.test"));
  ASSERT_FALSE(unnamed.has_value());
  EXPECT_NE(unnamed.error().find("identity fqdn: \"c.ward.test\" is not a subjectAltName DNS name of certificate "
                                 "CN=a.ward.test,O=Ward (it has subjectAltName IP:10.20.1.10, DNS:a.ward.test)"),
            std::string::npos)
      << unnamed.error();
  const auto& no_dns = *cert("b-wrong-ip");   // SAN IP:10.20.9.9 only
  auto none = auth::CertificateCredentials::load({no_dns.certificate, no_dns.private_key, pki_->trust},
                                                 identity(auth::CertificateIdentity::Fqdn));
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().find("has no subjectAltName DNS name"), std::string::npos) << none.error();
}

// ---- revocation for the whole chain ---------------------------------------------------------------

TEST_F(CertificateExchangeTest, ALeafRevokedByItsIntermediatesCrlIsRefused) {
  const auto d = pki_->dir.path();
  const auto* revoked = cert("a-issued-revoked");
  ASSERT_NE(revoked, nullptr);
  ASSERT_TRUE(test::revoke_certificate(*ca("issuing"), *revoked).has_value());
  auto issuing_crl = test::make_crl(*ca("issuing"), d, "issuing");
  ASSERT_TRUE(issuing_crl.has_value()) << issuing_crl.error().to_string();
  const auto trust = make_trust_dir(d, "trust-issuing-crl", {ca("root")->certificate, *issuing_crl});
  const auto b = provider("b", kRootName, {}, trust);
  const auto good = provider("a-issued");
  const auto bad = provider("a-issued-revoked");
  ASSERT_TRUE(b && good && bad);
  expect_responder_refuses(*bad, *b, "certificate of 10.20.1.10 (CN=a.ward.test,O=Ward) is revoked (in the CRL of \"CN=Ward "
                                     "Issuing CA,O=Ward\")");
  establish(*good, *b);   // the intermediate's CRL does not list it; the root has no CRL here
}

TEST_F(CertificateExchangeTest, ARevokedIntermediateCaIsRefused) {
  const auto d = pki_->dir.path();
  const auto* a_doomed = cert("a-doomed");
  ASSERT_NE(a_doomed, nullptr);
  const auto b = provider("b");   // the root's CRL of the suite, made before "Ward Doomed CA" is revoked
  const auto a = provider("a-doomed");
  ASSERT_TRUE(a && b);
  establish(*a, *b);
  ASSERT_FALSE(HasFatalFailure());

  ASSERT_TRUE(test::revoke_certificate(*ca("root"), test::TestCertificate{ca("doomed")->certificate, ca("doomed")->private_key}));
  auto root_crl = test::make_crl(*ca("root"), d, "root-revoking-doomed");
  ASSERT_TRUE(root_crl.has_value()) << root_crl.error().to_string();
  const auto trust = make_trust_dir(d, "trust-doomed-revoked", {ca("root")->certificate, *root_crl});
  const auto b_now = provider("b", kRootName, {}, trust);
  ASSERT_TRUE(b_now);
  expect_responder_refuses(*a, *b_now, "CA certificate \"CN=Ward Doomed CA,O=Ward\" in the chain of 10.20.1.10 "
                                       "(CN=a.ward.test,O=Ward) is revoked (in the CRL of \"CN=Ward Test Root,O=Ward\")");
}

TEST_F(CertificateExchangeTest, RequiredRevocationRefusesAChainWithoutEveryCrl) {
  // The suite's trust store has the root's CRL but none of "Ward Issuing CA".
  auth::CertificateOptions required;
  required.revocation = auth::RevocationCheck::Required;
  const auto a = provider("a-issued");
  const auto b_required = provider("b", kRootName, required);
  const auto b_if_present = provider("b");
  ASSERT_TRUE(a && b_required && b_if_present);
  expect_responder_refuses(*a, *b_required, "no CRL of \"CN=Ward Issuing CA,O=Ward\" in the trust store to check the certificate "
                                            "of 10.20.1.10 (CN=a.ward.test,O=Ward) (revocation = required)");
  establish(*a, *b_if_present);
  ASSERT_FALSE(HasFatalFailure());
  // A leaf of the root itself: the root's CRL is there, so `required` accepts it.
  const auto a_root = provider("a");
  ASSERT_TRUE(a_root);
  establish(*a_root, *b_required);
}

}  // namespace
}  // namespace ward::ike::sa
