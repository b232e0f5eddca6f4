// IKEv2 protocol numbers (RFC 7296 3, IANA "Internet Key Exchange Version 2 (IKEv2) Parameters",
// RFC 5282 for AES-GCM, RFC 4868 for HMAC-SHA2, RFC 7383 for fragmentation). Each enumerator
// carries the RFC's name; name(...) prints it. IKEv1's numbers stay in ike/constants.h: the two
// versions share DH group numbers (IkeGroupDescription) and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ike/constants.h"

namespace ward::ike::v2 {

inline constexpr std::size_t kSpiSize = 8;                  // IKE SA Initiator's / Responder's SPI
inline constexpr std::size_t kHeaderSize = 28;              // RFC 7296 3.1
inline constexpr std::size_t kGenericPayloadHeaderSize = 4;
inline constexpr std::uint8_t kVersion = 0x20;              // MjVer 2, MnVer 0
inline constexpr std::uint8_t kCriticalBit = 0x80;          // RFC 7296 3.2
inline constexpr std::size_t kMinNonceSize = 16;            // RFC 7296 3.9
inline constexpr std::size_t kMaxNonceSize = 256;
inline constexpr std::size_t kNonceSize = 32;               // what Ward sends
inline constexpr std::uint16_t kKeyLengthAttribute = 14;    // Key Length, TV format (RFC 7296 3.3.5)
inline constexpr std::uint16_t kAttributeFormatTv = 0x8000;
inline constexpr std::string_view kKeyPadForIkev2 = "Key Pad for IKEv2";   // RFC 7296 2.15

enum class ExchangeType : std::uint8_t {
  IkeSaInit = 34,       // IKE_SA_INIT
  IkeAuth = 35,         // IKE_AUTH
  CreateChildSa = 36,   // CREATE_CHILD_SA
  Informational = 37,   // INFORMATIONAL
};

enum class HeaderFlag : std::uint8_t {
  Initiator = 0x08,   // I(nitiator)
  Version = 0x10,     // V(ersion)
  Response = 0x20,    // R(esponse)
};

enum class PayloadType : std::uint8_t {
  None = 0,                  // No Next Payload
  SecurityAssociation = 33,  // SA
  KeyExchange = 34,          // KE
  IdInitiator = 35,          // IDi
  IdResponder = 36,          // IDr
  Certificate = 37,          // CERT
  CertificateRequest = 38,   // CERTREQ
  Authentication = 39,       // AUTH
  Nonce = 40,                // Ni, Nr
  Notify = 41,               // N
  Delete = 42,               // D
  VendorId = 43,             // V
  TsInitiator = 44,          // TSi
  TsResponder = 45,          // TSr
  Encrypted = 46,            // SK
  Configuration = 47,        // CP
  Eap = 48,                  // EAP
  EncryptedFragment = 53,    // SKF, RFC 7383
};

enum class ProtocolId : std::uint8_t {
  Ike = 1,   // IKE
  Ah = 2,    // AH
  Esp = 3,   // ESP
};

enum class TransformType : std::uint8_t {
  Encryption = 1,   // ENCR
  Prf = 2,          // PRF
  Integrity = 3,    // INTEG
  DiffieHellman = 4,  // D-H
  Esn = 5,          // ESN
};

enum class EncryptionId : std::uint16_t {
  AesCbc = 12,       // ENCR_AES_CBC (RFC 3602)
  AesGcm16 = 20,     // ENCR_AES_GCM_16 (RFC 5282)
};

enum class PrfId : std::uint16_t {
  HmacSha1 = 2,       // PRF_HMAC_SHA1
  HmacSha2_256 = 5,   // PRF_HMAC_SHA2_256
  HmacSha2_384 = 6,   // PRF_HMAC_SHA2_384
};

enum class IntegrityId : std::uint16_t {
  None = 0,               // NONE (with an AEAD cipher)
  HmacSha1_96 = 2,        // AUTH_HMAC_SHA1_96
  HmacSha2_256_128 = 12,  // AUTH_HMAC_SHA2_256_128
  HmacSha2_384_192 = 13,  // AUTH_HMAC_SHA2_384_192
};

enum class EsnId : std::uint16_t {
  NoEsn = 0,   // No Extended Sequence Numbers
  Esn = 1,     // Extended Sequence Numbers
};

enum class IdType : std::uint8_t {
  Ipv4Address = 1,   // ID_IPV4_ADDR
  Fqdn = 2,          // ID_FQDN
  Rfc822Address = 3, // ID_RFC822_ADDR
  Ipv6Address = 5,   // ID_IPV6_ADDR
  DerAsn1Dn = 9,     // ID_DER_ASN1_DN
  DerAsn1Gn = 10,    // ID_DER_ASN1_GN
  KeyId = 11,        // ID_KEY_ID
};

enum class AuthMethod : std::uint8_t {
  RsaSignature = 1,          // RSA Digital Signature
  SharedKeyMic = 2,          // Shared Key Message Integrity Code
  DssSignature = 3,          // DSS Digital Signature
  EcdsaSha256P256 = 9,       // ECDSA with SHA-256 on the P-256 curve (RFC 4754)
  EcdsaSha384P384 = 10,      // ECDSA with SHA-384 on the P-384 curve
  EcdsaSha512P521 = 11,      // ECDSA with SHA-512 on the P-521 curve
  DigitalSignature = 14,     // Digital Signature (RFC 7427)
};

enum class TsType : std::uint8_t {
  Ipv4AddressRange = 7,   // TS_IPV4_ADDR_RANGE
  Ipv6AddressRange = 8,   // TS_IPV6_ADDR_RANGE
};

// Notify Message Types: errors below 16384, status types from 16384 (RFC 7296 3.10.1). A peer may
// send any value; unknown status types are ignored, unknown errors in a response fail it.
enum class NotifyType : std::uint16_t {
  UnsupportedCriticalPayload = 1,   // UNSUPPORTED_CRITICAL_PAYLOAD
  InvalidIkeSpi = 4,                // INVALID_IKE_SPI
  InvalidMajorVersion = 5,          // INVALID_MAJOR_VERSION
  InvalidSyntax = 7,                // INVALID_SYNTAX
  InvalidMessageId = 9,             // INVALID_MESSAGE_ID
  InvalidSpi = 11,                  // INVALID_SPI
  NoProposalChosen = 14,            // NO_PROPOSAL_CHOSEN
  InvalidKePayload = 17,            // INVALID_KE_PAYLOAD
  AuthenticationFailed = 24,        // AUTHENTICATION_FAILED
  SinglePairRequired = 34,          // SINGLE_PAIR_REQUIRED
  NoAdditionalSas = 35,             // NO_ADDITIONAL_SAS
  InternalAddressFailure = 36,      // INTERNAL_ADDRESS_FAILURE
  FailedCpRequired = 37,            // FAILED_CP_REQUIRED
  TsUnacceptable = 38,              // TS_UNACCEPTABLE
  InvalidSelectors = 39,            // INVALID_SELECTORS
  TemporaryFailure = 43,            // TEMPORARY_FAILURE
  ChildSaNotFound = 44,             // CHILD_SA_NOT_FOUND
  InitialContact = 16384,           // INITIAL_CONTACT
  SetWindowSize = 16385,            // SET_WINDOW_SIZE
  AdditionalTsPossible = 16386,     // ADDITIONAL_TS_POSSIBLE
  IpcompSupported = 16387,          // IPCOMP_SUPPORTED
  NatDetectionSourceIp = 16388,     // NAT_DETECTION_SOURCE_IP
  NatDetectionDestinationIp = 16389,  // NAT_DETECTION_DESTINATION_IP
  Cookie = 16390,                   // COOKIE
  UseTransportMode = 16391,         // USE_TRANSPORT_MODE
  HttpCertLookupSupported = 16392,  // HTTP_CERT_LOOKUP_SUPPORTED
  RekeySa = 16393,                  // REKEY_SA
  EspTfcPaddingNotSupported = 16394,  // ESP_TFC_PADDING_NOT_SUPPORTED
  NonFirstFragmentsAlso = 16395,    // NON_FIRST_FRAGMENTS_ALSO
  MobikeSupported = 16396,          // MOBIKE_SUPPORTED
  Ikev2FragmentationSupported = 16430,  // IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383)
  SignatureHashAlgorithms = 16431,  // SIGNATURE_HASH_ALGORITHMS (RFC 7427)
};
inline constexpr std::uint16_t kFirstStatusNotify = 16384;

std::string_view name(ExchangeType value) noexcept;
std::string_view name(PayloadType value) noexcept;   // "SA", "KE", …; "unknown" otherwise
std::string_view name(NotifyType value) noexcept;    // "NO_PROPOSAL_CHOSEN", …; "unknown" otherwise
std::string_view name(TransformType value) noexcept;

}  // namespace ward::ike::v2
