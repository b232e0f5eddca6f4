#include "ike/v2/create_child_sa.h"

#include <algorithm>

#include "ike/crypto/prf.h"

namespace ward::ike::v2 {
namespace {

using driver::crypto::Mode;

std::string hex32(std::uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kDigits[v & 0xf];
  return out;
}

}  // namespace

Expected<ChildRekeyInitiator, std::string> ChildRekeyInitiator::create(ChildSaConfig child, std::uint32_t old_inbound_spi,
                                                                        std::uint32_t own_spi) {
  ChildRekeyInitiator out(std::move(child), old_inbound_spi, own_spi);
  auto nonce = crypto::random_bytes(kNonceSize);
  if (!nonce) return unexpected("Ni: " + nonce.error());
  out.ni_ = std::move(*nonce);
  if (out.child_.pfs_group) {
    auto dh = crypto::DiffieHellman::generate(*out.child_.pfs_group);
    if (!dh) return unexpected("KEi: " + dh.error());
    out.dh_.emplace(std::move(*dh));
  }
  return out;
}

Expected<Bytes, std::string> ChildRekeyInitiator::build_request(const IkeSa& sa, std::uint32_t message_id) const {
  auto proposals = child_proposals(child_.proposals, own_spi_, child_.pfs_group);
  if (!proposals) return unexpected(proposals.error());
  std::vector<Payload> inner;
  if (old_inbound_spi_ != 0) {
    inner.emplace_back(NotifyPayload{static_cast<std::uint8_t>(ProtocolId::Esp), child_spi_bytes(old_inbound_spi_),
                                     static_cast<std::uint16_t>(NotifyType::RekeySa), {}});
  }
  if (child_.mode == Mode::Transport) inner.emplace_back(notify(NotifyType::UseTransportMode));
  inner.emplace_back(SaPayload{std::move(*proposals)});
  inner.emplace_back(NoncePayload{ni_});
  if (dh_) inner.emplace_back(KePayload{static_cast<std::uint16_t>(dh_->group()), dh_->public_value()});
  inner.emplace_back(TsPayload{true, {child_.local}});
  inner.emplace_back(TsPayload{false, {child_.remote}});
  return seal_protected(sa, ExchangeType::CreateChildSa, message_id, false, inner);
}

Expected<ChildSa, std::string> ChildRekeyInitiator::consume_response(const IkeSa& sa, const std::vector<Payload>& inner,
                                                                     std::optional<NotifyType>* refused_with) const {
  if (const auto* error = find_error(inner)) {
    if (refused_with != nullptr) *refused_with = static_cast<NotifyType>(error->type);
    return unexpected("the peer answered CREATE_CHILD_SA (rekey of " + hex32(old_inbound_spi_) + ") with " +
                      std::string(name(static_cast<NotifyType>(error->type))));
  }
  const auto* sa_payload = find_payload<SaPayload>(inner);
  const auto* nr = find_payload<NoncePayload>(inner);
  const auto* tsi = find_ts(inner, true);
  const auto* tsr = find_ts(inner, false);
  if (sa_payload == nullptr || nr == nullptr || tsi == nullptr || tsr == nullptr) {
    return unexpected(std::string("CREATE_CHILD_SA response without SA, Nr, TSi or TSr"));
  }
  if (sa_payload->proposals.size() != 1) return unexpected(std::string("the responder chose more than one ESP proposal"));
  auto chosen = choose_child(child_.proposals, *sa_payload, ChildDh::InCreateChildSa, child_.pfs_group);
  if (!chosen) return unexpected("the responder chose an ESP proposal Ward did not offer: " + chosen.error());
  if ((child_.mode == Mode::Transport) != wants_transport_mode(inner)) {
    return unexpected(std::string("the responder did not agree to ") + (child_.mode == Mode::Transport ? "transport" : "tunnel") + " mode");
  }
  if (tsi->selectors.size() != 1 || tsr->selectors.size() != 1 || !child_.local.contains(tsi->selectors[0]) ||
      !child_.remote.contains(tsr->selectors[0])) {
    return unexpected(std::string("the responder's selectors are not within the rekeyed CHILD_SA's"));
  }
  driver::crypto::SecureBytes g_ir;
  if (dh_) {
    const auto* ke = find_payload<KePayload>(inner);
    if (ke == nullptr || ke->group != static_cast<std::uint16_t>(dh_->group())) {
      return unexpected("the responder's KEr is not in group " + std::to_string(static_cast<unsigned>(dh_->group())));
    }
    auto secret = dh_->shared_secret(ke->data);
    if (!secret) return unexpected("KEr: " + secret.error());
    g_ir = std::move(*secret);
  }
  return make_child_sa(sa, child_, chosen->proposal, own_spi_, chosen->peer_spi, tsi->selectors[0], tsr->selectors[0],
                       ChildKeying{g_ir.reveal(), ni_, nr->data, true});
}

CreateChildSaRequest classify_create_child_sa(std::vector<Payload> payloads) {
  CreateChildSaRequest out;
  for (const auto& p : payloads) {
    if (const auto* n = std::get_if<NotifyPayload>(&p);
        n && n->is(NotifyType::RekeySa) && n->protocol == static_cast<std::uint8_t>(ProtocolId::Esp) && n->spi.size() == 4) {
      out.kind = CreateChildSaRequest::Kind::RekeyChildSa;
      out.rekeyed_spi = child_spi_value(n->spi);
    }
  }
  if (const auto* sa = find_payload<SaPayload>(payloads);
      sa && std::any_of(sa->proposals.begin(), sa->proposals.end(), [](const Proposal& p) { return p.protocol == ProtocolId::Ike; })) {
    out.kind = CreateChildSaRequest::Kind::RekeyIkeSa;
  }
  out.payloads = std::move(payloads);
  return out;
}

Expected<ChildRekeyReply, std::string> answer_child_rekey(const IkeSa& sa, std::uint32_t message_id, const ChildSaConfig& child,
                                                          const std::vector<Payload>& request, const SpiSource& spi_source) {
  ChildRekeyReply out;
  auto refuse = [&](NotifyType type, std::string why, Bytes data = {}) -> Expected<ChildRekeyReply, std::string> {
    const Payload n = notify(type, std::move(data));
    auto sealed = seal_protected(sa, ExchangeType::CreateChildSa, message_id, true, std::span(&n, 1));
    if (!sealed) return unexpected(sealed.error());
    out.reply = std::move(*sealed);
    out.refusal = std::move(why);
    return out;
  };
  const auto* sai = find_payload<SaPayload>(request);
  const auto* ni = find_payload<NoncePayload>(request);
  const auto* tsi = find_ts(request, true);
  const auto* tsr = find_ts(request, false);
  if (sai == nullptr || ni == nullptr || tsi == nullptr || tsr == nullptr || tsi->selectors.empty() || tsr->selectors.empty()) {
    return refuse(NotifyType::InvalidSyntax, "CREATE_CHILD_SA request without SA, Ni, TSi or TSr");
  }
  auto chosen = choose_child(child.proposals, *sai, ChildDh::InCreateChildSa, child.pfs_group);
  if (!chosen) return refuse(NotifyType::NoProposalChosen, chosen.error());
  if ((child.mode == Mode::Transport) != wants_transport_mode(request)) {
    return refuse(NotifyType::NoProposalChosen, std::string("the rekey asks for ") + (wants_transport_mode(request) ? "transport" : "tunnel") +
                                                    " mode");
  }
  // The peer's TSi is its side (our remote), TSr ours: a rekey keeps the narrowed selectors.
  const auto remote = narrow_selectors(*tsi, child.remote);
  const auto local = narrow_selectors(*tsr, child.local);
  if (!remote || !local) {
    return refuse(NotifyType::TsUnacceptable, "the rekey's selectors " + tsi->selectors[0].to_string() + " / " +
                                                  tsr->selectors[0].to_string() + " are not the CHILD_SA's");
  }
  std::optional<crypto::DiffieHellman> dh;
  driver::crypto::SecureBytes g_ir;
  if (chosen->pfs) {
    const auto* ke = find_payload<KePayload>(request);
    const auto g = static_cast<std::uint16_t>(*chosen->pfs);
    if (ke == nullptr || ke->group != g) {
      return refuse(NotifyType::InvalidKePayload, "KEi is not in the chosen group " + std::to_string(g),
                    Bytes{std::byte(g >> 8), std::byte(g & 0xff)});
    }
    auto made = crypto::DiffieHellman::generate(*chosen->pfs);
    if (!made) return unexpected(made.error());
    auto secret = made->shared_secret(ke->data);
    if (!secret) return refuse(NotifyType::InvalidSyntax, "KEi: " + secret.error());
    dh.emplace(std::move(*made));
    g_ir = std::move(*secret);
  }
  auto nonce = crypto::random_bytes(kNonceSize);
  if (!nonce) return unexpected("Nr: " + nonce.error());
  const auto spi = spi_source();
  if (!spi) return refuse(NotifyType::NoAdditionalSas, "no inbound SPI: " + spi.error());
  ChildSaConfig agreed = child;
  agreed.pfs_group = chosen->pfs;
  auto made = make_child_sa(sa, agreed, chosen->proposal, *spi, chosen->peer_spi, *local, *remote,
                            ChildKeying{g_ir.reveal(), ni->data, *nonce, false});
  if (!made) return unexpected(made.error());
  Proposal answer = chosen->reply;
  answer.spi = child_spi_bytes(*spi);
  std::vector<Payload> reply;
  if (child.mode == Mode::Transport) reply.emplace_back(notify(NotifyType::UseTransportMode));
  reply.emplace_back(SaPayload{{answer}});
  reply.emplace_back(NoncePayload{*nonce});
  if (dh) reply.emplace_back(KePayload{static_cast<std::uint16_t>(dh->group()), dh->public_value()});
  reply.emplace_back(TsPayload{true, {*remote}});
  reply.emplace_back(TsPayload{false, {*local}});
  auto sealed = seal_protected(sa, ExchangeType::CreateChildSa, message_id, true, reply);
  if (!sealed) return unexpected(sealed.error());
  out.reply = std::move(*sealed);
  out.child = std::move(*made);
  out.ni = ni->data;
  out.nr = std::move(*nonce);
  return out;
}

Expected<Bytes, std::string> refuse_create_child_sa(const IkeSa& sa, std::uint32_t message_id, NotifyType type,
                                                    std::optional<std::uint32_t> spi) {
  NotifyPayload n = notify(type);
  if (spi) {
    n.protocol = static_cast<std::uint8_t>(ProtocolId::Esp);
    n.spi = child_spi_bytes(*spi);
  }
  const Payload p = std::move(n);
  return seal_protected(sa, ExchangeType::CreateChildSa, message_id, true, std::span(&p, 1));
}

bool holds_lowest_nonce(std::span<const std::byte> a_i, std::span<const std::byte> a_r, std::span<const std::byte> b_i,
                        std::span<const std::byte> b_r) {
  auto less = [](std::span<const std::byte> x, std::span<const std::byte> y) {
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
  };
  const auto a = less(a_i, a_r) ? a_i : a_r;
  const auto b = less(b_i, b_r) ? b_i : b_r;
  return less(a, b);
}

}  // namespace ward::ike::v2
