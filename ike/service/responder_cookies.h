// Responder cookies derived from a secret (RFC 2522 Photuris' anti-clogging cookies, which RFC
// 2408 2.5.3 asks ISAKMP cookies to follow, and IKEv2's COOKIE): CKY-R = the first 8 bytes of
// HMAC-SHA-256(secret, peer address | peer port | CKY-I). Only a host that received main mode 2
// at the peer's address can send a main mode 3 with it; a spoofer cannot, so a flood of forged
// main mode 1s never reaches the state that counts against the half-open limits
// (embryonic_table.h, ike_service.h). The secret is random, replaced every kSecretLifetime; the
// previous one still verifies, so an exchange that straddles a replacement goes through.
// Deterministic for one (peer, CKY-I): a resent main mode 1 gets the same cookie.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

#include "common/ip.h"
#include "ike/message/header.h"
#include "ike/sa/exchange.h"

namespace ward::ike::service {

inline constexpr std::chrono::minutes kResponderSecretLifetime{5};

class ResponderCookies {
 public:
  explicit ResponderCookies(sa::Clock clock);
  ~ResponderCookies();  // wipes the secrets
  ResponderCookies(const ResponderCookies&) = delete;
  ResponderCookies& operator=(const ResponderCookies&) = delete;

  Cookie make(const IpAddress& peer, std::uint16_t port, const Cookie& initiator);
  // Constant-time; the current secret or the previous one.
  bool verify(const IpAddress& peer, std::uint16_t port, const Cookie& initiator, const Cookie& responder);

 private:
  using Secret = std::array<std::byte, 32>;
  void rotate_if_due();
  Cookie derive(const Secret& secret, const IpAddress& peer, std::uint16_t port, const Cookie& initiator) const;

  sa::Clock clock_;
  Secret current_{};
  Secret previous_{};
  bool have_previous_ = false;
  sa::TimePoint replaced_at_{};
};

}  // namespace ward::ike::service
