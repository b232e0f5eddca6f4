// Negotiation states and failure reasons in the words Windows' IP Security Monitor uses for the
// helpdesk ("established", "negotiating", "no response from peer"), apart from the state machines'
// own names (MainMode6Received), which stay available to developers.
//
//   NegotiationState  what a main mode or quick mode is doing now (main_mode_state() maps the
//                     Phase1Sa states), plus Soft: no IPsec, the peer did not answer IKE and a
//                     soft association lets the traffic pass in clear
//   FailureKind       why a negotiation failed, from what the service saw (no answer at all, a
//                     refusal of ours or the peer's by RFC 2408 type, a timeout)
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "ike/constants.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"

namespace ward::ike::service {

enum class NegotiationState : std::uint8_t { Negotiating, Established, Failed, Soft };
std::string_view helpdesk_words(NegotiationState state) noexcept;
NegotiationState main_mode_state(sa::Phase1Sa::State state) noexcept;
NegotiationState quick_mode_state(sa::QuickModeExchange::State state) noexcept;

enum class FailureKind : std::uint8_t {
  NoResponse,            // the peer never answered (nothing listens, or no IPsec there)
  NoPolicy,              // our policy has nothing for this peer or traffic
  NoProposalChosen,      // the two policies' methods have nothing in common
  AuthenticationFailed,  // credentials refused (preshared key, certificate, Kerberos)
  InvalidId,             // the traffic or identity named does not match the policy
  TimedOut,              // the peer answered, then stopped before the end
  PeerDead,              // dead peer detection: an established peer stopped answering
  Other,
};
std::string_view helpdesk_words(FailureKind kind) noexcept;
std::string_view name(FailureKind kind) noexcept;  // "no-response", for logs and JSON
// The kind an RFC 2408 error type stands for (Other without one).
FailureKind failure_kind(std::optional<NotifyMessageType> type) noexcept;

}  // namespace ward::ike::service
