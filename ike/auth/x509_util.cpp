#include "ike/auth/x509_util.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <array>
#include <ctime>

#include "common/ip.h"

namespace ward::ike::auth::x509 {
namespace {

struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

}  // namespace

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
std::string issuer_of(const X509* cert) { return name_text(X509_get_issuer_name(cert)); }


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

}  // namespace ward::ike::auth::x509
