// IKEv2's responder COOKIE (RFC 7296 2.6): under load (ikev2_cookie_threshold half-open responder
// SAs) an IKE_SA_INIT request without a good cookie is answered with N(COOKIE) alone and leaves no
// state; the initiator repeats its request with the cookie first, which only a host receiving at
// its source address can do. Cookie = <secret version> | HMAC-SHA-256(secret, Ni | IPi | SPIi),
// as 2.6 suggests: the secret is random, replaced every kResponderSecretLifetime, and a cookie of
// the previous secret still verifies (an exchange straddling a replacement goes through); older
// ones, and any other bytes, do not. Verified with CRYPTO_memcmp. Deterministic for one (Ni, IPi,
// SPIi) under one secret: a resent request gets the same cookie.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>

#include "common/ip.h"
#include "ike/sa/exchange.h"
#include "ike/service/responder_cookies.h"   // kResponderSecretLifetime
#include "ike/v2/payloads.h"

namespace ward::ike::service {

class Ikev2Cookies {
 public:
  static constexpr std::size_t kSize = 1 + 32;   // version, HMAC-SHA-256

  explicit Ikev2Cookies(sa::Clock clock);
  ~Ikev2Cookies();   // wipes the secrets
  Ikev2Cookies(const Ikev2Cookies&) = delete;
  Ikev2Cookies& operator=(const Ikev2Cookies&) = delete;

  v2::Bytes make(std::span<const std::byte> ni, const IpAddress& ip, const v2::Spi& spi_i);
  bool verify(std::span<const std::byte> ni, const IpAddress& ip, const v2::Spi& spi_i, std::span<const std::byte> cookie);

 private:
  using Secret = std::array<std::byte, 32>;
  void rotate_if_due();
  v2::Bytes derive(const Secret& secret, std::uint8_t version, std::span<const std::byte> ni, const IpAddress& ip,
                   const v2::Spi& spi_i) const;

  sa::Clock clock_;
  Secret current_{};
  Secret previous_{};
  std::uint8_t version_ = 0;   // of current_; previous_ is version_ - 1
  bool have_previous_ = false;
  sa::TimePoint replaced_at_{};
};

// What the responder reads of an IKE_SA_INIT request before deciding to keep state.
struct Ikev2InitRequest {
  v2::Spi spi_i{};
  v2::Bytes ni;
  std::optional<v2::Bytes> cookie;   // N(COOKIE) as the first payload (2.6)
};
// Nullopt when it does not parse or is no IKE_SA_INIT request with a nonce.
std::optional<Ikev2InitRequest> read_init_request(std::span<const std::byte> datagram);

// HDR(SPIi, 0, IKE_SA_INIT, response), N(COOKIE): the whole answer under load.
Expected<v2::Bytes, std::string> cookie_reply(const v2::Spi& spi_i, v2::Bytes cookie);

}  // namespace ward::ike::service
