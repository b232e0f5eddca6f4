// Telling a peer why we refused it (RFC 2408 3.14.1, 4.8) and reading why it refused us.
//
//   responder refuses main mode 1 --> unprotected informational: N(type, SPI = CKY-I | CKY-R),
//                                     the responder cookie zero (no responder state is kept)
//   main mode fails after a message  --> two informationals under phase 1: HASH(1), N(type,
//   under the keys opened (main mode     SPI = CKY-I | CKY-R); then HASH(1), D(ISAKMP SA,
//   6 as initiator, 5 as responder)      CKY-I | CKY-R): a peer that counts its SA established
//                                        (charon) drops it. Separate, as charon reads nothing
//                                        after an error notification in a message
//   responder refuses quick mode 1 --> informational under phase 1 (HASH(1), N(type)); the
//                                      notification data is the refused exchange's Message ID
//                                      (4 bytes; Ward's convention, other peers ignore it)
//
// What we send is rate-limited (RefusalLimiter) and never answers an informational, so two
// peers cannot ping-pong notifications. What we accept unprotected is narrow: an error type for
// a main mode of ours still waiting for message 2, from the address we sent message 1 to, with
// our initiator cookie and any responder cookie (zero, or, from charon, the one it made for the
// exchange it refuses); anyone able to forge that could as well forge message 2.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "ike/message/message.h"
#include "ike/sa/exchange.h"

namespace ward::ike::service {

// The notification refusing the main mode with these cookies (SPI = CKY-I | CKY-R, no data).
Notification main_mode_refusal(const Cookie& initiator_cookie, const Cookie& responder_cookie, NotifyMessageType type);

// An unprotected informational refusing the main mode with these cookies (the responder cookie
// zero when refusing a message 1: no responder state is kept for it).
Expected<std::vector<std::byte>, std::string> build_main_mode_refusal(const Cookie& initiator_cookie,
                                                                      const Cookie& responder_cookie, NotifyMessageType type);

// The notification refusing quick mode `message_id` on the phase 1 SA with these cookies.
Notification quick_mode_refusal(const Cookie& initiator_cookie, const Cookie& responder_cookie, NotifyMessageType type,
                                 std::uint32_t message_id);

// The Message ID a quick mode refusal names, if its data is one.
std::optional<std::uint32_t> refused_message_id(const Notification& notification) noexcept;

// "peer 10.0.0.2 refused: NO-PROPOSAL-CHOSEN" (the number for a type Ward has no name for).
std::string refusal_text(const IpAddress& peer, const Notification& notification);

// A token bucket: `per_second` refusals on average, at most `burst` at once.
class RefusalLimiter {
 public:
  RefusalLimiter(double per_second, double burst) : rate_(per_second), burst_(burst), tokens_(burst) {}
  bool allow(sa::TimePoint now) noexcept;

 private:
  double rate_;
  double burst_;
  double tokens_;
  std::optional<sa::TimePoint> last_;
};

}  // namespace ward::ike::service
