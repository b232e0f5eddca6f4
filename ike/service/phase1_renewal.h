// When an established main mode is renewed: a new main mode with the same peer is negotiated
// before the old one's lifetime ends, so the quick mode SAs (which outlive their main mode in
// IKEv1) always have a phase 1 to be rekeyed, deleted and probed (DPD) under, and a peer that ties
// its child SAs to the ISAKMP SA (charon deletes them with it unless a new main mode with the same
// identities adopted them first) never sees the last ISAKMP SA go.
//
// The initiator renews at 90% of the lifetime (at most kMaxRenewalMargin early); the responder
// half as early, so that between two hosts that both renew, the initiator's new main mode is up
// first and the responder, finding a newer main mode with the peer, does not start its own.
#pragma once

#include <chrono>

#include "ike/auth/auth_provider.h"
#include "ike/sa/exchange.h"

namespace ward::ike::service {

inline constexpr std::chrono::seconds kMaxRenewalMargin{300};

// How long before the end of a main mode of `lifetime` a new one is started.
std::chrono::milliseconds renewal_margin(std::chrono::seconds lifetime, auth::Role role) noexcept;

// The time to start the successor of a main mode established at `established`.
sa::TimePoint renewal_time(sa::TimePoint established, std::chrono::seconds lifetime, auth::Role role) noexcept;

}  // namespace ward::ike::service
