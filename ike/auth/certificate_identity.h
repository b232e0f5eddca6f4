// Identities with certificates in IKEv1 main mode (RFC 2407 4.6.2, RFC 4945 3):
//  - what this host sends in IDii / IDir: its address (ID_IPV4_ADDR / ID_IPV6_ADDR), the subject of
//    its certificate (ID_DER_ASN1_DN, what Windows sends with a certificate: the default), or a DNS
//    name of its certificate's subjectAltName (ID_FQDN);
//  - whether the ID a peer sent names the certificate it sent: ID_DER_ASN1_DN must equal the
//    subject (X509_NAME_cmp: the canonical encodings, RFC 5280 7.1 name matching), ID_FQDN a
//    subjectAltName dNSName, ID_USER_FQDN an rfc822Name, an address ID a subjectAltName iPAddress.
// A mismatch is INVALID-ID-INFORMATION (RFC 2408 5.5) naming the ID and what the certificate holds.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "common/expected.h"
#include "ike/message/ike_error.h"
#include "ike/payload/identification.h"

namespace ward::ike::auth {

enum class CertificateIdentity : std::uint8_t { Address, DistinguishedName, Fqdn };

// "address", "dn", "fqdn": the words of [certificates] identity in ward.conf.
std::string_view name(CertificateIdentity identity) noexcept;
std::optional<CertificateIdentity> parse_certificate_identity(std::string_view text) noexcept;

struct IdentitySettings {
  CertificateIdentity type = CertificateIdentity::DistinguishedName;
  std::string fqdn;   // Fqdn: the name to send (must be a dNSName of the certificate); empty: its first
};

// The ID payload (type and data; main mode sets protocol and port) this host sends with `cert`;
// nothing for Address (main mode sends the local address). The error says why the certificate
// cannot carry that identity (no dNSName, or not the configured one).
Expected<std::optional<Identification>, std::string> own_identification(X509* cert, const IdentitySettings& settings);

// The peer's ID payload body (type, protocol, port, data) must name `cert`; `who` describes the
// peer in the error ("10.0.0.2 (CN=b,O=Ward)").
Expected<void, IkeError> check_peer_identity(X509* cert, std::span<const std::byte> id_b, const std::string& who);

}  // namespace ward::ike::auth
