// Payloads whose body is one opaque byte string with RFC-given size bounds: Key Exchange
// (RFC 2408 3.7), Hash (3.11), Signature (3.12), Nonce (3.13, sizes RFC 2409 5), Vendor ID (3.16),
// NAT-D (RFC 3947 3.2) and the GSS-API token (draft-ietf-ipsec-isakmp-gss-auth-07 3.3). One template, one codec per payload type.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ike/payload/payload_header.h"

namespace ward::ike {

template <PayloadType Type, std::size_t MinSize, std::size_t MaxSize>
struct OpaquePayload {
  static constexpr PayloadType kType = Type;
  static constexpr std::size_t kMinSize = MinSize;
  static constexpr std::size_t kMaxSize = MaxSize;

  std::vector<std::byte> data;

  static Expected<OpaquePayload, ParseError> parse_body(ByteReader& body) {
    if (body.remaining() < kMinSize || body.remaining() > kMaxSize) {
      return unexpected(body.error("data", "data is " + std::to_string(body.remaining()) +
                                               " bytes, " + std::to_string(kMinSize) + ".." +
                                               std::to_string(kMaxSize) + " expected"));
    }
    const auto rest = body.rest();
    return OpaquePayload{std::vector<std::byte>(rest.begin(), rest.end())};
  }
  void encode_body(ByteWriter& writer) const { writer.bytes(data); }
  WARD_ISAKMP_PAYLOAD_CODEC(OpaquePayload)

  friend bool operator==(const OpaquePayload&, const OpaquePayload&) = default;
};

// Key Exchange Data: a DH public value; MODP 8192 (1024 bytes) is the largest Ward could meet.
using KeyExchange = OpaquePayload<PayloadType::KeyExchange, 1, 1024>;
// Hash Data: a PRF output (MD5 16 .. SHA2-512 64 bytes), or under GSS-API authentication the
// GSS-wrapped HASH_I / HASH_R (a Kerberos wrap token: the hash plus ~60-100 bytes of header,
// confounder and checksum), so the bound is the wrap token's, not the PRF's.
inline constexpr std::size_t kMaxHashPayloadData = 512;
using Hash = OpaquePayload<PayloadType::Hash, 1, kMaxHashPayloadData>;
// Signature Data: RSA up to 8192-bit keys, or DER-encoded ECDSA.
using Signature = OpaquePayload<PayloadType::Signature, 1, 1024>;
// Nonce Data: RFC 2409 5 requires 8..256 bytes.
using Nonce = OpaquePayload<PayloadType::Nonce, kMinNonceSize, kMaxNonceSize>;
// Vendor ID: usually an MD5 hash (16 bytes), some stacks append version bytes.
using VendorId = OpaquePayload<PayloadType::VendorId, 1, 256>;
// NAT-D: HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash (RFC 3947 3.2).
using NatDiscovery = OpaquePayload<PayloadType::NatDiscovery, 1, 64>;
// GSS-API token (payload type 129): one context-establishment token, e.g. a Kerberos AP-REQ
// (which carries the service ticket, often 1-2 KB with a PAC) or AP-REP.
inline constexpr std::size_t kMaxGssTokenSize = kMaxPayloadLength - kGenericPayloadHeaderSize;
using GssToken = OpaquePayload<PayloadType::Gss, 1, kMaxGssTokenSize>;

}  // namespace ward::ike
