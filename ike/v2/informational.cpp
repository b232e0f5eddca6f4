#include "ike/v2/informational.h"

namespace ward::ike::v2 {

Expected<Bytes, std::string> liveness_request(const IkeSa& sa, std::uint32_t message_id) {
  return seal_protected(sa, ExchangeType::Informational, message_id, false, {});
}

Expected<Bytes, std::string> delete_ike_sa_request(const IkeSa& sa, std::uint32_t message_id) {
  const std::vector<Payload> d{DeletePayload{ProtocolId::Ike, 0, {}}};
  return seal_protected(sa, ExchangeType::Informational, message_id, false, d);
}

Expected<Bytes, std::string> error_request(const IkeSa& sa, std::uint32_t message_id, NotifyType type) {
  const std::vector<Payload> n{NotifyPayload{0, {}, static_cast<std::uint16_t>(type), {}}};
  return seal_protected(sa, ExchangeType::Informational, message_id, false, n);
}

Expected<Bytes, std::string> delete_child_sa_request(const IkeSa& sa, std::uint32_t message_id, std::vector<std::uint32_t> inbound_spis) {
  DeletePayload d{ProtocolId::Esp, 4, {}};
  for (auto spi : inbound_spis) d.spis.push_back(child_spi_bytes(spi));
  const std::vector<Payload> payloads{std::move(d)};
  return seal_protected(sa, ExchangeType::Informational, message_id, false, payloads);
}

Expected<InformationalAnswer, std::string> answer_informational(
    const IkeSa& sa, std::span<const std::byte> request,
    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& outbound_to_inbound) {
  auto opened = open_protected(sa, request);
  if (!opened) return unexpected(opened.error());
  if (opened->header.exchange != ExchangeType::Informational || opened->header.has(HeaderFlag::Response)) {
    return unexpected("IKE SA " + sa.spis() + ": not an INFORMATIONAL request");
  }
  InformationalAnswer answer;
  answer.message_id = opened->header.message_id;
  DeletePayload ours{ProtocolId::Esp, 4, {}};
  for (const auto& p : opened->payloads) {
    if (const auto* n = std::get_if<NotifyPayload>(&p); n != nullptr && n->is_error() && !answer.error) {
      answer.error = static_cast<NotifyType>(n->type);
    }
    const auto* d = std::get_if<DeletePayload>(&p);
    if (d == nullptr) continue;
    if (d->protocol == ProtocolId::Ike) {
      answer.delete_ike_sa = true;
      continue;
    }
    if (d->protocol != ProtocolId::Esp) continue;
    for (const auto& spi : d->spis) {
      const std::uint32_t outbound = child_spi_value(spi);
      for (const auto& [out, in] : outbound_to_inbound) {
        if (out != outbound) continue;
        answer.deleted_outbound_spis.push_back(outbound);
        ours.spis.push_back(child_spi_bytes(in));
      }
    }
  }
  std::vector<Payload> reply;
  if (!answer.delete_ike_sa && !ours.spis.empty()) reply.emplace_back(std::move(ours));
  auto sealed = seal_protected(sa, ExchangeType::Informational, answer.message_id, true, reply);
  if (!sealed) return unexpected(sealed.error());
  answer.reply = std::move(*sealed);
  return answer;
}

Expected<std::vector<Payload>, std::string> consume_informational_response(const IkeSa& sa, std::uint32_t message_id,
                                                                           std::span<const std::byte> response) {
  auto opened = open_protected(sa, response);
  if (!opened) return unexpected(opened.error());
  if (opened->header.exchange != ExchangeType::Informational || !opened->header.has(HeaderFlag::Response) ||
      opened->header.message_id != message_id) {
    return unexpected("IKE SA " + sa.spis() + ": not the response to INFORMATIONAL request " + std::to_string(message_id));
  }
  return std::move(opened->payloads);
}

}  // namespace ward::ike::v2
