// Why an IKE exchange failed, decided where it failed (a state machine, an authentication
// provider, the policy lookup): the notification the peer is told, or none (malformed or
// unauthenticated input, local trouble: silence), and the words logged and shown by `wardctl`.
// The engine sends the notify from `notify` and logs `text`; nothing reads a type back from text.
// Most refusals name their type first, as Ward's reasons always have ("NO-PROPOSAL-CHOSEN: none
// of the peer's ..."): refusal() writes that. IKEv2 uses the same vocabulary
// (ike/service/ikev2_sa.cpp translates to RFC 7296's types).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "ike/constants.h"

namespace ward::ike {

struct IkeError {
  std::optional<NotifyMessageType> notify;   // nullopt: the peer is told nothing
  std::string text;

  bool operator==(const IkeError&) const = default;
};

// The peer is told `type`; the text is its RFC 2408 name, ": ", and `detail`.
IkeError refusal(NotifyMessageType type, std::string_view detail);
// The peer is told nothing: malformed or unauthenticated input, local trouble.
inline IkeError silent(std::string text) { return IkeError{std::nullopt, std::move(text)}; }

std::ostream& operator<<(std::ostream& out, const IkeError& error);

}  // namespace ward::ike
