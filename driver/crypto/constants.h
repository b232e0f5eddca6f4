// Protocol numbers, field sizes and limits of the ESP/AH transforms, named as in the RFCs.
// Every number the transform code uses lives here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ward::driver::crypto {

// IANA protocol numbers (next header / protocol field values).
inline constexpr std::uint8_t kProtoIpv4InIp = 4;      // IP-in-IP, tunnel mode inner IPv4
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIpv6InIp = 41;     // tunnel mode inner IPv6
inline constexpr std::uint8_t kProtoIpv6Routing = 43;
inline constexpr std::uint8_t kProtoIpv6Fragment = 44;
inline constexpr std::uint8_t kProtoEsp = 50;
inline constexpr std::uint8_t kProtoAh = 51;
inline constexpr std::uint8_t kProtoNoNextHeader = 59;  // RFC 4303 2.6: a dummy (TFC) packet
inline constexpr std::uint8_t kProtoIpv6HopByHop = 0;
inline constexpr std::uint8_t kProtoIpv6DestOptions = 60;

// IP headers (RFC 791, RFC 8200).
inline constexpr std::size_t kIpv4MinHeaderLength = 20;
inline constexpr std::size_t kIpv6HeaderLength = 40;
inline constexpr std::size_t kIpv6AddressLength = 16;
inline constexpr std::size_t kIpv4AddressLength = 4;
inline constexpr std::size_t kIpv4MaxTotalLength = 65535;
inline constexpr std::size_t kIpv6MaxPayloadLength = 65535;
inline constexpr std::uint8_t kDefaultOuterTtl = 64;  // outer TTL / hop limit in tunnel mode
inline constexpr std::size_t kIpv4ProtocolOffset = 9;
inline constexpr std::size_t kIpv6NextHeaderOffset = 6;

// What a tunnel mode SA carries: a whole IPv4 or IPv6 packet.
constexpr bool is_tunnel_next_header(std::uint8_t next_header) noexcept {
  return next_header == kProtoIpv4InIp || next_header == kProtoIpv6InIp;
}

// ESP (RFC 4303 2).
inline constexpr std::size_t kEspHeaderLength = 8;   // SPI + sequence number
inline constexpr std::size_t kEspTrailerLength = 2;  // pad length + next header
inline constexpr std::size_t kEspPayloadAlignment = 4;  // RFC 4303 2.4: ciphertext ends on 4 bytes
inline constexpr std::uint32_t kMinValidSpi = 256;   // RFC 4303 2.1: 1..255 are reserved by IANA
inline constexpr std::uint64_t kMax32BitSequence = 0xffffffffULL;  // without extended sequence numbers

// AH (RFC 4302 2).
inline constexpr std::size_t kAhFixedLength = 12;  // next header, payload len, reserved, SPI, seq
inline constexpr std::size_t kAhIpv4Alignment = 4;
inline constexpr std::size_t kAhIpv6Alignment = 8;

// TCP and UDP headers (RFC 793 3.1, RFC 768): what the RFC 3948 3.1.2 checksum refresh needs.
inline constexpr std::size_t kTcpMinHeaderLength = 20;
inline constexpr std::size_t kTcpChecksumOffset = 16;
inline constexpr std::size_t kUdpChecksumOffset = 6;

// UDP encapsulation (RFC 3948).
inline constexpr std::size_t kUdpHeaderLength = 8;
inline constexpr std::uint16_t kNatTraversalPort = 4500;
inline constexpr std::size_t kNonEspMarkerLength = 4;      // four zero bytes: an IKE packet
inline constexpr std::uint8_t kNatKeepaliveByte = 0xff;    // RFC 3948 2.3: a one-byte keepalive

// Algorithms.
inline constexpr std::size_t kAesBlockLength = 16;
inline constexpr std::size_t kAes128KeyLength = 16;
inline constexpr std::size_t kAes256KeyLength = 32;
inline constexpr std::size_t kTripleDesBlockLength = 8;
inline constexpr std::size_t kTripleDesKeyLength = 24;
inline constexpr std::size_t kGcmSaltLength = 4;        // RFC 4106 8.1
inline constexpr std::size_t kGcmExplicitIvLength = 8;  // RFC 4106 3.1
inline constexpr std::size_t kGcmNonceLength = kGcmSaltLength + kGcmExplicitIvLength;
inline constexpr std::size_t kGcmIcvLength = 16;        // RFC 4106 6: the 16-byte ICV
inline constexpr std::size_t kHmacSha1KeyLength = 20;   // RFC 2404 3
inline constexpr std::size_t kHmacSha1IcvLength = 12;   // HMAC-SHA1-96
inline constexpr std::size_t kHmacSha256KeyLength = 32;  // RFC 4868 2.1
inline constexpr std::size_t kHmacSha256IcvLength = 16;  // HMAC-SHA-256-128
inline constexpr std::size_t kHmacMd5KeyLength = 16;     // RFC 2403 3
inline constexpr std::size_t kHmacMd5IcvLength = 12;     // HMAC-MD5-96
inline constexpr std::size_t kMaxIvLength = kAesBlockLength;
inline constexpr std::size_t kMaxIcvLength = 16;
inline constexpr std::size_t kMaxBlockLength = kAesBlockLength;

// Anti-replay (RFC 4303 3.4.3, RFC 6479).
inline constexpr std::uint32_t kDefaultReplayWindow = 64;
inline constexpr std::uint32_t kMaxReplayWindow = 1024;

}  // namespace ward::driver::crypto
