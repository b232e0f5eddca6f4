// Pieces of the service that stand alone: the protected informational exchange (RFC 2409 5.7:
// HDR*, HASH(1), N/D with HASH(1) = prf(SKEYID_a, M-ID | N/D), the IV derived from the last
// phase 1 CBC block and the Message ID as for quick mode), and reading the peer's quick mode IDs
// before a responder exists (so the caller's policy can pick the filter).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"

namespace ward::ike::service {

// An encrypted informational message carrying `payloads` (Delete / Notification) under a
// phase 1 SA whose keys the peer shares (Phase1Sa::keys_shared(): established, or failed after
// a message under the keys opened), with a fresh random Message ID.
Expected<std::vector<std::byte>, std::string> build_informational(const sa::Phase1Sa& phase1, std::vector<Payload> payloads);

// Decrypts an informational message of `phase1` and checks its HASH(1). The error says which.
Expected<ParsedMessage, std::string> open_informational(const sa::Phase1Sa& phase1, std::span<const std::byte> datagram);

// A DELETE for ESP or AH SAs (our inbound SPIs) or for the ISAKMP SA itself (the cookie pair).
Delete ipsec_delete(ProtocolId protocol, std::span<const std::uint32_t> spis);
inline Delete esp_delete(std::span<const std::uint32_t> spis) { return ipsec_delete(ProtocolId::IpsecEsp, spis); }
// The DELETEs for one quick mode SA pair by our inbound SPIs: ESP, AH, or both for an AH+ESP
// bundle (`spi` is ESP's, `bundled_ah_spi` AH's).
std::vector<Payload> ipsec_deletes(const sa::ProtectionSuite& suite, std::uint32_t spi, std::uint32_t bundled_ah_spi);
Delete isakmp_delete(const Cookie& initiator, const Cookie& responder);

struct QuickModeIds {
  sa::TrafficSelector initiator_side;   // IDci
  sa::TrafficSelector responder_side;   // IDcr
};
// Decrypts a quick mode message 1 with a copy of the IV (the phase 1 SA is not touched) and
// returns its IDs; HASH(1) is checked later by QuickModeExchange::respond.
Expected<QuickModeIds, std::string> peek_quick_mode_ids(const sa::Phase1Sa& phase1, std::span<const std::byte> datagram);

// The traffic selector an ID_IPV4/6_ADDR or ID_IPV4/6_ADDR_SUBNET names.
Expected<sa::TrafficSelector, std::string> selector_of(const Identification& id);

}  // namespace ward::ike::service
