#include "ike/service/responder_cookies.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <cstring>

#include "ike/service/random_secret.h"

namespace ward::ike::service {
ResponderCookies::ResponderCookies(sa::Clock clock) : clock_(std::move(clock)) {
  fill_random(current_);
  replaced_at_ = clock_();
}

ResponderCookies::~ResponderCookies() {
  OPENSSL_cleanse(current_.data(), current_.size());
  OPENSSL_cleanse(previous_.data(), previous_.size());
}

void ResponderCookies::rotate_if_due() {
  const auto now = clock_();
  if (now - replaced_at_ < kResponderSecretLifetime) return;
  previous_ = current_;
  have_previous_ = true;
  fill_random(current_);
  replaced_at_ = now;
}

Cookie ResponderCookies::derive(const Secret& secret, const IpAddress& peer, std::uint16_t port, const Cookie& initiator) const {
  std::array<unsigned char, 16 + 1 + 2 + kCookieSize> input{};
  std::size_t at = 0;
  input[at++] = peer.family() == IpFamily::V4 ? 4 : 6;
  std::memcpy(&input[at], peer.bytes().data(), 16);
  at += 16;
  input[at++] = static_cast<unsigned char>(port >> 8);
  input[at++] = static_cast<unsigned char>(port & 0xff);
  std::memcpy(&input[at], initiator.data(), kCookieSize);
  at += kCookieSize;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), input.data(), at, mac.data(), &length);
  Cookie cookie{};
  std::memcpy(cookie.data(), mac.data(), cookie.size());
  OPENSSL_cleanse(mac.data(), mac.size());
  return cookie;
}

Cookie ResponderCookies::make(const IpAddress& peer, std::uint16_t port, const Cookie& initiator) {
  rotate_if_due();
  return derive(current_, peer, port, initiator);
}

bool ResponderCookies::verify(const IpAddress& peer, std::uint16_t port, const Cookie& initiator, const Cookie& responder) {
  rotate_if_due();
  const auto matches = [&](const Secret& secret) {
    const auto expected = derive(secret, peer, port, initiator);
    return CRYPTO_memcmp(expected.data(), responder.data(), expected.size()) == 0;
  };
  const bool current = matches(current_);
  const bool previous = have_previous_ && matches(previous_);
  return current || previous;
}

}  // namespace ward::ike::service
