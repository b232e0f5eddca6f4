#include "ike/service/ikev2_cookies.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "ike/service/random_secret.h"


namespace ward::ike::service {
Ikev2Cookies::Ikev2Cookies(sa::Clock clock) : clock_(std::move(clock)) {
  fill_random(current_);
  replaced_at_ = clock_();
}

Ikev2Cookies::~Ikev2Cookies() {
  OPENSSL_cleanse(current_.data(), current_.size());
  OPENSSL_cleanse(previous_.data(), previous_.size());
}

void Ikev2Cookies::rotate_if_due() {
  const auto now = clock_();
  if (now - replaced_at_ < kResponderSecretLifetime) return;
  previous_ = current_;
  // Two replacements in one check (a long quiet spell) would leave the previous secret accepted
  // past its time: nothing older than one lifetime verifies.
  have_previous_ = now - replaced_at_ < 2 * kResponderSecretLifetime;
  fill_random(current_);
  ++version_;
  replaced_at_ = now;
}

v2::Bytes Ikev2Cookies::derive(const Secret& secret, std::uint8_t version, std::span<const std::byte> ni, const IpAddress& ip,
                               const v2::Spi& spi_i) const {
  std::vector<unsigned char> input;
  input.reserve(ni.size() + 1 + 16 + spi_i.size());
  for (const auto b : ni) input.push_back(std::to_integer<unsigned char>(b));
  input.push_back(ip.family() == IpFamily::V4 ? 4 : 6);
  input.insert(input.end(), ip.bytes().begin(), ip.bytes().end());
  for (const auto b : spi_i) input.push_back(std::to_integer<unsigned char>(b));
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), input.data(), input.size(), mac.data(), &length) == nullptr ||
      length != kSize - 1) {
    std::abort();   // HMAC-SHA-256 over memory does not fail
  }
  v2::Bytes cookie;
  cookie.reserve(kSize);
  cookie.push_back(std::byte{version});
  for (unsigned i = 0; i < length; ++i) cookie.push_back(std::byte{mac[i]});
  OPENSSL_cleanse(mac.data(), mac.size());
  return cookie;
}

v2::Bytes Ikev2Cookies::make(std::span<const std::byte> ni, const IpAddress& ip, const v2::Spi& spi_i) {
  rotate_if_due();
  return derive(current_, version_, ni, ip, spi_i);
}

bool Ikev2Cookies::verify(std::span<const std::byte> ni, const IpAddress& ip, const v2::Spi& spi_i,
                          std::span<const std::byte> cookie) {
  rotate_if_due();
  if (cookie.size() != kSize) return false;
  const auto version = std::to_integer<std::uint8_t>(cookie[0]);
  const Secret* secret = nullptr;
  if (version == version_) {
    secret = &current_;
  } else if (have_previous_ && version == static_cast<std::uint8_t>(version_ - 1)) {
    secret = &previous_;
  } else {
    return false;
  }
  const auto expected = derive(*secret, version, ni, ip, spi_i);
  return CRYPTO_memcmp(expected.data(), cookie.data(), kSize) == 0;
}

std::optional<Ikev2InitRequest> read_init_request(std::span<const std::byte> datagram) {
  auto m = v2::parse_message(datagram);
  if (!m || m->header.exchange != v2::ExchangeType::IkeSaInit || m->header.has(v2::HeaderFlag::Response)) return std::nullopt;
  const auto* nonce = m->find<v2::NoncePayload>();
  if (nonce == nullptr) return std::nullopt;
  Ikev2InitRequest out;
  out.spi_i = m->header.initiator_spi;
  out.ni = nonce->data;
  if (!m->payloads.empty()) {
    if (const auto* n = std::get_if<v2::NotifyPayload>(&m->payloads.front()); n != nullptr && n->is(v2::NotifyType::Cookie)) {
      out.cookie = n->data;
    }
  }
  return out;
}

Expected<v2::Bytes, std::string> cookie_reply(const v2::Spi& spi_i, v2::Bytes cookie) {
  v2::Header header;
  header.initiator_spi = spi_i;
  header.exchange = v2::ExchangeType::IkeSaInit;
  header.set(v2::HeaderFlag::Response);
  const std::vector<v2::Payload> payloads{v2::NotifyPayload{0, {}, static_cast<std::uint16_t>(v2::NotifyType::Cookie), std::move(cookie)}};
  return v2::encode_message(header, payloads);
}

}  // namespace ward::ike::service
