#include "ike/auth/certificate_identity.h"

#include <openssl/err.h>

#include <array>

#include "common/ip.h"
#include "ike/auth/x509_util.h"

namespace ward::ike::auth {
namespace {

constexpr std::size_t kIdHeaderSize = 4;   // ID type, protocol, port

std::vector<std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), reinterpret_cast<const std::byte*>(text.data()) + text.size()};
}

// The certificate's subjectAltName dNSName entries, in order.
std::vector<std::string> dns_names(X509* cert) {
  std::vector<std::string> out;
  x509::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_DNS) continue;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.ia5)), ASN1_STRING_length(name->d.ia5));
  }
  return out;
}

std::string address_text(std::span<const unsigned char> raw) {
  if (raw.size() == 4) {
    return IpAddress::v4((std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) | (std::uint32_t{raw[2]} << 8) | raw[3])
        .to_string();
  }
  std::array<std::uint8_t, 16> v6{};
  std::copy(raw.begin(), raw.end(), v6.begin());
  return IpAddress::v6(v6).to_string();
}

}  // namespace

std::string_view name(CertificateIdentity identity) noexcept {
  switch (identity) {
    case CertificateIdentity::Address: return "address";
    case CertificateIdentity::DistinguishedName: return "dn";
    case CertificateIdentity::Fqdn: return "fqdn";
  }
  return "?";
}

std::optional<CertificateIdentity> parse_certificate_identity(std::string_view text) noexcept {
  for (const auto identity : {CertificateIdentity::Address, CertificateIdentity::DistinguishedName, CertificateIdentity::Fqdn}) {
    if (text == name(identity)) return identity;
  }
  return std::nullopt;
}

Expected<std::optional<Identification>, std::string> own_identification(X509* cert, const IdentitySettings& settings) {
  Identification id;
  switch (settings.type) {
    case CertificateIdentity::Address:
      return std::optional<Identification>{};
    case CertificateIdentity::DistinguishedName: {
      id.type = IdType::DerAsn1Dn;
      id.data = x509::der_of(X509_get_subject_name(cert));
      if (X509_NAME_entry_count(X509_get_subject_name(cert)) == 0 || id.data.empty()) {
        return unexpected("identity dn: certificate " + x509::subject_of(cert) + " has an empty subject (use identity = fqdn or address)");
      }
      return std::optional<Identification>{std::move(id)};
    }
    case CertificateIdentity::Fqdn: {
      const auto names = dns_names(cert);
      std::string chosen = settings.fqdn;
      if (chosen.empty()) {
        if (names.empty()) {
          return unexpected("identity fqdn: certificate " + x509::subject_of(cert) + " has no subjectAltName DNS name (" +
                            x509::alt_names_text(cert) + ")");
        }
        chosen = names.front();
      } else if (X509_check_host(cert, chosen.data(), chosen.size(),
                                 X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS, nullptr) != 1) {
        ERR_clear_error();
        return unexpected("identity fqdn: \"" + chosen + "\" is not a subjectAltName DNS name of certificate " +
                          x509::subject_of(cert) + " (it has " + x509::alt_names_text(cert) + ")");
      }
      id.type = IdType::Fqdn;
      id.data = bytes_of(chosen);
      return std::optional<Identification>{std::move(id)};
    }
  }
  return unexpected(std::string("identity: unknown kind"));
}

Expected<void, IkeError> check_peer_identity(X509* cert, std::span<const std::byte> id_b, const std::string& who) {
  const auto invalid_id = [](const std::string& detail) {
    return unexpected(refusal(NotifyMessageType::InvalidIdInformation, detail));
  };
  if (id_b.size() <= kIdHeaderSize) {
    return invalid_id("the ID payload of " + who + " is " + std::to_string(id_b.size()) + " bytes, too short");
  }
  const auto type = static_cast<IdType>(std::to_integer<std::uint8_t>(id_b[0]));
  const auto data = id_b.subspan(kIdHeaderSize);
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const std::string type_name(ike::name(type));
  switch (type) {
    case IdType::Ipv4Addr:
    case IdType::Ipv6Addr: {
      const std::size_t want = type == IdType::Ipv4Addr ? 4 : 16;
      if (data.size() != want) {
        return invalid_id("the " + type_name + " ID of " + who + " has " + std::to_string(data.size()) + " bytes");
      }
      if (X509_check_ip(cert, bytes, want, 0) == 1) return {};
      return invalid_id("ID " + type_name + " " + address_text({bytes, want}) +
                        " does not match the certificate of " + who + " (" + x509::alt_names_text(cert) + ")");
    }
    case IdType::Fqdn:
    case IdType::UserFqdn: {
      const std::string text(reinterpret_cast<const char*>(bytes), data.size());
      const bool matches =
          type == IdType::Fqdn
              ? X509_check_host(cert, text.data(), text.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS,
                                nullptr) == 1
              : X509_check_email(cert, text.data(), text.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT) == 1;
      ERR_clear_error();
      if (matches) return {};
      return invalid_id("ID " + type_name + " \"" + text + "\" does not match the certificate of " + who +
                        " (" + x509::alt_names_text(cert) + ")");
    }
    case IdType::DerAsn1Dn: {
      const auto* p = bytes;
      x509::NamePtr dn(d2i_X509_NAME(nullptr, &p, static_cast<long>(data.size())));
      if (!dn || p != bytes + data.size()) {
        ERR_clear_error();
        return invalid_id("the ID_DER_ASN1_DN of " + who + " is not a DER name");
      }
      if (X509_NAME_cmp(dn.get(), X509_get_subject_name(cert)) == 0) return {};
      return invalid_id("ID ID_DER_ASN1_DN \"" + x509::name_text(dn.get()) +
                        "\" does not match the certificate of " + who + " (its subject is \"" + x509::subject_of(cert) + "\")");
    }
    default:
      return invalid_id(who + " identifies with " + type_name +
                        ", which a certificate cannot bind (IP address, FQDN, user FQDN or DN expected)");
  }
}

}  // namespace ward::ike::auth
