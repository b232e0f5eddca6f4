// Bounds the policy model enforces, with their units in the type where a type carries them.
#pragma once

#include <cstdint>

namespace ward::model::limits {

inline constexpr std::uint32_t kMinPollingIntervalMinutes = 1;
inline constexpr std::uint32_t kMaxPollingIntervalMinutes = 43200;  // 30 days
inline constexpr std::uint32_t kDefaultPollingIntervalMinutes = 180;  // as Windows

inline constexpr std::uint32_t kMinMainModeLifetimeMinutes = 5;
inline constexpr std::uint32_t kMaxMainModeLifetimeMinutes = 2880;  // 48 hours

// Quick mode SA lifetimes: the bounds Windows' filter action dialog enforces.
inline constexpr std::uint32_t kMinQuickModeLifetimeSeconds = 300;
inline constexpr std::uint32_t kMaxQuickModeLifetimeSeconds = 172800;
inline constexpr std::uint32_t kMinQuickModeLifetimeKilobytes = 20480;

inline constexpr std::size_t kMaxDnsNameLength = 253;
inline constexpr std::size_t kMaxDnsLabelLength = 63;
inline constexpr std::size_t kMinRecommendedPresharedKeyLength = 16;

}  // namespace ward::model::limits
