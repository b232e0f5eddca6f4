#include "ike/auth/certificate_provider.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <limits>
#include <ctime>
#include <system_error>

#include "ike/auth/certificate_chain.h"
#include "ike/auth/certificate_identity.h"
#include "ike/auth/dn_text.h"
#include "ike/auth/x509_util.h"
#include "ike/crypto/keys.h"
#include "ike/crypto/prf.h"

namespace ward::ike::auth {

// ---- OpenSSL handles as unique_ptr with the library's free functions ------------------------------

namespace {

using x509::CrlPtr;
using x509::der_of;
using x509::name_text;
using x509::openssl_error;
using x509::subject_of;
using x509::X509Ptr;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct InfoStackDeleter {
  void operator()(STACK_OF(X509_INFO)* p) const { sk_X509_INFO_pop_free(p, X509_INFO_free); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using InfoStackPtr = std::unique_ptr<STACK_OF(X509_INFO), InfoStackDeleter>;

// A DER certificate that must fill `der` exactly.
X509Ptr parse_der_certificate(std::span<const std::byte> der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(std::numeric_limits<long>::max())) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
  ERR_clear_error();
  return cert;
}

// ---- files ----------------------------------------------------------------------------------------

BioPtr open_file(const std::filesystem::path& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  ERR_clear_error();
  return bio;
}

}  // namespace

struct CertificateCredentials::Impl {
  X509Ptr certificate;
  std::vector<X509Ptr> chain;      // intermediates sent after our certificate
  PkeyPtr key;                     // or, without it,
  Signer signer;                   // who signs with it
  std::vector<X509Ptr> trusted;    // every CA certificate of the trust store
  std::vector<CrlPtr> crls;
  CertificateOptions options;             // identity and revocation, as loaded (from_pem gets them too)
  std::optional<Identification> own_id;   // what we send in IDii / IDir; empty: our address
};

CertificateCredentials::CertificateCredentials(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertificateCredentials::~CertificateCredentials() = default;

std::string CertificateCredentials::subject() const { return subject_of(impl_->certificate.get()); }
std::size_t CertificateCredentials::trusted_ca_count() const { return impl_->trusted.size(); }
std::size_t CertificateCredentials::crl_count() const { return impl_->crls.size(); }
const std::optional<Identification>& CertificateCredentials::own_id() const noexcept { return impl_->own_id; }
const CertificateOptions& CertificateCredentials::options() const noexcept { return impl_->options; }

namespace {

// The PEM certificates and CRLs of one trust store file (`name`: "trust store file PATH"); an
// error if it holds neither.
Expected<void, std::string> read_trust_bio(BIO* bio, const std::string& name, CertificateCredentials::Impl& into) {
  InfoStackPtr infos(PEM_X509_INFO_read_bio(bio, nullptr, nullptr, nullptr));
  if (!infos) return unexpected(name + " is not PEM: " + openssl_error());
  std::size_t found = 0;
  for (int i = 0; i < sk_X509_INFO_num(infos.get()); ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos.get(), i);
    if (info->x509 != nullptr) {
      X509_up_ref(info->x509);
      into.trusted.emplace_back(info->x509);
      ++found;
    }
    if (info->crl != nullptr) {
      X509_CRL_up_ref(info->crl);
      into.crls.emplace_back(info->crl);
      ++found;
    }
  }
  if (found == 0) return unexpected(name + " holds no PEM certificate or CRL");
  return {};
}

Expected<void, std::string> read_trust_file(const std::filesystem::path& path, CertificateCredentials::Impl& into) {
  auto bio = open_file(path);
  if (!bio) return unexpected("trust store file " + path.string() + " cannot be opened: " + std::generic_category().message(errno));
  return read_trust_bio(bio.get(), "trust store file " + path.string(), into);
}

// Our certificate, then the intermediates to send with it.
void read_certificates(BIO* bio, CertificateCredentials::Impl& into) {
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (!into.certificate) {
      into.certificate.reset(cert);
    } else {
      into.chain.emplace_back(cert);
    }
  }
  ERR_clear_error();   // the end of the file reads as an error
}

BioPtr memory_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(std::min<std::size_t>(text.size(), std::numeric_limits<int>::max()))));
}

template <class Writer>
std::string pem_of(Writer write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// An unencrypted PEM RSA key that is `certificate`'s: the one check of a key, for load() and for
// CertificateKey (wardd's key process). `what` and `of` name the key and the certificate in errors.
Expected<PkeyPtr, std::string> read_private_key(BIO* bio, X509* certificate, const std::string& what, const std::string& of) {
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return unexpected(what + " holds no unencrypted PEM private key");
  }
  if (key_kind_of(key.get()) == KeyKind::Unsupported) {
    return unexpected(what + " holds a " + std::string(OBJ_nid2sn(EVP_PKEY_get_base_id(key.get()))) +
                      " key; certificate authentication needs an RSA key or an ECDSA key on P-256, P-384 or P-521");
  }
  if (X509_check_private_key(certificate, key.get()) != 1) {
    ERR_clear_error();
    return unexpected(what + " does not hold the key of " + of + " (" + subject_of(certificate) + ")");
  }
  return key;
}

}  // namespace

Expected<std::shared_ptr<const CertificateCredentials>, std::string> CertificateCredentials::load(
    const CertificateFiles& files, const CertificateOptions& options) {
  return load_files(files, options, {});
}

Expected<std::shared_ptr<const CertificateCredentials>, std::string> CertificateCredentials::load_with_signer(
    const CertificateFiles& files, Signer signer, const CertificateOptions& options) {
  if (!signer) return unexpected(std::string("no signer for the key of certificate file ") + files.certificate.string());
  return load_files(files, options, std::move(signer));
}

Expected<std::shared_ptr<const CertificateCredentials>, std::string> CertificateCredentials::load_files(
    const CertificateFiles& files, const CertificateOptions& options, Signer signer) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;

  auto cert_bio = open_file(files.certificate);
  if (!cert_bio) {
    return unexpected("certificate file " + files.certificate.string() + " cannot be opened: " +
                      std::generic_category().message(errno));
  }
  read_certificates(cert_bio.get(), *impl);
  if (!impl->certificate) return unexpected("certificate file " + files.certificate.string() + " holds no PEM certificate");

  if (signer) {
    impl->signer = std::move(signer);   // the key is elsewhere (wardd's key process)
  } else {
    auto key_bio = open_file(files.private_key);
    if (!key_bio) {
      return unexpected("private key file " + files.private_key.string() + " cannot be opened: " +
                        std::generic_category().message(errno));
    }
    auto key = read_private_key(key_bio.get(), impl->certificate.get(), "private key file " + files.private_key.string(),
                                "certificate " + files.certificate.string());
    if (!key) return unexpected(std::move(key.error()));
    impl->key = std::move(*key);
  }

  // The trust store: one file, or every regular file of a directory (in name order).
  std::error_code ec;
  if (std::filesystem::is_directory(files.trust, ec)) {
    std::vector<std::filesystem::path> entries;
    for (const auto& entry : std::filesystem::directory_iterator(files.trust, ec)) {
      if (entry.is_regular_file(ec)) entries.push_back(entry.path());
    }
    if (ec) return unexpected("trust store directory " + files.trust.string() + " cannot be read: " + ec.message());
    std::sort(entries.begin(), entries.end());
    for (const auto& path : entries) {
      if (auto read = read_trust_file(path, *impl); !read) return unexpected(read.error());
    }
  } else if (auto read = read_trust_file(files.trust, *impl); !read) {
    return unexpected(read.error());
  }
  if (impl->trusted.empty()) return unexpected("trust store " + files.trust.string() + " holds no CA certificate");
  auto own_id = own_identification(impl->certificate.get(), options.identity);
  if (!own_id) return unexpected("certificate file " + files.certificate.string() + ": " + own_id.error());
  impl->own_id = std::move(*own_id);
  return std::shared_ptr<const CertificateCredentials>(new CertificateCredentials(std::move(impl)));
}

Expected<std::shared_ptr<const CertificateCredentials>, std::string> CertificateCredentials::from_pem(
    std::string_view certificate_pem, const std::vector<std::string>& trust_pem, Signer signer,
    const CertificateOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto cert_bio = memory_bio(certificate_pem);
  if (cert_bio) read_certificates(cert_bio.get(), *impl);
  if (!impl->certificate) return unexpected(std::string("the certificate text holds no PEM certificate"));
  if (!signer) return unexpected(std::string("no key and no signer for certificate ") + subject_of(impl->certificate.get()));
  impl->signer = std::move(signer);
  for (std::size_t i = 0; i < trust_pem.size(); ++i) {
    auto bio = memory_bio(trust_pem[i]);
    if (!bio) return unexpected(std::string("out of memory reading the trust store"));
    if (auto read = read_trust_bio(bio.get(), "trust store entry " + std::to_string(i + 1), *impl); !read) return unexpected(read.error());
  }
  if (impl->trusted.empty()) return unexpected(std::string("the trust store holds no CA certificate"));
  auto own_id = own_identification(impl->certificate.get(), options.identity);
  if (!own_id) return unexpected("certificate " + subject_of(impl->certificate.get()) + ": " + own_id.error());
  impl->own_id = std::move(*own_id);
  return std::shared_ptr<const CertificateCredentials>(new CertificateCredentials(std::move(impl)));
}

std::string CertificateCredentials::certificate_pem() const {
  std::string pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, impl_->certificate.get()); });
  for (const auto& cert : impl_->chain) pem += pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  return pem;
}

std::vector<std::string> CertificateCredentials::trust_pem() const {
  std::vector<std::string> out;
  for (const auto& ca : impl_->trusted) out.push_back(pem_of([&](BIO* b) { return PEM_write_bio_X509(b, ca.get()); }));
  for (const auto& crl : impl_->crls) out.push_back(pem_of([&](BIO* b) { return PEM_write_bio_X509_CRL(b, crl.get()); }));
  return out;
}

// ---- the provider ---------------------------------------------------------------------------------

Expected<std::unique_ptr<CertificateProvider>, std::string> CertificateProvider::create(
    std::shared_ptr<const CertificateCredentials> credentials, std::string ca_name, WallClock clock) {
  if (!credentials) return unexpected(std::string("certificate authentication: no host certificate is loaded"));
  const auto wanted = parse_dn(ca_name);
  if (!wanted) {
    return unexpected("the rule's CA name \"" + ca_name + "\" is not a distinguished name (e.g. \"CN=Root CA, O=Example\")");
  }
  std::vector<std::size_t> cas;
  std::string known;
  const auto& trusted = credentials->impl().trusted;
  for (std::size_t i = 0; i < trusted.size(); ++i) {
    const auto* subject = X509_get_subject_name(trusted[i].get());
    if (name_matches(*wanted, subject)) cas.push_back(i);
    known += (known.empty() ? "\"" : ", \"") + name_text(subject) + "\"";
  }
  if (cas.empty()) {
    return unexpected("no trusted CA has the subject \"" + ca_name + "\" that the rule names (the trust store holds " +
                      known + ")");
  }
  return std::unique_ptr<CertificateProvider>(
      new CertificateProvider(std::move(credentials), std::move(ca_name), std::move(cas), std::move(clock)));
}

std::optional<Identification> CertificateProvider::own_identification() const { return credentials_->own_id(); }

std::unique_ptr<AuthProvider> CertificateProvider::for_exchange(Role /*self*/, const IpAddress& peer) const {
  auto copy = std::make_unique<CertificateProvider>(*this);
  copy->peer_ = peer;
  copy->peer_subject_.clear();
  return copy;
}

SecureBytes CertificateProvider::skeyid(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const {
  std::vector<std::byte> key(ni_b.begin(), ni_b.end());
  key.insert(key.end(), nr_b.begin(), nr_b.end());
  return crypto::prf(hash, key, {g_xy.reveal()});
}

Expected<std::vector<Payload>, std::string> CertificateProvider::build_key_exchange_payloads(Role /*self*/) const {
  const auto& ca = credentials_->impl().trusted.at(cas_.front());
  auto der = der_of(X509_get_subject_name(ca.get()));
  if (der.empty()) return unexpected("cannot encode the subject of CA \"" + ca_name_ + "\"");
  return std::vector<Payload>{CertificateRequest{CertificateEncoding::X509Signature, std::move(der)}};
}

namespace {

SecureBytes hash_x(Role of, const MainModeTranscript& t, Bytes id_b) {
  return of == Role::Initiator ? crypto::hash_i(t.hash, *t.skeyid, t.g_xi, t.g_xr, t.cky_i, t.cky_r, t.sai_b, id_b)
                               : crypto::hash_r(t.hash, *t.skeyid, t.g_xi, t.g_xr, t.cky_i, t.cky_r, t.sai_b, id_b);
}

const char* sig_name(Role of) { return of == Role::Initiator ? "SIG_I" : "SIG_R"; }

// RSA PKCS#1 v1.5 (block type 1) over the hash itself: no DigestInfo, no hashing by OpenSSL (the
// caller adds a DigestInfo where the protocol wants one). ECDSA: over the hash, DER.
Expected<std::vector<std::byte>, std::string> sign_hash(EVP_PKEY* key, std::span<const std::byte> hash) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(hash.data());
  const bool rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
  const std::string what = rsa ? "RSA" : "ECDSA";
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || (rsa && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) ||
      EVP_PKEY_sign(ctx.get(), nullptr, &size, in, hash.size()) != 1) {
    return unexpected("cannot set up the " + what + " signature: " + openssl_error());
  }
  std::vector<std::byte> signature(size);
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in, hash.size()) != 1) {
    return unexpected("the " + what + " signature failed: " + openssl_error());
  }
  signature.resize(size);
  return signature;
}

}  // namespace

Expected<std::vector<std::byte>, std::string> CertificateCredentials::sign(std::span<const std::byte> hash) const {
  if (impl_->key) return sign_hash(impl_->key.get(), hash);
  if (impl_->signer) return impl_->signer(hash);
  return unexpected(std::string("no private key"));
}

Expected<std::vector<std::byte>, std::string> CertificateCredentials::sign_octets(SignatureHash hash,
                                                                                  std::span<const std::byte> octets) const {
  auto digest = digest_to_sign(key_kind(), hash, octets);
  if (!digest) return unexpected(digest.error());
  return sign(*digest);
}

KeyKind CertificateCredentials::key_kind() const noexcept { return key_kind_of(X509_get0_pubkey(impl_->certificate.get())); }

std::vector<std::vector<std::byte>> CertificateCredentials::certificates_der() const {
  std::vector<std::vector<std::byte>> out{der_of(impl_->certificate.get())};
  for (const auto& cert : impl_->chain) out.push_back(der_of(cert.get()));
  return out;
}

std::string PeerCertificate::subject() const { return subject_of(certificate_.get()); }
KeyKind PeerCertificate::key_kind() const noexcept { return key_kind_of(public_key()); }
EVP_PKEY* PeerCertificate::public_key() const noexcept { return X509_get0_pubkey(certificate_.get()); }
bool PeerCertificate::verifies(SignatureHash hash, std::span<const std::byte> octets, std::span<const std::byte> signature) const {
  return verify_signature(X509_get0_pubkey(certificate_.get()), hash, octets, signature);
}

struct CertificateKey::Key {
  PkeyPtr key;
};

Expected<std::unique_ptr<const CertificateKey>, std::string> CertificateKey::from_pem(std::string_view certificate_pem,
                                                                                    std::string_view key_pem,
                                                                                    const std::string& key_name) {
  CertificateCredentials::Impl certificates;
  auto cert_bio = memory_bio(certificate_pem);
  if (cert_bio) read_certificates(cert_bio.get(), certificates);
  if (!certificates.certificate) return unexpected(std::string("the certificate text holds no PEM certificate"));
  auto key_bio = memory_bio(key_pem);
  if (!key_bio) return unexpected(std::string("out of memory reading ") + key_name);
  auto key = read_private_key(key_bio.get(), certificates.certificate.get(), key_name, "the certificate");
  if (!key) return unexpected(std::move(key.error()));
  return std::unique_ptr<const CertificateKey>(new CertificateKey(std::make_unique<Key>(Key{std::move(*key)})));
}

CertificateKey::CertificateKey(std::unique_ptr<Key> key) : key_(std::move(key)) {}
CertificateKey::~CertificateKey() = default;

Expected<std::vector<std::byte>, std::string> CertificateKey::sign(std::span<const std::byte> hash) const {
  return sign_hash(key_->key.get(), hash);
}

namespace {

bool verify_hash(EVP_PKEY* key, std::span<const std::byte> signature, std::span<const std::byte> hash) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  const bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
                  EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                  reinterpret_cast<const unsigned char*>(hash.data()), hash.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace

Expected<std::vector<Payload>, std::string> CertificateProvider::build_authentication(
    Role self, const MainModeTranscript& transcript, Bytes own_id_b) const {
  if (transcript.skeyid == nullptr) return unexpected(std::string("RSA signature: SKEYID is not derived yet"));
  if (credentials_->key_kind() != KeyKind::Rsa) {
    return unexpected("this host's certificate (" + credentials_->subject() + ") has an " + std::string(auth::name(credentials_->key_kind())) +
                      " key: IKEv1 signs with RSA only (IKEv2 signs with ECDSA)");
  }
  const auto& creds = credentials_->impl();
  std::vector<Payload> payloads;
  payloads.push_back(Certificate{CertificateEncoding::X509Signature, der_of(creds.certificate.get())});
  for (const auto& cert : creds.chain) payloads.push_back(Certificate{CertificateEncoding::X509Signature, der_of(cert.get())});
  const auto digest = hash_x(self, transcript, own_id_b);
  auto signature = credentials_->sign(digest.reveal());
  if (!signature) return unexpected(std::string(sig_name(self)) + ": " + signature.error());
  if (signature->size() > Signature::kMaxSize) {
    return unexpected(std::string(sig_name(self)) + " is " + std::to_string(signature->size()) + " bytes, a SIG payload holds " +
                      std::to_string(Signature::kMaxSize));
  }
  payloads.push_back(Signature{std::move(*signature)});
  return payloads;
}

Expected<void, IkeError> CertificateProvider::check_authentication(Role peer, const MainModeTranscript& transcript,
                                                                   Bytes peer_id_b, const ParsedMessage& message) const {
  const auto failed = [](std::string text) { return unexpected(IkeError{NotifyMessageType::AuthenticationFailed, std::move(text)}); };
  const std::string peer_text = peer_ ? peer_->to_string() : std::string("the peer");
  const auto* signature = message.find<Signature>();
  if (signature == nullptr) return failed(std::string(sig_name(peer)) + " missing: " + peer_text + " did not authenticate with a signature");
  if (transcript.skeyid == nullptr) return failed("RSA signature: SKEYID is not derived yet");

  // The peer's certificate (the first CERT) and the intermediates it sent.
  std::vector<std::vector<std::byte>> sent;
  for (const auto& payload : message.payloads) {
    const auto* cert = std::get_if<Certificate>(&payload);
    if (cert == nullptr) continue;
    if (cert->encoding != CertificateEncoding::X509Signature) {
      return unexpected(refusal(NotifyMessageType::InvalidCertEncoding,
                                peer_text + " sent a certificate in encoding " + std::to_string(static_cast<unsigned>(cert->encoding)) +
                                    ", Ward accepts X.509 - Signature (4)"));
    }
    sent.push_back(cert->data);
  }
  auto verified = verify_peer(sent, peer_id_b, peer_text);
  if (!verified) return unexpected(verified.error());
  const std::string who = peer_text + " (" + verified->subject() + ")";
  EVP_PKEY* key = verified->public_key();
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return failed("certificate of " + who + " has no RSA key (RSA signature authentication)");
  }
  const auto digest = hash_x(peer, transcript, peer_id_b);
  if (!verify_hash(key, signature->data, digest.reveal())) {
    return unexpected(refusal(NotifyMessageType::InvalidSignature,
                              std::string(sig_name(peer)) + " of " + who +
                                  " does not verify with its certificate's key (altered message, or a different DH value)"));
  }
  peer_subject_ = verified->subject();
  return {};
}

Expected<PeerCertificate, IkeError> CertificateProvider::verify_peer(std::span<const std::vector<std::byte>> certificates,
                                                                     std::span<const std::byte> id_b,
                                                                     const std::string& peer_text) const {
  std::vector<X509Ptr> sent;
  for (const auto& der : certificates) {
    auto parsed = parse_der_certificate(der);
    if (!parsed) return unexpected(refusal(NotifyMessageType::InvalidCertificate, "a certificate from " + peer_text + " is not DER X.509"));
    sent.push_back(std::move(parsed));
  }
  if (sent.empty()) {
    return unexpected(IkeError{NotifyMessageType::AuthenticationFailed,
                               "CERT missing: " + peer_text + " sent no certificate (Ward does not look certificates up)"});
  }
  X509* leaf = sent.front().get();
  const std::string who = peer_text + " (" + subject_of(leaf) + ")";

  // The chain: trust anchors are only the CAs the rule names; other certificates help build it.
  const auto& creds = credentials_->impl();
  std::vector<X509*> anchors, other_cas, intermediates;
  std::vector<X509_CRL*> crls;
  for (std::size_t i = 0; i < creds.trusted.size(); ++i) {
    (std::find(cas_.begin(), cas_.end(), i) != cas_.end() ? anchors : other_cas).push_back(creds.trusted[i].get());
  }
  for (std::size_t i = 1; i < sent.size(); ++i) intermediates.push_back(sent[i].get());
  for (const auto& crl : creds.crls) crls.push_back(crl.get());
  std::optional<std::time_t> at;
  if (clock_) at = std::chrono::system_clock::to_time_t(clock_());
  if (auto chained = verify_chain({leaf, intermediates, anchors, other_cas, crls, creds.options.revocation, at, who, ca_name_}); !chained) {
    return unexpected(IkeError{NotifyMessageType::AuthenticationFailed, std::move(chained).error()});
  }
  if (auto bound = check_peer_identity(leaf, id_b, who); !bound) return unexpected(std::move(bound).error());
  return PeerCertificate(std::shared_ptr<X509>(sent.front().release(), X509_free));
}

std::vector<std::byte> CertificateProvider::ca_key_hashes() const {
  std::vector<std::byte> out;
  for (const auto index : cas_) {
    X509_PUBKEY* spki = X509_get_X509_PUBKEY(credentials_->impl().trusted.at(index).get());
    unsigned char* der = nullptr;
    const int size = i2d_X509_PUBKEY(spki, &der);
    if (size <= 0) {
      ERR_clear_error();
      continue;
    }
    std::array<unsigned char, 20> sha1{};
    SHA1(der, static_cast<std::size_t>(size), sha1.data());
    OPENSSL_free(der);
    const auto* p = reinterpret_cast<const std::byte*>(sha1.data());
    out.insert(out.end(), p, p + sha1.size());
  }
  return out;
}

}  // namespace ward::ike::auth
