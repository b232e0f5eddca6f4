#include "ike/payload/payload.h"

#include <algorithm>
#include <string>
#include <utility>

#include "ike/payload/vendor_ids.h"

namespace ward::ike {

namespace {

template <class T>
Expected<Payload, ParseError> decode_as(ByteReader& body) {
  auto decoded = T::parse_body(body);
  if (!decoded) return unexpected(std::move(decoded).error());
  return Payload(std::move(*decoded));
}

}  // namespace

PayloadType payload_type(const Payload& payload) noexcept {
  return std::visit([](const auto& p) { return std::decay_t<decltype(p)>::kType; }, payload);
}

Expected<Payload, ParseError> parse_payload_body(PayloadType type, ByteReader& body) {
  switch (type) {
    case PayloadType::SecurityAssociation: return decode_as<SecurityAssociation>(body);
    case PayloadType::KeyExchange: return decode_as<KeyExchange>(body);
    case PayloadType::Identification: return decode_as<Identification>(body);
    case PayloadType::Certificate: return decode_as<Certificate>(body);
    case PayloadType::CertificateRequest: return decode_as<CertificateRequest>(body);
    case PayloadType::Hash: return decode_as<Hash>(body);
    case PayloadType::Signature: return decode_as<Signature>(body);
    case PayloadType::Nonce: return decode_as<Nonce>(body);
    case PayloadType::Notification: return decode_as<Notification>(body);
    case PayloadType::Delete: return decode_as<Delete>(body);
    case PayloadType::VendorId: return decode_as<VendorId>(body);
    case PayloadType::NatDiscovery: return decode_as<NatDiscovery>(body);
    case PayloadType::NatOriginalAddress: return decode_as<NatOriginalAddress>(body);
    case PayloadType::Gss: return decode_as<GssToken>(body);
    case PayloadType::None:
    case PayloadType::Proposal:
    case PayloadType::Transform:
      break;
  }
  return unexpected(body.error("Next Payload", "payload type " + std::to_string(static_cast<int>(type)) +
                                                   " (" + std::string(name(type)) +
                                                   ") not allowed at message level"));
}

bool encode_payload(ByteWriter& writer, const Payload& payload, PayloadType next) {
  return std::visit([&](const auto& p) { return encode_payload(writer, p, next); }, payload);
}

bool vendor_id::matches(std::span<const std::byte> data, std::span<const std::byte> known,
                        bool prefix) noexcept {
  if (prefix ? data.size() < known.size() : data.size() != known.size()) return false;
  return std::equal(known.begin(), known.end(), data.begin());
}

}  // namespace ward::ike
