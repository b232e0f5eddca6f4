// libFuzzer target over the peer-ID check (certificate_identity.h): the input is a peer's ID
// payload body (type, protocol, port, data), checked against a certificate made once in memory
// (subject O=Ward, CN=fuzz.ward.test; subjectAltName DNS:fuzz.ward.test, IP:10.0.0.1,
// email:admin@ward.test). Any input must give an answer, never a crash; an accepted ID must be one
// the certificate carries, and an accepted ID_DER_ASN1_DN must be its subject. Seeds: one ID of
// each type a certificate can bind (ike/auth/fuzz_corpus).
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <span>

#include "ike/auth/certificate_identity.h"
#include "ike/auth/x509_util.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

using ward::ike::auth::x509::X509Ptr;

X509Ptr make_certificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509Ptr cert(X509_new());
  if (key == nullptr || !cert) std::abort();
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Ward"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("fuzz.ward.test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                            "DNS:fuzz.ward.test, IP:10.0.0.1, email:admin@ward.test");
  if (san == nullptr || X509_add_ext(cert.get(), san, -1) != 1) std::abort();
  X509_EXTENSION_free(san);
  X509_set_pubkey(cert.get(), key);
  X509_sign(cert.get(), key, EVP_sha256());
  EVP_PKEY_free(key);
  return cert;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const X509Ptr cert = make_certificate();
  const auto input = std::as_bytes(std::span<const std::uint8_t>(data, size));
  const auto checked = ward::ike::auth::check_peer_identity(cert.get(), input, "the fuzzer");
  if (!checked) {
    // Every refusal tells the peer INVALID-ID-INFORMATION, and says so first.
    if (checked.error().notify != ward::ike::NotifyMessageType::InvalidIdInformation ||
        checked.error().text.rfind("INVALID-ID-INFORMATION: ", 0) != 0) {
      std::abort();
    }
    return 0;
  }
  if (size < 5) std::abort();
  const auto type = static_cast<ward::ike::IdType>(data[0]);
  switch (type) {
    case ward::ike::IdType::DerAsn1Dn: {
      const unsigned char* p = data + 4;
      X509_NAME* dn = d2i_X509_NAME(nullptr, &p, static_cast<long>(size - 4));
      if (dn == nullptr || X509_NAME_cmp(dn, X509_get_subject_name(cert.get())) != 0) std::abort();
      X509_NAME_free(dn);
      break;
    }
    case ward::ike::IdType::Ipv4Addr:
    case ward::ike::IdType::Ipv6Addr:
    case ward::ike::IdType::Fqdn:
    case ward::ike::IdType::UserFqdn:
      break;
    default:
      std::abort();   // no other type binds a certificate
  }
  return 0;
}
