// OpenSSL handles as unique_ptr with the library's free functions, and the texts certificate
// errors are written with; shared by the certificate provider, the identity check and the chain
// check (ike/auth only: nothing outside includes OpenSSL through it).
#pragma once

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ward::ike::auth::x509 {

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct CrlDeleter {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
struct NameDeleter {
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};

using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlDeleter>;
using NamePtr = std::unique_ptr<X509_NAME, NameDeleter>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;

// The last OpenSSL error as text (the queue is cleared).
std::string openssl_error();
// RFC 2253 text, "CN=a.ward.test,O=Ward".
std::string name_text(const X509_NAME* name);
std::string subject_of(const X509* cert);
std::string issuer_of(const X509* cert);
// "2020-01-02 00:00:00 UTC"
std::string time_text(const ASN1_TIME* time);
std::vector<std::byte> der_of(const X509_NAME* name);
std::vector<std::byte> der_of(X509* cert);
// The subjectAltName entries, as "subjectAltName IP:10.0.0.2, DNS:b.example" for error messages.
std::string alt_names_text(X509* cert);

}  // namespace ward::ike::auth::x509
