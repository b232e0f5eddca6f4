#include "ike/v2/protected_message.h"

namespace ward::ike::v2 {

Expected<OpenedMessage, std::string> open_protected(const IkeSa& sa, std::span<const std::byte> datagram) {
  auto m = parse_message(datagram);
  if (!m) return unexpected(m.error().to_string());
  const Header& h = m->header;
  if (h.initiator_spi != sa.spi_i || h.responder_spi != sa.spi_r) return unexpected("not a message of IKE SA " + sa.spis());
  // The peer's messages carry the I flag exactly when the peer is the original initiator.
  if (h.has(HeaderFlag::Initiator) == sa.initiator) {
    return unexpected(std::string("IKE SA ") + sa.spis() + ": the I flag does not name the peer's role");
  }
  const auto* sk = m->find<EncryptedPayload>();
  if (sk == nullptr || m->payloads.size() != 1) return unexpected("IKE SA " + sa.spis() + ": no SK payload alone");
  auto inner = open_message(sa.proposal.suite(), sa.inbound_keys(), datagram, *sk);
  if (!inner) return unexpected("IKE SA " + sa.spis() + ": " + inner.error().to_string());
  return OpenedMessage{h, std::move(*inner)};
}

Expected<Bytes, std::string> seal_protected(const IkeSa& sa, ExchangeType exchange, std::uint32_t message_id, bool response,
                                            std::span<const Payload> payloads) {
  Header h;
  h.initiator_spi = sa.spi_i;
  h.responder_spi = sa.spi_r;
  h.exchange = exchange;
  h.message_id = message_id;
  if (sa.initiator) h.set(HeaderFlag::Initiator);
  if (response) h.set(HeaderFlag::Response);
  return seal_message(sa.proposal.suite(), sa.outbound_keys(), h, payloads);
}

}  // namespace ward::ike::v2
