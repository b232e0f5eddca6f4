#include "ike/service/refusal.h"

#include <algorithm>
#include <climits>

#include "ike/crypto/prf.h"

namespace ward::ike::service {
namespace {

constexpr std::size_t kMessageIdSize = 4;
constexpr std::uint16_t kFirstErrorType = static_cast<std::uint16_t>(NotifyMessageType::InvalidPayloadType);
constexpr std::uint16_t kLastNamedErrorType = static_cast<std::uint16_t>(NotifyMessageType::UnequalPayloadLengths);

std::vector<std::byte> cookie_pair(const Cookie& initiator, const Cookie& responder) {
  std::vector<std::byte> spi(initiator.begin(), initiator.end());
  spi.insert(spi.end(), responder.begin(), responder.end());
  return spi;
}

}  // namespace

Notification main_mode_refusal(const Cookie& initiator_cookie, const Cookie& responder_cookie, NotifyMessageType type) {
  Notification n;
  n.protocol = ProtocolId::Isakmp;
  n.message_type = static_cast<std::uint16_t>(type);
  n.spi = cookie_pair(initiator_cookie, responder_cookie);
  return n;
}

Expected<std::vector<std::byte>, std::string> build_main_mode_refusal(const Cookie& initiator_cookie,
                                                                      const Cookie& responder_cookie, NotifyMessageType type) {
  std::uint32_t message_id = 0;
  while (message_id == 0) {
    auto raw = crypto::random_bytes(sizeof message_id);
    if (!raw) return unexpected(std::move(raw).error());
    for (const auto b : *raw) message_id = message_id << CHAR_BIT | static_cast<std::uint32_t>(b);
  }
  IsakmpHeader h;
  h.initiator_cookie = initiator_cookie;
  h.responder_cookie = responder_cookie;
  h.exchange_type = ExchangeType::Informational;
  h.message_id = message_id;
  const std::vector<Payload> payloads{main_mode_refusal(initiator_cookie, responder_cookie, type)};
  auto message = encode_message(h, payloads);
  if (!message) return unexpected("encoding a refusal: " + message.error().message);
  return std::move(*message);
}

Notification quick_mode_refusal(const Cookie& initiator_cookie, const Cookie& responder_cookie, NotifyMessageType type,
                                std::uint32_t message_id) {
  Notification n;
  n.protocol = ProtocolId::Isakmp;
  n.message_type = static_cast<std::uint16_t>(type);
  n.spi = cookie_pair(initiator_cookie, responder_cookie);
  for (int shift = 24; shift >= 0; shift -= CHAR_BIT) n.data.push_back(std::byte(message_id >> shift));
  return n;
}

std::optional<std::uint32_t> refused_message_id(const Notification& notification) noexcept {
  if (notification.data.size() != kMessageIdSize) return std::nullopt;
  std::uint32_t id = 0;
  for (const auto b : notification.data) id = id << CHAR_BIT | static_cast<std::uint32_t>(b);
  return id;
}

std::string refusal_text(const IpAddress& peer, const Notification& notification) {
  const auto type = static_cast<NotifyMessageType>(notification.message_type);
  const bool named = notification.message_type >= kFirstErrorType && notification.message_type <= kLastNamedErrorType;
  return "peer " + peer.to_string() + " refused: " +
         (named ? std::string(ike::name(type)) : "notify type " + std::to_string(notification.message_type));
}

bool RefusalLimiter::allow(sa::TimePoint now) noexcept {
  if (last_) {
    const std::chrono::duration<double> elapsed = now - *last_;
    tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed.count()) * rate_);
  }
  last_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace ward::ike::service
