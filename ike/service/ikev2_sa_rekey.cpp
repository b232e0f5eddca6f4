// Ikev2Sa (ikev2_sa.h), its CREATE_CHILD_SA exchanges: a CHILD_SA's rekey as requester and as
// answerer, with 2.8.1's rule for a simultaneous one; the IKE SA's rekey both ways, the move to
// the new IKE SA and what the old one still answers until it is deleted.
#include <algorithm>

#include "ike/service/ikev2_sa.h"
#include "ike/v2/create_child_sa.h"
#include "ike/v2/ike_rekey.h"

namespace ward::ike::service {

using v2::ExchangeType;
using v2::NotifyType;

std::vector<std::pair<std::uint32_t, std::uint32_t>> Ikev2Sa::child_spis() const {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (const auto& c : children_) out.emplace_back(c.inbound, c.outbound);
  return out;
}

Ikev2Sa::Child* Ikev2Sa::child_by_inbound(std::uint32_t spi) {
  for (auto& c : children_)
    if (c.inbound == spi) return &c;
  return nullptr;
}

void Ikev2Sa::add_child(const v2::ChildSa& sa, const v2::ChildSaConfig& config) {
  Child c;
  c.inbound = sa.inbound_spi;
  c.outbound = sa.outbound_spi;
  c.config = config;
  c.config.local = sa.local;    // a rekey proposes the selectors as narrowed
  c.config.remote = sa.remote;
  c.config.refuse_with.reset();
  children_.push_back(std::move(c));
}

void Ikev2Sa::retire_children(std::vector<std::uint32_t> inbound_spis, sa::TimePoint now, Output& out) {
  std::erase_if(children_, [&](const Child& c) { return std::find(inbound_spis.begin(), inbound_spis.end(), c.inbound) != inbound_spis.end(); });
  PendingRequest pending;
  pending.build = [this, spis = inbound_spis](std::uint32_t id) { return v2::delete_child_sa_request(*sa_, id, spis); };
  pending.retires = std::move(inbound_spis);
  request(std::move(pending), now, out);
}

void Ikev2Sa::rekey_child(std::uint32_t inbound_spi, sa::TimePoint now, Output& out) {
  Child* old = child_by_inbound(inbound_spi);
  if (old == nullptr || old->rekeying || old->replaced) {
    out.rekey_failed.emplace_back(inbound_spi, old == nullptr ? "no such CHILD_SA in the IKE SA" : "a rekey of it is under way");
    return;
  }
  auto spi = hooks_.allocate_spi ? hooks_.allocate_spi() : v2::random_esp_spi();
  if (!spi) {
    out.rekey_failed.emplace_back(inbound_spi, "no inbound SPI: " + spi.error());
    return;
  }
  auto made = v2::ChildRekeyInitiator::create(old->config, inbound_spi, *spi);
  if (!made) {
    if (hooks_.release_spi) hooks_.release_spi(*spi);
    out.rekey_failed.emplace_back(inbound_spi, made.error());
    return;
  }
  old->rekeying = true;
  old->collision.reset();
  auto initiator = std::make_shared<v2::ChildRekeyInitiator>(std::move(*made));
  PendingRequest pending;
  pending.exchange = ExchangeType::CreateChildSa;
  pending.build = [this, initiator](std::uint32_t id) { return initiator->build_request(*sa_, id); };
  pending.on_answer = [this, initiator](const std::vector<v2::Payload>* payloads, sa::TimePoint at, Output& answer) {
    const auto old_spi = initiator->old_inbound_spi();
    Child* old_child = child_by_inbound(old_spi);
    if (old_child != nullptr) old_child->rekeying = false;
    std::optional<NotifyType> refused;
    auto child = payloads != nullptr ? initiator->consume_response(*sa_, *payloads, &refused)
                                     : Expected<v2::ChildSa, std::string>(unexpected(std::string("the request could not be built")));
    if (!child) {
      if (hooks_.release_spi) hooks_.release_spi(initiator->own_spi());
      answer.rekey_failed.emplace_back(old_spi, child.error());
      return;
    }
    v2::Bytes nr;
    for (const auto& p : *payloads)
      if (const auto* n = std::get_if<v2::NoncePayload>(&p)) nr = n->data;
    add_child(*child, old_child != nullptr ? old_child->config : child_);
    children_.back().config.pfs_group = child->pfs ? child->pfs : children_.back().config.pfs_group;
    const std::uint32_t new_spi = child->inbound_spi;
    answer.rekeyed.push_back(Rekeyed{std::move(*child), old_spi});
    old_child = child_by_inbound(old_spi);   // add_child may have moved it
    if (old_child != nullptr && old_child->collision &&
        v2::holds_lowest_nonce(initiator->nonce(), nr, old_child->collision->ni, old_child->collision->nr)) {
      // 2.8.1: both rekeyed it and our exchange holds the lowest nonce: ours is the redundant
      // SA, deleted by us; the old one is the peer's to delete (its successor survives).
      old_child->replaced = true;
      old_child->collision.reset();
      retire_children({new_spi}, at, answer);
      return;
    }
    // The old pair went meanwhile (our DELETE of it, a filter gone): its successor goes too.
    retire_children({old_child != nullptr ? old_spi : new_spi}, at, answer);
  };
  request(std::move(pending), now, out);
}

void Ikev2Sa::add_further_child(v2::ChildSaConfig config, sa::TimePoint now, Output& out) {
  const auto filter_id = config.filter_id;
  auto spi = hooks_.allocate_spi ? hooks_.allocate_spi() : v2::random_esp_spi();
  if (!spi) {
    out.add_child_failed.emplace_back(filter_id, "no inbound SPI: " + spi.error());
    return;
  }
  auto made = v2::ChildRekeyInitiator::create(config, 0, *spi);
  if (!made) {
    if (hooks_.release_spi) hooks_.release_spi(*spi);
    out.add_child_failed.emplace_back(filter_id, made.error());
    return;
  }
  auto initiator = std::make_shared<v2::ChildRekeyInitiator>(std::move(*made));
  PendingRequest pending;
  pending.exchange = ExchangeType::CreateChildSa;
  pending.build = [this, initiator](std::uint32_t id) { return initiator->build_request(*sa_, id); };
  pending.on_answer = [this, initiator, config = std::move(config)](const std::vector<v2::Payload>* payloads, sa::TimePoint,
                                                                    Output& answer) {
    auto child = payloads != nullptr ? initiator->consume_response(*sa_, *payloads)
                                     : Expected<v2::ChildSa, std::string>(unexpected(std::string("the request could not be built")));
    if (!child) {
      if (hooks_.release_spi) hooks_.release_spi(initiator->own_spi());
      answer.add_child_failed.emplace_back(config.filter_id, child.error());
      return;
    }
    add_child(*child, config);
    answer.rekeyed.push_back(Rekeyed{std::move(*child), 0});
  };
  request(std::move(pending), now, out);
}

void Ikev2Sa::on_create_child_sa(const v2::Header& header, std::vector<v2::Payload> payloads, Output& out) {
  auto respond = [&](v2::Bytes reply) {
    out.peer_answered = true;
    last_response_ = reply;
    ++expected_request_id_;
    out.send.push_back(std::move(reply));
  };
  auto request = v2::classify_create_child_sa(std::move(payloads));
  if (request.kind == v2::CreateChildSaRequest::Kind::RekeyIkeSa) {
    // Both rekeying the IKE SA: the original responder takes the original initiator's rekey (and
    // its own is refused). Otherwise a request of ours under way would be answered under keys we
    // no longer hold, and the last rekey must be finished first: the peer tries again (2.25).
    const bool crossing = outstanding_request_ && outstanding_request_->rekeys_ike_sa;
    if (retiring_ || (outstanding_ && !(crossing && !sa_->initiator))) {
      if (auto refusal = v2::refuse_create_child_sa(*sa_, header.message_id, NotifyType::TemporaryFailure)) respond(std::move(*refusal));
      return;
    }
    auto reply = v2::answer_ike_rekey(*sa_, header.message_id, ike_proposals_, request.payloads);
    if (!reply) return;
    respond(reply->reply);
    if (reply->sa) move_to(std::move(*reply->sa), false, out);
    return;
  }
  std::uint32_t spi = 0;
  const v2::SpiSource source = [&]() -> Expected<std::uint32_t, std::string> {
    auto allocated = hooks_.allocate_spi ? hooks_.allocate_spi() : v2::random_esp_spi();
    if (allocated) spi = *allocated;
    return allocated;
  };
  if (request.kind == v2::CreateChildSaRequest::Kind::NewChildSa) {
    // A further CHILD_SA (1.3.1) for the peer's first TSi / TSr, as the policy says (IKE_AUTH's
    // child_for): answered like a rekey, without one to replace.
    const v2::TsPayload* tsi = nullptr;
    const v2::TsPayload* tsr = nullptr;
    for (const auto& p : request.payloads)
      if (const auto* ts = std::get_if<v2::TsPayload>(&p)) (ts->initiator ? tsi : tsr) = ts;
    std::optional<NotifyType> refusal;
    Expected<v2::ChildSaConfig, IkeError> config = unexpected(silent("no policy"));
    if (tsi == nullptr || tsr == nullptr || tsi->selectors.empty() || tsr->selectors.empty()) {
      refusal = NotifyType::InvalidSyntax;
    } else if (!hooks_.child_for) {
      refusal = NotifyType::NoAdditionalSas;
    } else if (config = hooks_.child_for(tsi->selectors[0], tsr->selectors[0]); !config) {
      refusal = child_refusal(config.error());
    }
    if (refusal) {
      if (auto refused = v2::refuse_create_child_sa(*sa_, header.message_id, *refusal)) respond(std::move(*refused));
      return;
    }
    auto reply = v2::answer_child_rekey(*sa_, header.message_id, *config, request.payloads, source);
    if (!reply) {
      if (spi != 0 && hooks_.release_spi) hooks_.release_spi(spi);
      return;
    }
    respond(reply->reply);
    if (!reply->child) {
      if (spi != 0 && hooks_.release_spi) hooks_.release_spi(spi);
      return;
    }
    config->pfs_group = reply->child->pfs ? reply->child->pfs : config->pfs_group;
    add_child(*reply->child, *config);
    out.rekeyed.push_back(Rekeyed{std::move(*reply->child), 0});
    return;
  }
  Child* old = nullptr;
  for (auto& c : children_)
    if (c.outbound == request.rekeyed_spi) old = &c;
  if (old == nullptr || old->replaced) {
    // Gone, or already succeeded (its DELETE is on the way): 2.25 answers CHILD_SA_NOT_FOUND
    // for the first, TEMPORARY_FAILURE for the second.
    auto refusal = old == nullptr
                       ? v2::refuse_create_child_sa(*sa_, header.message_id, NotifyType::ChildSaNotFound, request.rekeyed_spi)
                       : v2::refuse_create_child_sa(*sa_, header.message_id, NotifyType::TemporaryFailure);
    if (refusal) respond(std::move(*refusal));
    return;
  }
  auto reply = v2::answer_child_rekey(*sa_, header.message_id, old->config, request.payloads, source);
  if (!reply) {
    if (spi != 0 && hooks_.release_spi) hooks_.release_spi(spi);
    return;
  }
  respond(reply->reply);
  if (!reply->child) {
    if (spi != 0 && hooks_.release_spi) hooks_.release_spi(spi);
    return;
  }
  const std::uint32_t old_inbound = old->inbound;
  if (old->rekeying) {
    old->collision = Collision{reply->ni, reply->nr};
  } else {
    old->replaced = true;   // the peer deletes it now
  }
  auto config = old->config;
  config.pfs_group = reply->child->pfs ? reply->child->pfs : config.pfs_group;
  add_child(*reply->child, config);
  out.rekeyed.push_back(Rekeyed{std::move(*reply->child), old_inbound});
}

void Ikev2Sa::rekey_ike_sa(sa::TimePoint now, Output& out) {
  if (ike_rekeying_ || retiring_) return;
  auto made = v2::IkeRekeyInitiator::create(*sa_);
  if (!made) {
    out.ike_rekey_failed = made.error();
    return;
  }
  ike_rekeying_ = true;
  auto initiator = std::make_shared<v2::IkeRekeyInitiator>(std::move(*made));
  PendingRequest pending;
  pending.exchange = ExchangeType::CreateChildSa;
  pending.rekeys_ike_sa = true;
  pending.build = [this, initiator](std::uint32_t id) { return initiator->build_request(*sa_, id); };
  pending.on_answer = [this, initiator](const std::vector<v2::Payload>* payloads, sa::TimePoint, Output& answer) {
    ike_rekeying_ = false;
    if (payloads == nullptr) {
      answer.ike_rekey_failed = "the request could not be built";
      return;
    }
    auto next = initiator->consume_response(*sa_, *payloads);
    if (!next) {
      answer.ike_rekey_failed = next.error();
      return;
    }
    move_to(std::move(*next), true, answer);
  };
  request(std::move(pending), now, out);
}

void Ikev2Sa::move_to(v2::IkeSa next, bool we_requested, Output& out) {
  out.ike_rekeyed = sa_->spis();
  retiring_ = Retiring{std::move(*sa_), next_request_id_, expected_request_id_, last_response_};
  next.fragmentation = retiring_->sa.fragmentation;   // RFC 7383 2.3: the rekeyed IKE SA inherits it
  sa_.emplace(std::move(next));
  reassembler_ = v2::Reassembler();                     // fragments under the old keys are lost
  fragmented_.clear();
  next_request_id_ = 0;   // 2.18: the new IKE SA's counters start at 0
  expected_request_id_ = 0;
  last_response_.clear();
  if (!we_requested) return;
  // The requester deletes the old IKE SA, under its keys and message IDs, before anything else.
  PendingRequest pending;
  pending.on_retiring_sa = true;
  pending.message_id = retiring_->next_request_id;
  pending.build = [this](std::uint32_t id) { return v2::delete_ike_sa_request(retiring_->sa, id); };
  pending.on_answer = [this](const std::vector<v2::Payload>*, sa::TimePoint, Output&) { retiring_.reset(); };
  queued_.push_front(std::move(pending));
}

void Ikev2Sa::on_retiring(const v2::Header& header, std::span<const std::byte> bytes, Output& out) {
  auto& old = *retiring_;
  if (header.message_id + 1 == old.expected_request_id) {
    if (v2::open_protected(old.sa, bytes)) out.send.push_back(old.last_response);   // repeated: answered again
    return;
  }
  if (header.message_id != old.expected_request_id || header.exchange != ExchangeType::Informational) return;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> outbound_to_inbound;
  for (const auto& c : children_) outbound_to_inbound.emplace_back(c.outbound, c.inbound);
  auto answer = v2::answer_informational(old.sa, bytes, outbound_to_inbound);
  if (!answer) return;
  out.peer_answered = true;
  out.send.push_back(answer->reply);
  if (answer->delete_ike_sa) {
    retiring_.reset();   // the requester deleted the old IKE SA: done with it
    return;
  }
  old.last_response = answer->reply;
  ++old.expected_request_id;
  if (!answer->deleted_outbound_spis.empty()) {
    out.peer_deleted_outbound_spis = answer->deleted_outbound_spis;
    std::erase_if(children_, [&](const Child& c) {
      return std::find(answer->deleted_outbound_spis.begin(), answer->deleted_outbound_spis.end(), c.outbound) !=
             answer->deleted_outbound_spis.end();
    });
  }
}

}  // namespace ward::ike::service
