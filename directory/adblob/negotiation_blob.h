// ipsecData of an ipsecNegotiationPolicy object (MS-GPIPSEC 2.2.1.4.1): a filter action's quick
// mode security offers, 80 bytes each, with three 20-byte algorithm slots per offer. All three
// slots are kept as found, also the unused ones (Windows leaves stale memory there, FINDINGS.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"

namespace ward::adblob {

namespace negotiation_code {
inline constexpr std::uint32_t kOfferAh = 1;
inline constexpr std::uint32_t kOfferEsp = 2;
// Algorithm-Identifier for AH, and ESP-Integrity-Identifier.
inline constexpr std::uint32_t kIntegrityNone = 0;
inline constexpr std::uint32_t kIntegrityMd5 = 1;
inline constexpr std::uint32_t kIntegritySha1 = 2;
// Algorithm-Identifier for ESP, as Windows writes it (FINDINGS.md; the spec's table differs).
inline constexpr std::uint32_t kEspNull = 0;
inline constexpr std::uint32_t kEspDes = 1;
inline constexpr std::uint32_t kEspDesAlt = 2;  // the spec's number for DES
inline constexpr std::uint32_t kEsp3Des = 3;
// Zero1 of each algorithm slot in Windows blobs.
inline constexpr std::uint32_t kWindowsZero1Low = 64;
inline constexpr std::uint32_t kWindowsZero1High = 8;
}  // namespace negotiation_code

struct NegotiationAlgorithm {
  static constexpr std::size_t kSize = 20;

  std::uint32_t algorithm = 0;   // Algorithm-Identifier
  std::uint32_t integrity = 0;   // ESP-Integrity-Identifier
  std::uint32_t offer_type = 0;  // Offer-Type: AH or ESP
  std::uint32_t zero1_low = 0;
  std::uint32_t zero1_high = 0;

  friend bool operator==(const NegotiationAlgorithm&, const NegotiationAlgorithm&) = default;
};

struct NegotiationOffer {
  static constexpr std::size_t kSize = 80;
  static constexpr std::uint32_t kMaxAlgorithms = 3;

  std::uint32_t lifetime_seconds = 0;
  std::uint32_t lifetime_kilobytes = 0;
  std::uint32_t negotiation_options = 0;
  std::uint32_t pfs_qm_required = 0;  // 1 = a fresh DH per quick mode (FINDINGS.md)
  std::uint32_t algorithm_count = 0;  // 0: an offer of no security (fall back to clear)
  std::array<NegotiationAlgorithm, kMaxAlgorithms> algorithms{};

  friend bool operator==(const NegotiationOffer&, const NegotiationOffer&) = default;
};

struct NegotiationBlob {
  std::vector<NegotiationOffer> offers;
  std::optional<std::uint32_t> data_length_as_found;
  std::vector<std::byte> trailer = {std::byte{0}};

  friend bool operator==(const NegotiationBlob&, const NegotiationBlob&) = default;
};

Expected<NegotiationBlob, ParseError> decode_negotiation_blob(std::span<const std::byte> data) noexcept;
std::vector<std::byte> encode_negotiation_blob(const NegotiationBlob& blob);

}  // namespace ward::adblob
