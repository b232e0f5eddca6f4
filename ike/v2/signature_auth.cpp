#include "ike/v2/signature_auth.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>

namespace ward::ike::v2 {
namespace {

using auth::KeyKind;
using auth::SignatureHash;

// The AlgorithmIdentifiers of RFC 7427 Appendix A that Ward signs and checks.
struct Scheme {
  int nid;
  bool ecdsa;
  SignatureHash hash;
};
constexpr Scheme kSchemes[] = {
    {NID_sha256WithRSAEncryption, false, SignatureHash::Sha256}, {NID_sha384WithRSAEncryption, false, SignatureHash::Sha384},
    {NID_sha512WithRSAEncryption, false, SignatureHash::Sha512}, {NID_sha1WithRSAEncryption, false, SignatureHash::Sha1},
    {NID_ecdsa_with_SHA256, true, SignatureHash::Sha256},        {NID_ecdsa_with_SHA384, true, SignatureHash::Sha384},
    {NID_ecdsa_with_SHA512, true, SignatureHash::Sha512},
};

struct AlgorDeleter {
  void operator()(X509_ALGOR* p) const { X509_ALGOR_free(p); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using AlgorPtr = std::unique_ptr<X509_ALGOR, AlgorDeleter>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

std::optional<HashAlgorithmId> id_of(SignatureHash hash) {
  switch (hash) {
    case SignatureHash::Sha1: return HashAlgorithmId::Sha1;
    case SignatureHash::Sha256: return HashAlgorithmId::Sha2_256;
    case SignatureHash::Sha384: return HashAlgorithmId::Sha2_384;
    case SignatureHash::Sha512: return HashAlgorithmId::Sha2_512;
  }
  return std::nullopt;
}

std::optional<AuthMethod> classic_ecdsa_method(KeyKind kind) {
  switch (kind) {
    case KeyKind::EcdsaP256: return AuthMethod::EcdsaSha256P256;
    case KeyKind::EcdsaP384: return AuthMethod::EcdsaSha384P384;
    case KeyKind::EcdsaP521: return AuthMethod::EcdsaSha512P521;
    default: return std::nullopt;
  }
}

std::size_t field_size(KeyKind kind) {
  switch (kind) {
    case KeyKind::EcdsaP256: return 32;
    case KeyKind::EcdsaP384: return 48;
    case KeyKind::EcdsaP521: return 66;
    default: return 0;
  }
}

Expected<Bytes, std::string> algorithm_identifier(int nid, bool ecdsa) {
  AlgorPtr algor(X509_ALGOR_new());
  if (!algor || X509_ALGOR_set0(algor.get(), OBJ_nid2obj(nid), ecdsa ? V_ASN1_UNDEF : V_ASN1_NULL, nullptr) != 1) {
    ERR_clear_error();
    return unexpected(std::string("cannot make an AlgorithmIdentifier"));
  }
  unsigned char* der = nullptr;
  const int size = i2d_X509_ALGOR(algor.get(), &der);
  if (size <= 0) {
    ERR_clear_error();
    return unexpected(std::string("cannot encode an AlgorithmIdentifier"));
  }
  Bytes out(reinterpret_cast<std::byte*>(der), reinterpret_cast<std::byte*>(der) + size);
  OPENSSL_free(der);
  return out;
}

// DER Ecdsa-Sig-Value <-> RFC 4754's r | s.
Expected<Bytes, std::string> der_to_raw(ByteSpan der, std::size_t field) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    ERR_clear_error();
    return unexpected(std::string("the ECDSA signature is not DER"));
  }
  Bytes raw(2 * field);
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, static_cast<int>(field)) < 0 || BN_bn2binpad(s, out + field, static_cast<int>(field)) < 0) {
    return unexpected(std::string("an ECDSA signature value is larger than the curve"));
  }
  return raw;
}

Expected<Bytes, std::string> raw_to_der(ByteSpan raw) {
  const std::size_t half = raw.size() / 2;
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(in, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(in + half, static_cast<int>(half), nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return unexpected(std::string("cannot hold an ECDSA signature"));
  }
  unsigned char* der = nullptr;
  const int size = i2d_ECDSA_SIG(sig.get(), &der);
  if (size <= 0) {
    ERR_clear_error();
    return unexpected(std::string("cannot encode an ECDSA signature"));
  }
  Bytes out(reinterpret_cast<std::byte*>(der), reinterpret_cast<std::byte*>(der) + size);
  OPENSSL_free(der);
  return out;
}

std::string key_text(KeyKind kind) { return std::string(auth::name(kind)); }

bool announced(std::span<const std::uint16_t> peer_hashes, SignatureHash hash) {
  const auto id = id_of(hash);
  return id && std::find(peer_hashes.begin(), peer_hashes.end(), static_cast<std::uint16_t>(*id)) != peer_hashes.end();
}

}  // namespace

Bytes signature_hash_algorithms_data() {
  Bytes out;
  for (const auto id : {HashAlgorithmId::Sha2_256, HashAlgorithmId::Sha2_384, HashAlgorithmId::Sha2_512}) {
    const auto v = static_cast<std::uint16_t>(id);
    out.push_back(std::byte(v >> 8));
    out.push_back(std::byte(v & 0xff));
  }
  return out;
}

std::vector<std::uint16_t> parse_signature_hash_algorithms(std::span<const std::byte> data) {
  std::vector<std::uint16_t> out;
  for (std::size_t i = 0; i + 1 < data.size(); i += 2) {
    out.push_back(static_cast<std::uint16_t>((std::to_integer<unsigned>(data[i]) << 8) | std::to_integer<unsigned>(data[i + 1])));
  }
  return out;
}

Expected<AuthPayload, std::string> build_signature_auth(const auth::CertificateCredentials& credentials,
                                                        std::span<const std::uint16_t> peer_hashes, ByteSpan octets) {
  const KeyKind kind = credentials.key_kind();
  if (kind == KeyKind::Unsupported) {
    return unexpected("this host's certificate (" + credentials.subject() + ") has a key IKEv2 cannot sign with (RSA or ECDSA P-256/384/521)");
  }
  const bool ecdsa = auth::is_ecdsa(kind);
  // RFC 7427 when the peer can check it: the key's own hash first (ECDSA), SHA-256 for RSA.
  std::vector<SignatureHash> wanted{auth::natural_hash(kind), SignatureHash::Sha256, SignatureHash::Sha384, SignatureHash::Sha512};
  for (const auto hash : wanted) {
    if (!announced(peer_hashes, hash)) continue;
    const auto scheme = std::find_if(std::begin(kSchemes), std::end(kSchemes),
                                     [&](const Scheme& s) { return s.ecdsa == ecdsa && s.hash == hash; });
    auto algorithm = algorithm_identifier(scheme->nid, ecdsa);
    if (!algorithm) return unexpected(algorithm.error());
    auto signature = credentials.sign_octets(hash, octets);
    if (!signature) return unexpected("AUTH (" + key_text(kind) + ", " + std::string(auth::name(hash)) + "): " + signature.error());
    Bytes data{std::byte(algorithm->size())};
    data.insert(data.end(), algorithm->begin(), algorithm->end());
    data.insert(data.end(), signature->begin(), signature->end());
    return AuthPayload{AuthMethod::DigitalSignature, std::move(data)};
  }
  if (!ecdsa) {
    auto signature = credentials.sign_octets(SignatureHash::Sha1, octets);
    if (!signature) return unexpected("AUTH (RSA, SHA-1): " + signature.error());
    return AuthPayload{AuthMethod::RsaSignature, std::move(*signature)};
  }
  auto signature = credentials.sign_octets(auth::natural_hash(kind), octets);
  if (!signature) return unexpected("AUTH (" + key_text(kind) + "): " + signature.error());
  auto raw = der_to_raw(*signature, field_size(kind));
  if (!raw) return unexpected("AUTH (" + key_text(kind) + "): " + raw.error());
  return AuthPayload{*classic_ecdsa_method(kind), std::move(*raw)};
}

Expected<SignatureAuthData, std::string> decode_signature_auth(const AuthPayload& auth) {
  SignatureAuthData out;
  switch (auth.method) {
    case AuthMethod::RsaSignature:
      out.hash = SignatureHash::Sha1;
      out.algorithm = "RSA PKCS#1 v1.5 SHA-1";
      out.signature = auth.data;
      return out;
    case AuthMethod::EcdsaSha256P256:
    case AuthMethod::EcdsaSha384P384:
    case AuthMethod::EcdsaSha512P521: {
      const KeyKind curve = auth.method == AuthMethod::EcdsaSha256P256   ? KeyKind::EcdsaP256
                            : auth.method == AuthMethod::EcdsaSha384P384 ? KeyKind::EcdsaP384
                                                                          : KeyKind::EcdsaP521;
      if (auth.data.size() != 2 * field_size(curve)) {
        return unexpected("the signature is " + std::to_string(auth.data.size()) + " octets, r | s on " + key_text(curve) + " is " +
                          std::to_string(2 * field_size(curve)));
      }
      auto der = raw_to_der(auth.data);
      if (!der) return unexpected(der.error());
      out.ecdsa = true;
      out.curve = curve;
      out.hash = auth::natural_hash(curve);
      out.algorithm = key_text(curve) + " " + std::string(auth::name(out.hash));
      out.signature = std::move(*der);
      return out;
    }
    case AuthMethod::DigitalSignature: {
      if (auth.data.empty()) return unexpected(std::string("no AlgorithmIdentifier"));
      const std::size_t length = std::to_integer<std::size_t>(auth.data[0]);
      if (length == 0 || auth.data.size() <= 1 + length) {
        return unexpected("the AlgorithmIdentifier's length " + std::to_string(length) + " leaves no signature in " +
                          std::to_string(auth.data.size()) + " octets");
      }
      const auto* p = reinterpret_cast<const unsigned char*>(auth.data.data() + 1);
      const auto* start = p;
      AlgorPtr algor(d2i_X509_ALGOR(nullptr, &p, static_cast<long>(length)));
      if (!algor || p != start + length) {
        ERR_clear_error();
        return unexpected(std::string("the AlgorithmIdentifier is not DER"));
      }
      const ASN1_OBJECT* oid = nullptr;
      X509_ALGOR_get0(&oid, nullptr, nullptr, algor.get());
      const int nid = OBJ_obj2nid(oid);
      const auto scheme = std::find_if(std::begin(kSchemes), std::end(kSchemes), [&](const Scheme& s) { return s.nid == nid; });
      if (scheme == std::end(kSchemes)) {
        char text[80] = {};
        OBJ_obj2txt(text, sizeof text, oid, 1);
        ERR_clear_error();
        return unexpected(std::string("signature algorithm ") + text + " is not one Ward checks (sha*WithRSAEncryption, ecdsa-with-SHA*)");
      }
      out.ecdsa = scheme->ecdsa;
      out.hash = scheme->hash;
      out.algorithm = OBJ_nid2ln(nid);
      out.signature.assign(auth.data.begin() + static_cast<std::ptrdiff_t>(1 + length), auth.data.end());
      return out;
    }
    default:
      return unexpected(std::string("not a signature method Ward checks (1 RSA, 9/10/11 ECDSA, 14 digital signature)"));
  }
}

Expected<void, std::string> check_signature_auth(const auth::PeerCertificate& peer, const AuthPayload& auth, ByteSpan octets,
                                                 const std::string& who) {
  const KeyKind kind = peer.key_kind();
  const auto method = static_cast<unsigned>(auth.method);
  auto refuse = [&](const std::string& why) -> Expected<void, std::string> {
    return unexpected("AUTH of " + who + " (method " + std::to_string(method) + ", certificate key " + key_text(kind) + "): " + why);
  };
  auto decoded = decode_signature_auth(auth);
  if (!decoded) return refuse(decoded.error());
  if (kind == KeyKind::Unsupported || decoded->ecdsa != auth::is_ecdsa(kind)) {
    return refuse(decoded->algorithm + " does not fit the certificate's key");
  }
  if (decoded->curve && *decoded->curve != kind) return refuse(decoded->algorithm + " names another curve than the certificate's key");
  if (!peer.verifies(decoded->hash, octets, decoded->signature)) {
    return refuse(decoded->algorithm + ": the signature does not verify with the certificate's key (an altered message or another key)");
  }
  return {};
}

std::string describe_signature_auth(const AuthPayload& auth) {
  auto decoded = decode_signature_auth(auth);
  if (!decoded) return "method " + std::to_string(static_cast<unsigned>(auth.method));
  return (auth.method == AuthMethod::DigitalSignature ? "digital signature (RFC 7427) " : "") + decoded->algorithm;
}

}  // namespace ward::ike::v2
