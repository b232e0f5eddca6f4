// What each IKEv1 message may carry: one constexpr table per exchange and message, enforced
// once by the message parser before exchange code runs (strongSwan's message.c rule tables).
//
// Main mode (RFC 2409 5, RFC 3947 for NAT-D):      Quick mode (RFC 2409 5.5, RFC 3947 5.2):
//   1 I->R  SA VID*                                   1 I->R  HASH(1) SA Ni [KE] [IDci IDcr] [NAT-OA*]
//   2 R->I  SA VID*                                   2 R->I  HASH(2) SA Nr [KE] [IDci IDcr] [NAT-OA*] [N*]
//   3 I->R  KE Ni [NAT-D*] [CR*] [GSS*] VID*          3 I->R  HASH(3)
//   4 R->I  KE Nr [NAT-D*] [CR*] [GSS*] VID*
//   5 I->R* IDii [CERT*] [CR*] HASH_I|SIG_I [N*] VID*   Informational (RFC 2409 5.7):
//   6 R->I* IDir [CERT*] [CR*] HASH_R|SIG_R [N*] VID*    protected:   HASH(1) N*|D*
//                                                        unprotected: N (phase 1 not done)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ike/constants.h"

namespace ward::ike {

enum class MessageKind : std::uint8_t {
  MainModeMessage1,
  MainModeMessage2,
  MainModeMessage3,
  MainModeMessage4,
  MainModeMessage5,
  MainModeMessage6,
  QuickModeMessage1,
  QuickModeMessage2,
  QuickModeMessage3,
  InformationalProtected,     // HASH(1) first, encrypted with the phase 1 keys
  InformationalUnprotected,   // before phase 1 completes: notifications only, in the clear
};
inline constexpr std::size_t kMessageKindCount = 11;

enum class Direction : std::uint8_t { InitiatorToResponder, ResponderToInitiator, Either };
enum class MessageIdRule : std::uint8_t { Zero, NonZero, Any };

// Ward's limits on repeated payloads (not RFC numbers; chosen well above what peers send).
inline constexpr std::uint8_t kMaxVendorIdPayloads = 16;
inline constexpr std::uint8_t kMaxNatDiscoveryPayloads = 8;   // one per local address + the peer's
inline constexpr std::uint8_t kMaxCertificatePayloads = 8;    // a chain
inline constexpr std::uint8_t kMaxCertificateRequestPayloads = 8;
inline constexpr std::uint8_t kMaxNotificationPayloads = 8;
inline constexpr std::uint8_t kMaxDeletePayloads = 8;
// GSS-API tokens in main mode 3/4 (draft-ietf-ipsec-isakmp-gss-auth-07): Kerberos needs one each
// way; a token too big for one payload may be split over several.
inline constexpr std::uint8_t kMaxGssPayloads = 4;

struct PayloadRule {
  PayloadType type = PayloadType::None;
  std::uint8_t min = 0;
  std::uint8_t max = 0;
};

// count(a) + count(b) must lie in [min, max] (e.g. main mode 5: exactly one of HASH and SIG).
struct EitherRule {
  PayloadType a = PayloadType::None;
  PayloadType b = PayloadType::None;
  std::uint8_t min = 0;
  std::uint8_t max = 0;
};

inline constexpr std::size_t kMaxRulesPerMessage = 10;

struct MessageRules {
  MessageKind kind{};
  std::string_view description;
  ExchangeType exchange = ExchangeType::None;
  Direction direction = Direction::Either;
  bool encrypted = false;                      // the E flag must be set (true) or clear (false)
  MessageIdRule message_id = MessageIdRule::Any;
  PayloadType first = PayloadType::None;       // the payload that must come first, or None
  std::array<PayloadRule, kMaxRulesPerMessage> payloads{};   // unlisted types are refused
  std::size_t payload_count = 0;
  EitherRule either{};

  constexpr std::span<const PayloadRule> rules() const { return {payloads.data(), payload_count}; }
};

const MessageRules& rules_for(MessageKind kind) noexcept;
std::string_view name(MessageKind kind) noexcept;

}  // namespace ward::ike
