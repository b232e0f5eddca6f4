#include "ike/v2/ike_rekey.h"

#include <algorithm>

#include "ike/crypto/prf.h"
#include "ike/v2/protected_message.h"

namespace ward::ike::v2 {
namespace {

// The new IKE SA; `requester` says whether this side started the rekey (and so is its initiator).
Expected<IkeSa, std::string> make_ike_sa(const IkeSa& old, const IkeProposal& proposal, bool requester, const Spi& spi_i,
                                         const Spi& spi_r, Bytes ni, Bytes nr, const SecureBytes& g_ir) {
  IkeSa sa;
  sa.initiator = requester;
  sa.spi_i = spi_i;
  sa.spi_r = spi_r;
  sa.proposal = proposal;
  sa.ni = std::move(ni);
  sa.nr = std::move(nr);
  sa.local_behind_nat = old.local_behind_nat;
  sa.peer_behind_nat = old.peer_behind_nat;
  sa.next_message_id = 0;
  // 2.18: the rekey belongs to the old IKE SA, so SKEYSEED uses its PRF; prf+ the new one's.
  const auto seed = skeyseed_rekey(old.proposal.prf, old.keys.sk_d.reveal(), g_ir.reveal(), sa.ni, sa.nr);
  const SkSuite suite = proposal.suite();
  auto keys = derive_ike_sa_keys(proposal.prf, seed, sa.ni, sa.nr, sa.spi_i, sa.spi_r, suite.integrity_key_size(),
                                 suite.encryption_key_size());
  if (!keys) return unexpected(keys.error());
  sa.keys = std::move(*keys);
  return sa;
}

Expected<Spi, std::string> spi_of(const Proposal& p) {
  if (p.spi.size() != kSpiSize) return unexpected("the IKE proposal's SPI has " + std::to_string(p.spi.size()) + " bytes, not 8");
  Spi spi{};
  std::copy(p.spi.begin(), p.spi.end(), spi.begin());
  if (std::all_of(spi.begin(), spi.end(), [](std::byte b) { return b == std::byte{0}; })) return unexpected(std::string("the IKE proposal's SPI is zero"));
  return spi;
}

}  // namespace

Expected<IkeRekeyInitiator, std::string> IkeRekeyInitiator::create(const IkeSa& old) {
  auto spi = random_ike_spi();
  if (!spi) return unexpected(spi.error());
  auto nonce = crypto::random_bytes(kNonceSize);
  if (!nonce) return unexpected("Ni: " + nonce.error());
  auto dh = crypto::DiffieHellman::generate(old.proposal.group);
  if (!dh) return unexpected("KEi: " + dh.error());
  return IkeRekeyInitiator(old.proposal, *spi, std::move(*nonce), std::move(*dh));
}

Expected<Bytes, std::string> IkeRekeyInitiator::build_request(const IkeSa& old, std::uint32_t message_id) const {
  auto proposals = ike_proposals({proposal_});
  proposals.front().spi.assign(spi_.begin(), spi_.end());
  std::vector<Payload> inner;
  inner.emplace_back(SaPayload{std::move(proposals)});
  inner.emplace_back(NoncePayload{ni_});
  inner.emplace_back(KePayload{static_cast<std::uint16_t>(dh_.group()), dh_.public_value()});
  return seal_protected(old, ExchangeType::CreateChildSa, message_id, false, inner);
}

Expected<IkeSa, std::string> IkeRekeyInitiator::consume_response(const IkeSa& old, const std::vector<Payload>& inner,
                                                                 std::optional<NotifyType>* refused_with) const {
  for (const auto& p : inner) {
    if (const auto* n = std::get_if<NotifyPayload>(&p); n && n->is_error()) {
      if (refused_with != nullptr) *refused_with = static_cast<NotifyType>(n->type);
      return unexpected("the peer answered the IKE SA's rekey with " + std::string(name(static_cast<NotifyType>(n->type))));
    }
  }
  const auto* sa = find_payload<SaPayload>(inner);
  const auto* nr = find_payload<NoncePayload>(inner);
  const auto* ke = find_payload<KePayload>(inner);
  if (sa == nullptr || nr == nullptr || ke == nullptr) return unexpected(std::string("IKE SA rekey response without SA, Nr or KEr"));
  if (sa->proposals.size() != 1) return unexpected(std::string("the responder chose more than one IKE proposal"));
  auto chosen = choose_ike({proposal_}, *sa);
  if (!chosen) return unexpected("the responder chose an IKE proposal Ward did not offer: " + chosen.error());
  auto spi_r = spi_of(sa->proposals.front());
  if (!spi_r) return unexpected(spi_r.error());
  if (ke->group != static_cast<std::uint16_t>(dh_.group())) {
    return unexpected("the responder's KEr is in group " + std::to_string(ke->group) + ", not " +
                      std::to_string(static_cast<unsigned>(dh_.group())));
  }
  auto g_ir = dh_.shared_secret(ke->data);
  if (!g_ir) return unexpected("KEr: " + g_ir.error());
  return make_ike_sa(old, proposal_, true, spi_, *spi_r, ni_, nr->data, *g_ir);
}

Expected<IkeRekeyReply, std::string> answer_ike_rekey(const IkeSa& old, std::uint32_t message_id, const std::vector<IkeProposal>& ours,
                                                      const std::vector<Payload>& request) {
  auto refuse = [&](NotifyPayload n, std::string why) -> Expected<IkeRekeyReply, std::string> {
    const Payload p = std::move(n);
    auto sealed = seal_protected(old, ExchangeType::CreateChildSa, message_id, true, std::span(&p, 1));
    if (!sealed) return unexpected(sealed.error());
    return IkeRekeyReply{std::move(*sealed), std::nullopt, std::move(why)};
  };
  const auto* sai = find_payload<SaPayload>(request);
  const auto* ni = find_payload<NoncePayload>(request);
  const auto* ke = find_payload<KePayload>(request);
  if (sai == nullptr || ni == nullptr || ke == nullptr) return refuse(notify(NotifyType::InvalidSyntax), "IKE SA rekey without SA, Ni or KEi");
  auto chosen = choose_ike(ours, *sai);
  if (!chosen) return refuse(notify(NotifyType::NoProposalChosen), chosen.error());
  const Proposal* theirs = nullptr;
  for (const auto& p : sai->proposals)
    if (p.number == chosen->reply.number && p.protocol == ProtocolId::Ike) theirs = &p;
  if (theirs == nullptr) return refuse(notify(NotifyType::InvalidSyntax), "the chosen IKE proposal is not in the request");
  auto spi_i = spi_of(*theirs);
  if (!spi_i) return refuse(notify(NotifyType::InvalidSyntax), spi_i.error());
  const auto group = static_cast<std::uint16_t>(chosen->proposal.group);
  if (ke->group != group) {
    return refuse(notify(NotifyType::InvalidKePayload, {std::byte(group >> 8), std::byte(group & 0xff)}),
                  "KEi is group " + std::to_string(ke->group) + ", the chosen proposal's is " + std::to_string(group));
  }
  auto dh = crypto::DiffieHellman::generate(chosen->proposal.group);
  if (!dh) return unexpected(dh.error());
  auto g_ir = dh->shared_secret(ke->data);
  if (!g_ir) return refuse(notify(NotifyType::InvalidSyntax), "KEi: " + g_ir.error());
  auto spi_r = random_ike_spi();
  auto nonce = crypto::random_bytes(kNonceSize);
  if (!spi_r || !nonce) return unexpected(std::string("random bytes failed"));
  auto made = make_ike_sa(old, chosen->proposal, false, *spi_i, *spi_r, ni->data, *nonce, *g_ir);
  if (!made) return unexpected(made.error());
  Proposal answer = chosen->reply;
  answer.spi.assign(spi_r->begin(), spi_r->end());
  std::vector<Payload> reply;
  reply.emplace_back(SaPayload{{answer}});
  reply.emplace_back(NoncePayload{std::move(*nonce)});
  reply.emplace_back(KePayload{group, dh->public_value()});
  auto sealed = seal_protected(old, ExchangeType::CreateChildSa, message_id, true, reply);
  if (!sealed) return unexpected(sealed.error());
  return IkeRekeyReply{std::move(*sealed), std::move(*made), {}};
}

}  // namespace ward::ike::v2
