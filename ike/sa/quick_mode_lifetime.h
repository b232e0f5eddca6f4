// Quick mode SA lifetimes (RFC 2407 4.5, 4.6.3.1). The responder applies the shorter of the
// initiator's proposed lifetime and its own, in seconds and in kilobytes each, and when its own is
// the shorter it tells the initiator in a RESPONDER-LIFETIME notification (protocol and SPI of the
// SA, the data its SA Life Type / SA Life Duration attributes) sent with quick mode 2; the
// initiator applies that notification's values when they are shorter than its own. A proposal
// without a lifetime in seconds means RFC 2407's default of 28800 s.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "ike/sa/ipsec_transforms.h"

namespace ward::ike::sa {

inline constexpr std::chrono::seconds kDefaultIpsecLifetime{28800};   // RFC 2407 4.5

struct AppliedLifetime {
  std::chrono::seconds seconds{0};
  std::uint64_t kilobytes = 0;    // 0: no volume limit
  bool tell_initiator = false;    // ours is shorter than what the initiator proposed: RESPONDER-LIFETIME
};

// The responder's lifetime for an SA the initiator proposed with `offered`; ours is `seconds` and
// `kilobytes` (0: none).
AppliedLifetime responder_lifetime(const TransformAttributes& offered, std::chrono::seconds seconds,
                                   std::uint64_t kilobytes) noexcept;

// RESPONDER-LIFETIME's notification data: the lifetime attributes (seconds, then kilobytes when set).
std::vector<std::byte> lifetime_notification_data(std::chrono::seconds seconds, std::uint64_t kilobytes);

// The lifetimes a RESPONDER-LIFETIME notification's data carries; an error names what is wrong.
Expected<TransformAttributes, std::string> parse_lifetime_notification_data(std::span<const std::byte> data);

}  // namespace ward::ike::sa
