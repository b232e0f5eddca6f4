// Quick mode transforms (RFC 2407 4.4.3 AH, 4.4.4 ESP, 4.5 SA attributes) to and from the
// protection suites of quick_mode.h. Parsing says what a transform holds; whether it is acceptable
// (our policy, PFS group, encapsulation mode) is QuickModeExchange's to decide.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "ike/constants.h"
#include "ike/payload/security_association.h"
#include "ike/sa/quick_mode.h"

namespace ward::ike::sa {

inline constexpr std::uint32_t kFirstUsableSpi = 256;   // RFC 4303 2.1: 1..255 are reserved

// An AH/ESP SPI from its 4 bytes (network order) and back; the caller has checked the size.
std::uint32_t spi_value(std::span<const std::byte> four_bytes);
std::vector<std::byte> spi_bytes(std::uint32_t spi);

// The SA attributes every IPsec transform of one offer carries alike.
struct TransformAttributes {
  std::optional<IkeGroupDescription> group;      // quick mode PFS
  std::optional<std::chrono::seconds> lifetime;
  std::optional<std::uint64_t> kilobytes;
  EncapsulationMode mode = EncapsulationMode::Transport;   // RFC 2407 leaves the default open; Ward reads transport
};

struct EspTransformChoice {
  EspProposal proposal;
  TransformAttributes attributes;
};
struct AhTransformChoice {
  AhProposal proposal;
  TransformAttributes attributes;
};

// ESP: AES-GCM-16 (128/256), AES-CBC (128/256) or ESP_NULL with HMAC-SHA / HMAC-SHA2-256, 3DES
// with HMAC; HMAC-MD5 as the authentication algorithm of any of them but GCM.
Expected<EspTransformChoice, std::string> parse_esp_transform(const Transform& transform);
// AH: AH_SHA, AH_SHA2-256, AH_MD5; an Authentication Algorithm attribute, when present, must name
// the transform's own algorithm (RFC 2407 4.5).
Expected<AhTransformChoice, std::string> parse_ah_transform(const Transform& transform);

// The transforms we offer (and the responder echoes), numbered 1.
Transform encode_esp_transform(const EspProposal& proposal, const TransformAttributes& attributes);
Transform encode_ah_transform(const AhProposal& proposal, const TransformAttributes& attributes);

}  // namespace ward::ike::sa
