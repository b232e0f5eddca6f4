// ISAKMP / IKEv1 protocol numbers, in one place (RFC 2408 ISAKMP, RFC 2407 IPsec DOI, RFC 2409
// IKE, RFC 3947 NAT-T, RFC 3706 DPD). Every enumerator carries the RFC's own name in a comment and
// `name(...)` prints that name, so logs and errors read like the RFCs. Ward code never uses a bare
// protocol number: add it here, typed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ward::ike {

// ---- message header (RFC 2408 3.1) ---------------------------------------------------------------

inline constexpr std::size_t kCookieSize = 8;                 // Initiator / Responder Cookie
inline constexpr std::size_t kIsakmpHeaderSize = 28;          // RFC 2408 3.1
inline constexpr std::size_t kGenericPayloadHeaderSize = 4;   // RFC 2408 3.2
inline constexpr std::size_t kMaxPayloadLength = 0xffff;      // 16-bit Payload Length
inline constexpr std::uint8_t kIsakmpMajorVersion = 1;        // MjVer, RFC 2408 3.1
inline constexpr std::uint8_t kIsakmpMinorVersion = 0;        // MnVer, RFC 2408 3.1

// Flags octet (RFC 2408 3.1).
enum class HeaderFlag : std::uint8_t {
  Encryption = 0x01,      // E(ncryption Bit)
  Commit = 0x02,          // C(ommit Bit)
  AuthenticationOnly = 0x04,  // A(uthentication Only Bit)
};
inline constexpr std::uint8_t kHeaderFlagsDefined = 0x07;     // bits 3..7 are reserved, MUST be 0

// Exchange types (RFC 2408 3.1 / IANA "ISAKMP Exchange Types", RFC 2409 for 32..33).
enum class ExchangeType : std::uint8_t {
  None = 0,                  // NONE
  Base = 1,                  // Base
  IdentityProtection = 2,    // Identity Protection (IKE Main Mode)
  AuthenticationOnly = 3,    // Authentication Only
  Aggressive = 4,            // Aggressive
  Informational = 5,         // Informational
  QuickMode = 32,            // IKE Quick Mode, RFC 2409 5.5
  NewGroupMode = 33,         // IKE New Group Mode, RFC 2409 5.6
};

// Next Payload types (RFC 2408 3.1, RFC 3947 3.1/5.2 for 20/21).
enum class PayloadType : std::uint8_t {
  None = 0,                  // NONE
  SecurityAssociation = 1,   // Security Association (SA)
  Proposal = 2,              // Proposal (P)
  Transform = 3,             // Transform (T)
  KeyExchange = 4,           // Key Exchange (KE)
  Identification = 5,        // Identification (ID)
  Certificate = 6,           // Certificate (CERT)
  CertificateRequest = 7,    // Certificate Request (CR)
  Hash = 8,                  // Hash (HASH)
  Signature = 9,             // Signature (SIG)
  Nonce = 10,                // Nonce (NONCE)
  Notification = 11,         // Notification (N)
  Delete = 12,               // Delete (D)
  VendorId = 13,             // Vendor ID (VID)
  NatDiscovery = 20,         // NAT-D, RFC 3947 3.2
  NatOriginalAddress = 21,   // NAT-OA, RFC 3947 5.2
  Gss = 129,                 // GSS-API token, private use (draft-ietf-ipsec-isakmp-gss-auth-07
                             // 3.3; MS-AIPS 2.2.3.1 "GSS-API Payload (Payload Type 0x81)")
};
inline constexpr std::size_t kPayloadTypeCount = 22;  // one past the largest RFC type Ward knows

// Dense slots for per-type tables (counts in the message rules): the RFC types 0..21 keep their
// number, the private-use GSS type takes the slot after them.
inline constexpr std::size_t kPayloadSlotCount = kPayloadTypeCount + 1;
constexpr std::size_t payload_slot(PayloadType type) noexcept {
  return type == PayloadType::Gss ? kPayloadTypeCount : static_cast<std::size_t>(type);
}
constexpr PayloadType payload_at_slot(std::size_t slot) noexcept {
  return slot == kPayloadTypeCount ? PayloadType::Gss : static_cast<PayloadType>(slot);
}

// Domain of Interpretation (RFC 2408 3.4, RFC 2407 4.2).
enum class Doi : std::uint32_t {
  Isakmp = 0,   // ISAKMP (generic), RFC 2408 3.4
  Ipsec = 1,    // IPSEC_DOI, RFC 2407 4.2
};

// IPsec DOI Situation bitmask (RFC 2407 4.2).
inline constexpr std::uint32_t kSitIdentityOnly = 0x01;  // SIT_IDENTITY_ONLY
inline constexpr std::uint32_t kSitSecrecy = 0x02;       // SIT_SECRECY
inline constexpr std::uint32_t kSitIntegrity = 0x04;     // SIT_INTEGRITY

// Protocol identifiers (RFC 2407 4.4.1).
enum class ProtocolId : std::uint8_t {
  Reserved = 0,        // RESERVED (also "no protocol" in Notification/ID payloads)
  Isakmp = 1,          // PROTO_ISAKMP
  IpsecAh = 2,         // PROTO_IPSEC_AH
  IpsecEsp = 3,        // PROTO_IPSEC_ESP
  Ipcomp = 4,          // PROTO_IPCOMP
};

// SPI sizes (RFC 2408 2.4 / 3.4, RFC 2407 4.4.1).
inline constexpr std::size_t kIpsecSpiSize = 4;          // AH / ESP SPI
inline constexpr std::size_t kIsakmpSpiSize = 16;        // ISAKMP SA: the cookie pair
inline constexpr std::size_t kIpcompCpiSize = 2;         // IPCOMP CPI (may also travel as 4)

// ISAKMP transform identifiers (RFC 2407 4.4.2).
enum class IsakmpTransformId : std::uint8_t {
  KeyIke = 1,   // KEY_IKE
};

// IPsec AH transform identifiers (RFC 2407 4.4.3, IANA).
enum class AhTransformId : std::uint8_t {
  Md5 = 2,       // AH_MD5
  Sha = 3,       // AH_SHA
  Des = 4,       // AH_DES
  Sha2_256 = 5,  // AH_SHA2-256
  Sha2_384 = 6,  // AH_SHA2-384
  Sha2_512 = 7,  // AH_SHA2-512
};

// IPsec ESP transform identifiers (RFC 2407 4.4.4, IANA).
enum class EspTransformId : std::uint8_t {
  DesIv64 = 1,     // ESP_DES_IV64
  Des = 2,         // ESP_DES
  TripleDes = 3,   // ESP_3DES
  Null = 11,       // ESP_NULL
  Aes = 12,        // ESP_AES (AES-CBC, RFC 3602)
  AesCtr = 13,     // ESP_AES-CTR
  AesGcm8 = 18,    // ESP_AES-GCM 8-octet ICV (RFC 4106)
  AesGcm12 = 19,   // ESP_AES-GCM 12-octet ICV
  AesGcm16 = 20,   // ESP_AES-GCM 16-octet ICV
};

// ---- data attributes ---------------------------------------------------------------------------

// Attribute Format bit (RFC 2408 3.3): 1 = TV (basic, 2-byte value), 0 = TLV (variable).
inline constexpr std::uint16_t kAttributeFormatTv = 0x8000;
inline constexpr std::uint16_t kAttributeTypeMask = 0x7fff;
inline constexpr std::size_t kDataAttributeHeaderSize = 4;

// Phase 1 attribute classes (RFC 2409 appendix A). B = basic, V = variable.
enum class IkeAttribute : std::uint16_t {
  EncryptionAlgorithm = 1,   // Encryption Algorithm (B)
  HashAlgorithm = 2,         // Hash Algorithm (B)
  AuthenticationMethod = 3,  // Authentication Method (B)
  GroupDescription = 4,      // Group Description (B)
  GroupType = 5,             // Group Type (B)
  GroupPrime = 6,            // Group Prime/Irreducible Polynomial (V)
  GroupGeneratorOne = 7,     // Group Generator One (V)
  GroupGeneratorTwo = 8,     // Group Generator Two (V)
  GroupCurveA = 9,           // Group Curve A (V)
  GroupCurveB = 10,          // Group Curve B (V)
  LifeType = 11,             // Life Type (B)
  LifeDuration = 12,         // Life Duration (V)
  Prf = 13,                  // PRF (B)
  KeyLength = 14,            // Key Length (B)
  FieldSize = 15,            // Field Size (B)
  GroupOrder = 16,           // Group Order (V)
  // GSS identity name (V), draft-ietf-ipsec-isakmp-gss-auth-07 3.3.2 (racoon sends it); Windows
  // 2000 was seen sending 32001. Ward takes the peer's principal from the resolver, not from here.
  GssId = 16384,
  GssIdWindows2000 = 32001,
};

// Encryption Algorithm values (RFC 2409 appendix A, IANA).
enum class IkeEncryptionAlgorithm : std::uint16_t {
  DesCbc = 1,        // DES-CBC
  IdeaCbc = 2,       // IDEA-CBC
  BlowfishCbc = 3,   // Blowfish-CBC
  Rc5R16B64Cbc = 4,  // RC5-R16-B64-CBC
  TripleDesCbc = 5,  // 3DES-CBC
  CastCbc = 6,       // CAST-CBC
  AesCbc = 7,        // AES-CBC (RFC 3602)
};

// Hash Algorithm values (RFC 2409 appendix A, IANA / RFC 4868).
enum class IkeHashAlgorithm : std::uint16_t {
  Md5 = 1,       // MD5
  Sha = 2,       // SHA
  Tiger = 3,     // Tiger
  Sha2_256 = 4,  // SHA2-256
  Sha2_384 = 5,  // SHA2-384
  Sha2_512 = 6,  // SHA2-512
};

// Authentication Method values (RFC 2409 appendix A; 65001 is Microsoft's Kerberos, MS-IKEE).
enum class IkeAuthenticationMethod : std::uint16_t {
  PreSharedKey = 1,          // pre-shared key
  DssSignatures = 2,         // DSS signatures
  RsaSignatures = 3,         // RSA signatures
  RsaEncryption = 4,         // Encryption with RSA
  RevisedRsaEncryption = 5,  // Revised encryption with RSA
  EcdsaSha256 = 9,           // ECDSA with SHA-256 on the P-256 curve (RFC 4754)
  EcdsaSha384 = 10,          // ECDSA with SHA-384 on the P-384 curve (RFC 4754)
  Kerberos = 65001,          // GSS-API Kerberos (Microsoft private use, MS-IKEE)
};

// Group Description values (RFC 2409 appendix A, RFC 3526, RFC 5903).
enum class IkeGroupDescription : std::uint16_t {
  Modp768 = 1,    // default 768-bit MODP group
  Modp1024 = 2,   // alternate 1024-bit MODP group
  Ec2nGp155 = 3,  // EC2N group on GP[2^155]
  Ec2nGp185 = 4,  // EC2N group on GP[2^185]
  Modp1536 = 5,   // RFC 3526
  Modp2048 = 14,  // RFC 3526
  Modp3072 = 15,  // RFC 3526
  Modp4096 = 16,  // RFC 3526
  Ecp256 = 19,    // RFC 5903
  Ecp384 = 20,    // RFC 5903
};

// Life Type values (RFC 2409 appendix A; RFC 2407 4.5 uses the same numbers for SA Life Type).
enum class LifeType : std::uint16_t {
  Seconds = 1,    // seconds
  Kilobytes = 2,  // kilobytes
};

// Phase 2 (IPsec DOI) SA attributes (RFC 2407 4.5; ECN Tunnel from RFC 3168 9.2).
enum class IpsecAttribute : std::uint16_t {
  SaLifeType = 1,               // SA Life Type (B)
  SaLifeDuration = 2,           // SA Life Duration (V)
  GroupDescription = 3,         // Group Description (B)
  EncapsulationMode = 4,        // Encapsulation Mode (B)
  AuthenticationAlgorithm = 5,  // Authentication Algorithm (B)
  KeyLength = 6,                // Key Length (B)
  KeyRounds = 7,                // Key Rounds (B)
  CompressDictionarySize = 8,   // Compress Dictionary Size (B)
  CompressPrivateAlgorithm = 9, // Compress Private Algorithm (V)
  EcnTunnel = 10,               // ECN Tunnel (B), RFC 3168
};

// Encapsulation Mode values (RFC 2407 4.5, RFC 3947 5.1; 61443/61444 are the NAT-T drafts').
enum class EncapsulationMode : std::uint16_t {
  Tunnel = 1,                    // Tunnel
  Transport = 2,                 // Transport
  UdpEncapsulatedTunnel = 3,     // UDP-Encapsulated-Tunnel (RFC 3947)
  UdpEncapsulatedTransport = 4,  // UDP-Encapsulated-Transport (RFC 3947)
  UdpEncapsulatedTunnelDraft = 61443,     // draft-ietf-ipsec-nat-t-ike-00..02
  UdpEncapsulatedTransportDraft = 61444,  // draft-ietf-ipsec-nat-t-ike-00..02
};

// Authentication Algorithm values (RFC 2407 4.5, RFC 4868).
enum class IpsecAuthenticationAlgorithm : std::uint16_t {
  HmacMd5 = 1,       // HMAC-MD5
  HmacSha = 2,       // HMAC-SHA
  DesMac = 3,        // DES-MAC
  Kpdk = 4,          // KPDK
  HmacSha2_256 = 5,  // HMAC-SHA2-256
  HmacSha2_384 = 6,  // HMAC-SHA2-384
  HmacSha2_512 = 7,  // HMAC-SHA2-512
};

// RFC 2409 4.5 / RFC 2407 4.5: the lifetime a peer assumes when none is proposed.
inline constexpr std::chrono::seconds kDefaultSaLifetime{28800};

// ---- identification (RFC 2407 4.6.2.1) -----------------------------------------------------------

enum class IdType : std::uint8_t {
  Ipv4Addr = 1,         // ID_IPV4_ADDR
  Fqdn = 2,             // ID_FQDN
  UserFqdn = 3,         // ID_USER_FQDN
  Ipv4AddrSubnet = 4,   // ID_IPV4_ADDR_SUBNET
  Ipv6Addr = 5,         // ID_IPV6_ADDR
  Ipv6AddrSubnet = 6,   // ID_IPV6_ADDR_SUBNET
  Ipv4AddrRange = 7,    // ID_IPV4_ADDR_RANGE
  Ipv6AddrRange = 8,    // ID_IPV6_ADDR_RANGE
  DerAsn1Dn = 9,        // ID_DER_ASN1_DN
  DerAsn1Gn = 10,       // ID_DER_ASN1_GN
  KeyId = 11,           // ID_KEY_ID
};

// ---- certificates (RFC 2408 3.9) ----------------------------------------------------------------

enum class CertificateEncoding : std::uint8_t {
  None = 0,                     // NONE
  Pkcs7WrappedX509 = 1,         // PKCS #7 wrapped X.509 certificate
  PgpCertificate = 2,           // PGP Certificate
  DnsSignedKey = 3,             // DNS Signed Key
  X509Signature = 4,            // X.509 Certificate - Signature
  X509KeyExchange = 5,          // X.509 Certificate - Key Exchange
  KerberosTokens = 6,           // Kerberos Tokens
  CertificateRevocationList = 7,  // Certificate Revocation List (CRL)
  AuthorityRevocationList = 8,  // Authority Revocation List (ARL)
  SpkiCertificate = 9,          // SPKI Certificate
  X509Attribute = 10,           // X.509 Certificate - Attribute
};

// ---- notifications (RFC 2408 3.14.1, RFC 2407 4.6.3, RFC 3706) -----------------------------------

enum class NotifyMessageType : std::uint16_t {
  // Error types, RFC 2408 3.14.1.
  InvalidPayloadType = 1,         // INVALID-PAYLOAD-TYPE
  DoiNotSupported = 2,            // DOI-NOT-SUPPORTED
  SituationNotSupported = 3,      // SITUATION-NOT-SUPPORTED
  InvalidCookie = 4,              // INVALID-COOKIE
  InvalidMajorVersion = 5,        // INVALID-MAJOR-VERSION
  InvalidMinorVersion = 6,        // INVALID-MINOR-VERSION
  InvalidExchangeType = 7,        // INVALID-EXCHANGE-TYPE
  InvalidFlags = 8,               // INVALID-FLAGS
  InvalidMessageId = 9,           // INVALID-MESSAGE-ID
  InvalidProtocolId = 10,         // INVALID-PROTOCOL-ID
  InvalidSpi = 11,                // INVALID-SPI
  InvalidTransformId = 12,        // INVALID-TRANSFORM-ID
  AttributesNotSupported = 13,    // ATTRIBUTES-NOT-SUPPORTED
  NoProposalChosen = 14,          // NO-PROPOSAL-CHOSEN
  BadProposalSyntax = 15,         // BAD-PROPOSAL-SYNTAX
  PayloadMalformed = 16,          // PAYLOAD-MALFORMED
  InvalidKeyInformation = 17,     // INVALID-KEY-INFORMATION
  InvalidIdInformation = 18,      // INVALID-ID-INFORMATION
  InvalidCertEncoding = 19,       // INVALID-CERT-ENCODING
  InvalidCertificate = 20,        // INVALID-CERTIFICATE
  CertTypeUnsupported = 21,       // CERT-TYPE-UNSUPPORTED
  InvalidCertAuthority = 22,      // INVALID-CERT-AUTHORITY
  InvalidHashInformation = 23,    // INVALID-HASH-INFORMATION
  AuthenticationFailed = 24,      // AUTHENTICATION-FAILED
  InvalidSignature = 25,          // INVALID-SIGNATURE
  AddressNotification = 26,       // ADDRESS-NOTIFICATION
  NotifySaLifetime = 27,          // NOTIFY-SA-LIFETIME
  CertificateUnavailable = 28,    // CERTIFICATE-UNAVAILABLE
  UnsupportedExchangeType = 29,   // UNSUPPORTED-EXCHANGE-TYPE
  UnequalPayloadLengths = 30,     // UNEQUAL-PAYLOAD-LENGTHS
  // Status types.
  Connected = 16384,              // CONNECTED, RFC 2408 3.14.1
  ResponderLifetime = 24576,      // RESPONDER-LIFETIME, RFC 2407 4.6.3.1
  ReplayStatus = 24577,           // REPLAY-STATUS, RFC 2407 4.6.3.2
  InitialContact = 24578,         // INITIAL-CONTACT, RFC 2407 4.6.3.3
  RUThere = 36136,                // R-U-THERE, RFC 3706 5
  RUThereAck = 36137,             // R-U-THERE-ACK, RFC 3706 5
};
// RFC 2408 3.14.1: 1..8191 are errors; 8192..16383 private errors; 16384.. status.
inline constexpr std::uint16_t kLastErrorNotifyType = 16383;

// ---- Dead Peer Detection (RFC 3706) -------------------------------------------------------------

inline constexpr std::size_t kDpdSequenceSize = 4;   // R-U-THERE data: a 32-bit sequence number

// ---- limits Ward enforces on what it parses ------------------------------------------------------

inline constexpr std::size_t kMaxPayloadsPerMessage = 32;   // more is hostile for main/quick mode
inline constexpr std::size_t kMaxProposalsPerSa = 64;
inline constexpr std::size_t kMaxTransformsPerProposal = 64;
inline constexpr std::size_t kMaxAttributesPerTransform = 32;
inline constexpr std::size_t kMinNonceSize = 8;             // RFC 2409 5: 8..256 bytes
inline constexpr std::size_t kMaxNonceSize = 256;
// After decryption, bytes past the last payload are padding (RFC 2409 appendix B). Ward accepts
// at most this many; CBC padding needs less than one block, the rest tolerates other stacks.
inline constexpr std::size_t kMaxEncryptionPadding = 255;

// ---- names ---------------------------------------------------------------------------------------

std::string_view name(ExchangeType value) noexcept;
std::string_view name(PayloadType value) noexcept;
std::string_view name(ProtocolId value) noexcept;
std::string_view name(IdType value) noexcept;
std::string_view name(NotifyMessageType value) noexcept;
std::string_view name(CertificateEncoding value) noexcept;

// True for the payload types Ward knows how to decode (RFC 2408 3.1, RFC 3947's 20 and 21, and
// the GSS-API token payload 129 that Kerberos main mode carries).
bool is_known_payload_type(std::uint8_t value) noexcept;

}  // namespace ward::ike
