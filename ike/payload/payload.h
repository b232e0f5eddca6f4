// Every payload Ward sends or accepts in main mode, quick mode and informational exchanges, as
// one variant; the message parser produces them in wire order.
#pragma once

#include <variant>

#include "ike/payload/certificate.h"
#include "ike/payload/identification.h"
#include "ike/payload/notification.h"
#include "ike/payload/opaque_payload.h"
#include "ike/payload/security_association.h"

namespace ward::ike {

using Payload = std::variant<SecurityAssociation, KeyExchange, Identification, Certificate,
                             CertificateRequest, Hash, Signature, Nonce, Notification, Delete,
                             VendorId, NatDiscovery, NatOriginalAddress, GssToken>;

PayloadType payload_type(const Payload& payload) noexcept;

// Decodes the body of a payload of `type` (already opened by open_payload). Types Ward does not
// accept at message level (Proposal, Transform, unknown) are an error.
Expected<Payload, ParseError> parse_payload_body(PayloadType type, ByteReader& body);

// Writes one payload (generic header included) with the given Next Payload; false when it does
// not fit the 16-bit Payload Length.
[[nodiscard]] bool encode_payload(ByteWriter& writer, const Payload& payload, PayloadType next);

}  // namespace ward::ike
