// RFC names for the protocol numbers in ike/constants.h. Exhaustive switches (-Wswitch under
// -Werror) keep the tables complete when an enumerator is added.
#include "ike/constants.h"

namespace ward::ike {

std::string_view name(ExchangeType value) noexcept {
  switch (value) {
    case ExchangeType::None: return "NONE";
    case ExchangeType::Base: return "Base";
    case ExchangeType::IdentityProtection: return "Identity Protection (Main Mode)";
    case ExchangeType::AuthenticationOnly: return "Authentication Only";
    case ExchangeType::Aggressive: return "Aggressive";
    case ExchangeType::Informational: return "Informational";
    case ExchangeType::QuickMode: return "Quick Mode";
    case ExchangeType::NewGroupMode: return "New Group Mode";
  }
  return "unknown exchange type";
}

std::string_view name(PayloadType value) noexcept {
  switch (value) {
    case PayloadType::None: return "NONE";
    case PayloadType::SecurityAssociation: return "SA";
    case PayloadType::Proposal: return "Proposal";
    case PayloadType::Transform: return "Transform";
    case PayloadType::KeyExchange: return "KE";
    case PayloadType::Identification: return "ID";
    case PayloadType::Certificate: return "CERT";
    case PayloadType::CertificateRequest: return "CR";
    case PayloadType::Hash: return "HASH";
    case PayloadType::Signature: return "SIG";
    case PayloadType::Nonce: return "NONCE";
    case PayloadType::Notification: return "N";
    case PayloadType::Delete: return "D";
    case PayloadType::VendorId: return "VID";
    case PayloadType::NatDiscovery: return "NAT-D";
    case PayloadType::NatOriginalAddress: return "NAT-OA";
    case PayloadType::Gss: return "GSS";
  }
  return "unknown payload type";
}

std::string_view name(ProtocolId value) noexcept {
  switch (value) {
    case ProtocolId::Reserved: return "RESERVED";
    case ProtocolId::Isakmp: return "PROTO_ISAKMP";
    case ProtocolId::IpsecAh: return "PROTO_IPSEC_AH";
    case ProtocolId::IpsecEsp: return "PROTO_IPSEC_ESP";
    case ProtocolId::Ipcomp: return "PROTO_IPCOMP";
  }
  return "unknown protocol";
}

std::string_view name(IdType value) noexcept {
  switch (value) {
    case IdType::Ipv4Addr: return "ID_IPV4_ADDR";
    case IdType::Fqdn: return "ID_FQDN";
    case IdType::UserFqdn: return "ID_USER_FQDN";
    case IdType::Ipv4AddrSubnet: return "ID_IPV4_ADDR_SUBNET";
    case IdType::Ipv6Addr: return "ID_IPV6_ADDR";
    case IdType::Ipv6AddrSubnet: return "ID_IPV6_ADDR_SUBNET";
    case IdType::Ipv4AddrRange: return "ID_IPV4_ADDR_RANGE";
    case IdType::Ipv6AddrRange: return "ID_IPV6_ADDR_RANGE";
    case IdType::DerAsn1Dn: return "ID_DER_ASN1_DN";
    case IdType::DerAsn1Gn: return "ID_DER_ASN1_GN";
    case IdType::KeyId: return "ID_KEY_ID";
  }
  return "unknown ID type";
}

std::string_view name(CertificateEncoding value) noexcept {
  switch (value) {
    case CertificateEncoding::None: return "NONE";
    case CertificateEncoding::Pkcs7WrappedX509: return "PKCS #7 wrapped X.509 certificate";
    case CertificateEncoding::PgpCertificate: return "PGP Certificate";
    case CertificateEncoding::DnsSignedKey: return "DNS Signed Key";
    case CertificateEncoding::X509Signature: return "X.509 Certificate - Signature";
    case CertificateEncoding::X509KeyExchange: return "X.509 Certificate - Key Exchange";
    case CertificateEncoding::KerberosTokens: return "Kerberos Tokens";
    case CertificateEncoding::CertificateRevocationList: return "Certificate Revocation List (CRL)";
    case CertificateEncoding::AuthorityRevocationList: return "Authority Revocation List (ARL)";
    case CertificateEncoding::SpkiCertificate: return "SPKI Certificate";
    case CertificateEncoding::X509Attribute: return "X.509 Certificate - Attribute";
  }
  return "unknown certificate encoding";
}

std::string_view name(NotifyMessageType value) noexcept {
  switch (value) {
    case NotifyMessageType::InvalidPayloadType: return "INVALID-PAYLOAD-TYPE";
    case NotifyMessageType::DoiNotSupported: return "DOI-NOT-SUPPORTED";
    case NotifyMessageType::SituationNotSupported: return "SITUATION-NOT-SUPPORTED";
    case NotifyMessageType::InvalidCookie: return "INVALID-COOKIE";
    case NotifyMessageType::InvalidMajorVersion: return "INVALID-MAJOR-VERSION";
    case NotifyMessageType::InvalidMinorVersion: return "INVALID-MINOR-VERSION";
    case NotifyMessageType::InvalidExchangeType: return "INVALID-EXCHANGE-TYPE";
    case NotifyMessageType::InvalidFlags: return "INVALID-FLAGS";
    case NotifyMessageType::InvalidMessageId: return "INVALID-MESSAGE-ID";
    case NotifyMessageType::InvalidProtocolId: return "INVALID-PROTOCOL-ID";
    case NotifyMessageType::InvalidSpi: return "INVALID-SPI";
    case NotifyMessageType::InvalidTransformId: return "INVALID-TRANSFORM-ID";
    case NotifyMessageType::AttributesNotSupported: return "ATTRIBUTES-NOT-SUPPORTED";
    case NotifyMessageType::NoProposalChosen: return "NO-PROPOSAL-CHOSEN";
    case NotifyMessageType::BadProposalSyntax: return "BAD-PROPOSAL-SYNTAX";
    case NotifyMessageType::PayloadMalformed: return "PAYLOAD-MALFORMED";
    case NotifyMessageType::InvalidKeyInformation: return "INVALID-KEY-INFORMATION";
    case NotifyMessageType::InvalidIdInformation: return "INVALID-ID-INFORMATION";
    case NotifyMessageType::InvalidCertEncoding: return "INVALID-CERT-ENCODING";
    case NotifyMessageType::InvalidCertificate: return "INVALID-CERTIFICATE";
    case NotifyMessageType::CertTypeUnsupported: return "CERT-TYPE-UNSUPPORTED";
    case NotifyMessageType::InvalidCertAuthority: return "INVALID-CERT-AUTHORITY";
    case NotifyMessageType::InvalidHashInformation: return "INVALID-HASH-INFORMATION";
    case NotifyMessageType::AuthenticationFailed: return "AUTHENTICATION-FAILED";
    case NotifyMessageType::InvalidSignature: return "INVALID-SIGNATURE";
    case NotifyMessageType::AddressNotification: return "ADDRESS-NOTIFICATION";
    case NotifyMessageType::NotifySaLifetime: return "NOTIFY-SA-LIFETIME";
    case NotifyMessageType::CertificateUnavailable: return "CERTIFICATE-UNAVAILABLE";
    case NotifyMessageType::UnsupportedExchangeType: return "UNSUPPORTED-EXCHANGE-TYPE";
    case NotifyMessageType::UnequalPayloadLengths: return "UNEQUAL-PAYLOAD-LENGTHS";
    case NotifyMessageType::Connected: return "CONNECTED";
    case NotifyMessageType::ResponderLifetime: return "RESPONDER-LIFETIME";
    case NotifyMessageType::ReplayStatus: return "REPLAY-STATUS";
    case NotifyMessageType::InitialContact: return "INITIAL-CONTACT";
    case NotifyMessageType::RUThere: return "R-U-THERE";
    case NotifyMessageType::RUThereAck: return "R-U-THERE-ACK";
  }
  return "unknown notify message type";
}

bool is_known_payload_type(std::uint8_t value) noexcept {
  return (value >= static_cast<std::uint8_t>(PayloadType::SecurityAssociation) &&
          value <= static_cast<std::uint8_t>(PayloadType::VendorId)) ||
         value == static_cast<std::uint8_t>(PayloadType::NatDiscovery) ||
         value == static_cast<std::uint8_t>(PayloadType::NatOriginalAddress) ||
         value == static_cast<std::uint8_t>(PayloadType::Gss);
}

}  // namespace ward::ike
