#include "ike/auth/certificate_provider.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <limits>
#include <ctime>
#include <system_error>

#include "ike/crypto/keys.h"
#include "ike/crypto/prf.h"

namespace ward::ike::auth {

// ---- OpenSSL handles as unique_ptr with the library's free functions ------------------------------

namespace {

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct CrlDeleter {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct StoreDeleter {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct X509StackDeleter {   // the stack only: the certificates belong to someone else
  void operator()(STACK_OF(X509)* p) const { sk_X509_free(p); }
};
struct InfoStackDeleter {
  void operator()(STACK_OF(X509_INFO)* p) const { sk_X509_INFO_pop_free(p, X509_INFO_free); }
};
struct NameDeleter {
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};

using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using StorePtr = std::unique_ptr<X509_STORE, StoreDeleter>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
using InfoStackPtr = std::unique_ptr<STACK_OF(X509_INFO), InfoStackDeleter>;
using NamePtr = std::unique_ptr<X509_NAME, NameDeleter>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;

// The last OpenSSL error as text (the queue is cleared), for our own certificate and key files.
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error recorded";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return "(no name)";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) return "(unprintable name)";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string("(empty name)");
}

std::string subject_of(const X509* cert) { return name_text(X509_get_subject_name(cert)); }

// "2020-01-02 00:00:00 UTC"
std::string time_text(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return "(unreadable date)";
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text.data();
}

std::vector<std::byte> der_of(const X509_NAME* name) {
  unsigned char* out = nullptr;
  const int size = i2d_X509_NAME(name, &out);
  if (size <= 0) return {};
  std::vector<std::byte> der(reinterpret_cast<const std::byte*>(out), reinterpret_cast<const std::byte*>(out) + size);
  OPENSSL_free(out);
  return der;
}

std::vector<std::byte> der_of(X509* cert) {
  unsigned char* out = nullptr;
  const int size = i2d_X509(cert, &out);
  if (size <= 0) return {};
  std::vector<std::byte> der(reinterpret_cast<const std::byte*>(out), reinterpret_cast<const std::byte*>(out) + size);
  OPENSSL_free(out);
  return der;
}

// A DER certificate that must fill `der` exactly.
X509Ptr parse_der_certificate(std::span<const std::byte> der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(std::numeric_limits<long>::max())) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
  ERR_clear_error();
  return cert;
}

// ---- DN text as administrators write it -----------------------------------------------------------

struct DnComponent {
  int nid = NID_undef;
  std::string value;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// "CN=Ward Root, O=Ward" -> [(CN, ward root), (O, ward)]; ',' or ';' separate, '\' escapes, values
// may be quoted. Nothing on an unknown attribute type or a component without '='.
std::optional<std::vector<DnComponent>> parse_dn(std::string_view text) {
  std::vector<std::string> parts;
  std::string current;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      current += text[++i];
    } else if (c == '"') {
      quoted = !quoted;
    } else if ((c == ',' || c == ';') && !quoted) {
      parts.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(std::move(current));
  std::vector<DnComponent> out;
  for (const auto& part : parts) {
    const auto equals = part.find('=');
    if (equals == std::string::npos) return std::nullopt;
    const std::string type = trim(std::string_view(part).substr(0, equals));
    std::string upper = type;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    int nid = OBJ_sn2nid(type.c_str());                    // CN, DC, emailAddress
    if (nid == NID_undef) nid = OBJ_sn2nid(upper.c_str());   // cn, dc
    if (nid == NID_undef) nid = OBJ_ln2nid(type.c_str());    // commonName, domainComponent
    if (nid == NID_undef && lower(type) == "e") nid = NID_pkcs9_emailAddress;   // Windows writes E=
    if (nid == NID_undef && lower(type) == "s") nid = NID_stateOrProvinceName;   // and S=
    if (nid == NID_undef) return std::nullopt;
    out.push_back({nid, lower(trim(std::string_view(part).substr(equals + 1)))});
  }
  return out;
}

std::vector<DnComponent> components_of(const X509_NAME* name) {
  std::vector<DnComponent> out;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    unsigned char* utf8 = nullptr;
    const int size = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    std::string value = size >= 0 ? std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size)) : std::string();
    OPENSSL_free(utf8);
    out.push_back({OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)), lower(trim(value))});
  }
  return out;
}

bool same_components(const std::vector<DnComponent>& a, const std::vector<DnComponent>& b, bool reversed) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto& other = reversed ? b[b.size() - 1 - i] : b[i];
    if (a[i].nid != other.nid || a[i].value != other.value) return false;
  }
  return true;
}

bool name_matches(const std::vector<DnComponent>& wanted, const X509_NAME* name) {
  const auto have = components_of(name);
  return same_components(wanted, have, false) || same_components(wanted, have, true);
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
};

CertificateCredentials::CertificateCredentials(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertificateCredentials::~CertificateCredentials() = default;

std::string CertificateCredentials::subject() const { return subject_of(impl_->certificate.get()); }
std::size_t CertificateCredentials::trusted_ca_count() const { return impl_->trusted.size(); }
std::size_t CertificateCredentials::crl_count() const { return impl_->crls.size(); }

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

}  // namespace

Expected<std::shared_ptr<const CertificateCredentials>, std::string> CertificateCredentials::load(
    const CertificateFiles& files) {
  auto impl = std::make_unique<Impl>();

  auto cert_bio = open_file(files.certificate);
  if (!cert_bio) {
    return unexpected("certificate file " + files.certificate.string() + " cannot be opened: " +
                      std::generic_category().message(errno));
  }
  read_certificates(cert_bio.get(), *impl);
  if (!impl->certificate) return unexpected("certificate file " + files.certificate.string() + " holds no PEM certificate");

  auto key_bio = open_file(files.private_key);
  if (!key_bio) {
    return unexpected("private key file " + files.private_key.string() + " cannot be opened: " +
                      std::generic_category().message(errno));
  }
  impl->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!impl->key) {
    ERR_clear_error();
    return unexpected("private key file " + files.private_key.string() +
                      " holds no unencrypted PEM private key");
  }
  if (EVP_PKEY_get_base_id(impl->key.get()) != EVP_PKEY_RSA) {
    return unexpected("private key file " + files.private_key.string() + " holds a " +
                      std::string(OBJ_nid2sn(EVP_PKEY_get_base_id(impl->key.get()))) +
                      " key; IKEv1 RSA signature authentication needs an RSA key");
  }
  if (X509_check_private_key(impl->certificate.get(), impl->key.get()) != 1) {
    ERR_clear_error();
    return unexpected("private key file " + files.private_key.string() + " does not hold the key of certificate " +
                      files.certificate.string() + " (" + subject_of(impl->certificate.get()) + ")");
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
  return std::shared_ptr<const CertificateCredentials>(new CertificateCredentials(std::move(impl)));
}

Expected<std::shared_ptr<const CertificateCredentials>, std::string> CertificateCredentials::from_pem(
    std::string_view certificate_pem, const std::vector<std::string>& trust_pem, Signer signer) {
  auto impl = std::make_unique<Impl>();
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

// RSA PKCS#1 v1.5 (block type 1) over the hash itself: no DigestInfo, no hashing by OpenSSL.
Expected<std::vector<std::byte>, std::string> sign_hash(EVP_PKEY* key, std::span<const std::byte> hash) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(hash.data());
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &size, in, hash.size()) != 1) {
    return unexpected("cannot set up the RSA signature: " + openssl_error());
  }
  std::vector<std::byte> signature(size);
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in, hash.size()) != 1) {
    return unexpected("the RSA signature failed: " + openssl_error());
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

// The subjectAltName entries, as "IP:10.0.0.2, DNS:b.example" for error messages.
std::string alt_names_text(X509* cert) {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return "no subjectAltName";
  std::string out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    std::string entry;
    if (name->type == GEN_DNS || name->type == GEN_EMAIL) {
      const auto* text = name->d.ia5;
      entry = std::string(name->type == GEN_DNS ? "DNS:" : "email:") +
              std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), ASN1_STRING_length(text));
    } else if (name->type == GEN_IPADD) {
      const auto* raw = name->d.ip;
      const int size = ASN1_STRING_length(raw);
      const auto* bytes = ASN1_STRING_get0_data(raw);
      if (size == 4) {
        entry = "IP:" + IpAddress::v4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
                                      (std::uint32_t{bytes[2]} << 8) | bytes[3])
                            .to_string();
      } else if (size == 16) {
        std::array<std::uint8_t, 16> v6{};
        std::copy(bytes, bytes + 16, v6.begin());
        entry = "IP:" + IpAddress::v6(v6).to_string();
      }
    }
    if (!entry.empty()) out += (out.empty() ? "" : ", ") + entry;
  }
  return out.empty() ? "no IP, DNS or e-mail subjectAltName" : "subjectAltName " + out;
}

// The peer's ID payload body (type, protocol, port, data: RFC 2407 4.6.2) must name the certificate.
Expected<void, std::string> check_identity(X509* cert, std::span<const std::byte> id_b, const std::string& who) {
  if (id_b.size() < 5) return unexpected("the peer's ID payload is " + std::to_string(id_b.size()) + " bytes, too short");
  const auto type = static_cast<IdType>(std::to_integer<std::uint8_t>(id_b[0]));
  const auto data = id_b.subspan(4);
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  std::string id_text;
  bool matches = false;
  switch (type) {
    case IdType::Ipv4Addr:
    case IdType::Ipv6Addr: {
      const std::size_t want = type == IdType::Ipv4Addr ? 4 : 16;
      if (data.size() != want) return unexpected("the peer's " + std::string(name(type)) + " ID has " + std::to_string(data.size()) + " bytes");
      std::array<std::uint8_t, 16> raw{};
      std::copy(bytes, bytes + want, raw.begin());
      id_text = type == IdType::Ipv4Addr
                    ? IpAddress::v4((std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) | (std::uint32_t{raw[2]} << 8) | raw[3]).to_string()
                    : IpAddress::v6(raw).to_string();
      matches = X509_check_ip(cert, bytes, want, 0) == 1;
      break;
    }
    case IdType::Fqdn:
      id_text.assign(reinterpret_cast<const char*>(bytes), data.size());
      matches = X509_check_host(cert, id_text.data(), id_text.size(),
                                X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS, nullptr) == 1;
      break;
    case IdType::UserFqdn:
      id_text.assign(reinterpret_cast<const char*>(bytes), data.size());
      matches = X509_check_email(cert, id_text.data(), id_text.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT) == 1;
      break;
    case IdType::DerAsn1Dn: {
      const auto* p = bytes;
      NamePtr dn(d2i_X509_NAME(nullptr, &p, static_cast<long>(data.size())));
      if (!dn || p != bytes + data.size()) {
        ERR_clear_error();
        return unexpected(std::string("INVALID-ID-INFORMATION: the peer's ID_DER_ASN1_DN is not a DER name"));
      }
      id_text = name_text(dn.get());
      matches = X509_NAME_cmp(dn.get(), X509_get_subject_name(cert)) == 0;
      break;
    }
    default:
      return unexpected("INVALID-ID-INFORMATION: the peer identifies with " + std::string(name(type)) +
                        ", which a certificate cannot bind (IP address, FQDN, user FQDN or DN expected)");
  }
  if (!matches) {
    return unexpected("INVALID-ID-INFORMATION: ID " + std::string(name(type)) + " " + id_text + " does not match the certificate of " +
                      who + " (" + (type == IdType::DerAsn1Dn ? "its subject differs" : alt_names_text(cert)) + ")");
  }
  return {};
}

}  // namespace

Expected<std::vector<Payload>, std::string> CertificateProvider::build_authentication(
    Role self, const MainModeTranscript& transcript, Bytes own_id_b) const {
  if (transcript.skeyid == nullptr) return unexpected(std::string("RSA signature: SKEYID is not derived yet"));
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

Expected<void, std::string> CertificateProvider::check_authentication(Role peer, const MainModeTranscript& transcript,
                                                                      Bytes peer_id_b, const ParsedMessage& message) const {
  const std::string peer_text = peer_ ? peer_->to_string() : std::string("the peer");
  const auto* signature = message.find<Signature>();
  if (signature == nullptr) {
    return unexpected(std::string(sig_name(peer)) + " missing: " + peer_text + " did not authenticate with a signature");
  }
  if (transcript.skeyid == nullptr) return unexpected(std::string("RSA signature: SKEYID is not derived yet"));

  // The peer's certificate (the first CERT) and the intermediates it sent.
  std::vector<X509Ptr> sent;
  for (const auto& payload : message.payloads) {
    const auto* cert = std::get_if<Certificate>(&payload);
    if (cert == nullptr) continue;
    if (cert->encoding != CertificateEncoding::X509Signature) {
      return unexpected("INVALID-CERT-ENCODING: " + peer_text + " sent a certificate in encoding " +
                        std::to_string(static_cast<unsigned>(cert->encoding)) + ", Ward accepts X.509 - Signature (4)");
    }
    auto parsed = parse_der_certificate(cert->data);
    if (!parsed) return unexpected("INVALID-CERTIFICATE: a certificate from " + peer_text + " is not DER X.509");
    sent.push_back(std::move(parsed));
  }
  if (sent.empty()) {
    return unexpected("CERT missing: " + peer_text + " sent no certificate (Ward does not look certificates up)");
  }
  X509* leaf = sent.front().get();
  const std::string who = peer_text + " (" + subject_of(leaf) + ")";

  // The chain: trust anchors are only the CAs the rule names; other certificates help build it.
  const auto& creds = credentials_->impl();
  StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return unexpected(std::string("out of memory checking a certificate"));
  bool built = true;
  for (std::size_t i = 0; i < creds.trusted.size(); ++i) {
    if (std::find(cas_.begin(), cas_.end(), i) != cas_.end()) {
      built = built && X509_STORE_add_cert(store.get(), creds.trusted[i].get()) == 1;
    } else {
      built = built && sk_X509_push(untrusted.get(), creds.trusted[i].get()) > 0;
    }
  }
  for (std::size_t i = 1; i < sent.size(); ++i) built = built && sk_X509_push(untrusted.get(), sent[i].get()) > 0;
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;   // the named CA is the anchor even if it is not a root
  for (const auto& crl : creds.crls) {
    built = built && X509_STORE_add_crl(store.get(), crl.get()) == 1;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_issuer_name(leaf)) == 0) flags |= X509_V_FLAG_CRL_CHECK;
  }
  if (!built) return unexpected("cannot build the trust store to check " + who + ": " + openssl_error());
  ERR_clear_error();
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return unexpected("cannot check the certificate of " + who + ": " + openssl_error());
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (clock_) X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(clock_()));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    X509* at = X509_STORE_CTX_get_current_cert(ctx.get());
    const std::string subject = at != nullptr ? subject_of(at) : subject_of(leaf);
    const std::string which = at == nullptr || at == leaf ? "certificate of " + who : "CA certificate \"" + subject + "\" in the chain of " + who;
    ERR_clear_error();
    switch (error) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return unexpected(which + " expired on " + time_text(X509_get0_notAfter(at != nullptr ? at : leaf)));
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return unexpected(which + " is not valid before " + time_text(X509_get0_notBefore(at != nullptr ? at : leaf)) +
                          " (check both hosts' clocks)");
      case X509_V_ERR_CERT_REVOKED:
        return unexpected(which + " is revoked (in the CRL of \"" + name_text(X509_get_issuer_name(at != nullptr ? at : leaf)) + "\")");
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return unexpected("certificate of " + who + " is not signed by the trusted CA \"" + ca_name_ + "\" (its issuer is \"" +
                          name_text(X509_get_issuer_name(at != nullptr ? at : leaf)) + "\")");
      case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return unexpected(which + " has a signature that does not verify: it was altered or not issued by \"" +
                          name_text(X509_get_issuer_name(at != nullptr ? at : leaf)) + "\"");
      case X509_V_ERR_CRL_HAS_EXPIRED:
        return unexpected("the CRL of \"" + name_text(X509_get_issuer_name(leaf)) + "\" has expired: put a current CRL in the trust store to accept " + who);
      case X509_V_ERR_CRL_NOT_YET_VALID:
        return unexpected("the CRL of \"" + name_text(X509_get_issuer_name(leaf)) + "\" is not valid yet (check the clock)");
      case X509_V_ERR_CRL_SIGNATURE_FAILURE:
        return unexpected("the CRL of \"" + name_text(X509_get_issuer_name(leaf)) + "\" in the trust store has a bad signature");
      default:
        return unexpected(which + " does not verify: " + X509_verify_cert_error_string(error));
    }
  }

  if (auto bound = check_identity(leaf, peer_id_b, who); !bound) return bound;

  EVP_PKEY* key = X509_get0_pubkey(leaf);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return unexpected("certificate of " + who + " has no RSA key (RSA signature authentication)");
  }
  const auto digest = hash_x(peer, transcript, peer_id_b);
  if (!verify_hash(key, signature->data, digest.reveal())) {
    return unexpected("INVALID-SIGNATURE: " + std::string(sig_name(peer)) + " of " + who +
                      " does not verify with its certificate's key (altered message, or a different DH value)");
  }
  peer_subject_ = subject_of(leaf);
  return {};
}

}  // namespace ward::ike::auth
