// RSA signature authentication with X.509 certificates for IKEv1 main mode (RFC 2409 5.1), with
// OpenSSL:
//
//   Initiator                                  Responder
//   HDR, SA                        -->
//                                  <--         HDR, SA
//   HDR, KE, Ni, CR(rule's CA)     -->
//                                  <--         HDR, KE, Nr, CR(rule's CA)
//   HDR*, IDii, CERT+, SIG_I       -->
//                                  <--         HDR*, IDir, CERT+, SIG_R
//
//   SKEYID = prf(Ni_b | Nr_b, g^xy)
//   SIG_I  = RSA PKCS#1 v1.5 signature over HASH_I itself, no DigestInfo (as IKEv1 implementations
//            do it; strongSwan's RSA_EMSA_PKCS1_NULL); SIG_R likewise over HASH_R.
//   CERT   = X.509 - Signature (encoding 4): our certificate first, then intermediate CAs.
//
// The peer's certificate must chain to a trusted CA whose subject is the rule's CA name (as
// Windows names the root CA in the authentication method), not to any trusted CA, through the
// intermediates it sent or the trust store holds, with the CRLs of the trust store checked for the
// whole chain (certificate_chain.h); and the peer's ID (an address, ID_FQDN, ID_USER_FQDN or
// ID_DER_ASN1_DN) must name it (certificate_identity.h). Our own ID is our certificate's subject
// (ID_DER_ASN1_DN, the default: what Windows sends), one of its DNS names (ID_FQDN) or our address,
// as CertificateOptions say.
//
// The host's credentials (certificate, chain, private key, trusted CAs and CRLs) are loaded once
// into CertificateCredentials and shared by every rule's provider. The private key stays in that
// object: it is used to sign and never printed. wardd's sandboxed IKE process (agent/ikeproc) gets
// credentials without it (from_pem) and signs through wardd.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "ike/auth/auth_provider.h"
#include "ike/auth/certificate_chain.h"
#include "ike/auth/certificate_identity.h"
#include "ike/auth/signature.h"

namespace ward::ike::auth {

struct CertificateFiles {
  std::filesystem::path certificate;  // PEM: this host's certificate, then any intermediate CAs
  std::filesystem::path private_key;  // PEM: its RSA or ECDSA (P-256/384/521) private key (IKEv1 signs with RSA only)
  std::filesystem::path trust;        // a PEM file, or a directory of PEM files: trusted CAs and CRLs
};

// Signs a hash with the private key held elsewhere (RSA PKCS#1 v1.5 block type 1 over the hash
// itself, as sign() does): how wardd's sandboxed IKE process signs with a key only wardd holds.
using Signer = std::function<Expected<std::vector<std::byte>, std::string>(std::span<const std::byte> hash)>;

// How this host identifies with its certificate and how much revocation checking peers' chains
// get ([certificates] identity, fqdn and revocation in ward.conf).
struct CertificateOptions {
  IdentitySettings identity;   // default: ID_DER_ASN1_DN, our certificate's subject (as Windows)
  RevocationCheck revocation = RevocationCheck::IfPresent;
};

// This host's certificate and key, and the trust store; immutable once loaded.
class CertificateCredentials {
 public:
  // The error names the file and what is wrong with it (no certificate, key does not match, an
  // identity the certificate cannot carry, ...).
  static Expected<std::shared_ptr<const CertificateCredentials>, std::string> load(const CertificateFiles& files,
                                                                                  const CertificateOptions& options = {});
  // The same without the private key: the certificate (then its chain) and the trust store (each
  // entry PEM CA certificates and CRLs), as certificate_pem() and trust_pem() give them, with
  // `signer` signing in the key's place.
  static Expected<std::shared_ptr<const CertificateCredentials>, std::string> from_pem(std::string_view certificate_pem,
                                                                                      const std::vector<std::string>& trust_pem,
                                                                                      Signer signer,
                                                                                      const CertificateOptions& options = {});
  // As load(), but `files.private_key` is not read: `signer` signs in the key's place (wardd with
  // [privsep] user: the key is read by its key process only, agent/daemon/key_process.h).
  static Expected<std::shared_ptr<const CertificateCredentials>, std::string> load_with_signer(const CertificateFiles& files,
                                                                                              Signer signer,
                                                                                              const CertificateOptions& options = {});
  std::string certificate_pem() const;          // ours, then the chain
  std::vector<std::string> trust_pem() const;   // one entry per CA certificate and CRL
  // With the key, or through the signer: RSA PKCS#1 v1.5 over `hash` as given (no DigestInfo added:
  // IKEv1's SIG; IKEv2 passes a DigestInfo), or ECDSA over `hash` (DER Ecdsa-Sig-Value).
  Expected<std::vector<std::byte>, std::string> sign(std::span<const std::byte> hash) const;
  // IKEv2's AUTH: `octets` hashed with `hash` and signed (signature.h).
  Expected<std::vector<std::byte>, std::string> sign_octets(SignatureHash hash, std::span<const std::byte> octets) const;
  KeyKind key_kind() const noexcept;   // of our certificate's key
  // DER: our certificate, then the intermediates to send with it.
  std::vector<std::vector<std::byte>> certificates_der() const;

  ~CertificateCredentials();
  CertificateCredentials(const CertificateCredentials&) = delete;
  CertificateCredentials& operator=(const CertificateCredentials&) = delete;

  std::string subject() const;            // our certificate's subject, e.g. "CN=a.ward.test,O=Ward"
  std::size_t trusted_ca_count() const;   // CA certificates in the trust store
  std::size_t crl_count() const;
  // The ID this host sends with its certificate (type and data); empty: its address.
  const std::optional<Identification>& own_id() const noexcept;
  const CertificateOptions& options() const noexcept;   // identity and revocation, as loaded

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit CertificateCredentials(std::unique_ptr<Impl> impl);
  static Expected<std::shared_ptr<const CertificateCredentials>, std::string> load_files(const CertificateFiles& files,
                                                                                        const CertificateOptions& options,
                                                                                        Signer signer);
  std::unique_ptr<Impl> impl_;
};

// The private key alone, checked as load() checks it (unencrypted PEM, RSA or ECDSA, the key of the first
// certificate of `certificate_pem`): what wardd's key process holds and signs with.
class CertificateKey {
 public:
  // `key_name` names the key in errors ("private key file /etc/ward/host.key").
  static Expected<std::unique_ptr<const CertificateKey>, std::string> from_pem(std::string_view certificate_pem,
                                                                             std::string_view key_pem, const std::string& key_name);
  // As CertificateCredentials::sign.
  Expected<std::vector<std::byte>, std::string> sign(std::span<const std::byte> hash) const;

  ~CertificateKey();
  CertificateKey(const CertificateKey&) = delete;
  CertificateKey& operator=(const CertificateKey&) = delete;

 private:
  struct Key;
  explicit CertificateKey(std::unique_ptr<Key> key);
  std::unique_ptr<Key> key_;
};

// The time certificates and CRLs are checked at; empty: the system clock.
using WallClock = std::function<std::chrono::system_clock::time_point()>;

// A peer's certificate that verify_peer accepted: its chain, validity, revocation and ID checked.
class PeerCertificate {
 public:
  explicit PeerCertificate(std::shared_ptr<X509> certificate) : certificate_(std::move(certificate)) {}
  std::string subject() const;
  KeyKind key_kind() const noexcept;
  EVP_PKEY* public_key() const noexcept;
  // `signature` (PKCS#1 v1.5 for RSA, DER for ECDSA) over `octets` hashed with `hash`.
  bool verifies(SignatureHash hash, std::span<const std::byte> octets, std::span<const std::byte> signature) const;

 private:
  std::shared_ptr<X509> certificate_;
};

class CertificateProvider final : public AuthProvider {
 public:
  // `ca_name` is the rule's trusted root CA, as a DN ("CN=Ward Root, O=Ward", either order); the
  // error says when no CA in the trust store has that subject.
  static Expected<std::unique_ptr<CertificateProvider>, std::string> create(
      std::shared_ptr<const CertificateCredentials> credentials, std::string ca_name, WallClock clock = {});

  IkeAuthenticationMethod method() const noexcept override { return IkeAuthenticationMethod::RsaSignatures; }
  // What the helpdesk reads as the SA's method: by this host's own key (IKEv1 signs with RSA only;
  // IKEv2 with RSA or ECDSA).
  std::string_view name() const noexcept override {
    return auth::is_ecdsa(credentials_->key_kind()) ? "ECDSA signature (X.509)" : "RSA signature (X.509)";
  }
  const std::string& ca_name() const noexcept { return ca_name_; }

  // Each exchange gets its own object: it knows the peer's address and remembers its subject.
  std::unique_ptr<AuthProvider> for_exchange(Role self, const IpAddress& peer) const override;
  std::optional<Identification> own_identification() const override;
  bool binds_peer_identity() const noexcept override { return true; }

  SecureBytes skeyid(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const override;
  // CR naming the rule's CA (its DER subject) in messages 3 / 4; the peer's CRs are accepted as hints.
  Expected<std::vector<Payload>, std::string> build_key_exchange_payloads(Role self) const override;
  std::string peer_identity() const override { return peer_subject_; }
  Expected<std::vector<Payload>, std::string> build_authentication(Role self, const MainModeTranscript& transcript,
                                                                   Bytes own_id_b) const override;
  Expected<void, IkeError> check_authentication(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                                   const ParsedMessage& message) const override;

  // IKEv2 (ike/v2/signature_auth.h) uses the same checks as main mode, without its payloads:
  // `certificates` are the DER of the peer's CERT payloads (its own first, then intermediates),
  // checked as check_authentication checks them (chain to the rule's CA, validity, CRLs), and
  // `id_b` (the ID payload body: type, three octets, data) must name the first; `peer_text` says
  // who sent them in the error.
  Expected<PeerCertificate, IkeError> verify_peer(std::span<const std::vector<std::byte>> certificates,
                                                     std::span<const std::byte> id_b, const std::string& peer_text) const;
  // CERTREQ's Certification Authority data (RFC 7296 3.7): the SHA-1 hashes of the rule's CAs'
  // SubjectPublicKeyInfo, concatenated.
  std::vector<std::byte> ca_key_hashes() const;
  const CertificateCredentials& credentials() const noexcept { return *credentials_; }

  CertificateProvider(const CertificateProvider&) = default;

 private:
  CertificateProvider(std::shared_ptr<const CertificateCredentials> credentials, std::string ca_name,
                      std::vector<std::size_t> cas, WallClock clock)
      : credentials_(std::move(credentials)), ca_name_(std::move(ca_name)), cas_(std::move(cas)), clock_(std::move(clock)) {}

  std::shared_ptr<const CertificateCredentials> credentials_;
  std::string ca_name_;
  std::vector<std::size_t> cas_;   // indexes of the trusted CAs with that subject (a renewed CA: several)
  WallClock clock_;
  std::optional<IpAddress> peer_;  // set in the per-exchange copy
  // The exchange's result; the per-exchange object is used by one Phase1Sa, in message order.
  mutable std::string peer_subject_;
};

}  // namespace ward::ike::auth
