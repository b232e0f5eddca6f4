// Informational exchanges in the engine (engine.h): DELETE received and sent, refusals told to
// peers and read from them (refusal.h), and the DPD notifications handed to engine_dpd.cpp.
#include "ike/service/engine.h"

#include <algorithm>

#include "ike/service/informational.h"

namespace ward::ike::service {

void IkeService::Engine::send_informational(MainMode& mm, std::vector<Payload> payloads, const std::string& what) {
  auto message = build_informational(*mm.sa, std::move(payloads));
  if (!message) {
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": could not build " + what + ": " + message.error());
    return;
  }
  send(mm.peer, *message);
  ++counters_.deletes_sent;
}

bool IkeService::Engine::may_refuse(const IpAddress& peer, NotifyMessageType type) {
  if (refusal_limiter_.allow(now())) return true;
  ++counters_.refusals_rate_limited;
  if (worth_logging(counters_.refusals_rate_limited)) {
    log("IKE: not telling " + peer.to_string() + " " + std::string(ike::name(type)) + ": over the refusal rate limit");
  }
  return false;
}

void IkeService::Engine::refuse_main_mode(const Endpoint& to, const Cookie& initiator_cookie, NotifyMessageType type) {
  if (!may_refuse(to.address, type)) return;
  auto message = build_main_mode_refusal(initiator_cookie, Cookie{}, type);
  if (!message) {
    log("IKE: could not build a refusal for " + to.address.to_string() + ": " + message.error());
    return;
  }
  send(to, *message);
  ++counters_.refusals_sent;
}

void IkeService::Engine::refuse_main_mode_under_keys(MainMode& mm, NotifyMessageType type) {
  if (!may_refuse(mm.peer.address, type)) return;
  // Two informationals: charon stops reading one at an error notification (a DELETE after it
  // in the same message goes unread), so the reason and the DELETE go separately, in that order.
  const auto& cky_i = mm.sa->initiator_cookie();
  const auto& cky_r = mm.sa->responder_cookie();
  auto refusal = build_informational(*mm.sa, {main_mode_refusal(cky_i, cky_r, type)});
  if (!refusal) {
    log("IKE main mode " + sa::hex_cookie(cky_i) + ": could not build a refusal: " + refusal.error());
    return;
  }
  send(mm.peer, *refusal);
  ++counters_.refusals_sent;
  send_informational(mm, {isakmp_delete(cky_i, cky_r)}, "ISAKMP DELETE");
  log("IKE main mode " + sa::hex_cookie(cky_i) + ": told " + mm.peer.address.to_string() + " " +
      std::string(ike::name(type)) + " and deleted the ISAKMP SA (informationals under the phase 1 keys)");
}

void IkeService::Engine::refuse_quick_mode(MainMode& mm, std::uint32_t message_id, NotifyMessageType type) {
  if (!may_refuse(mm.peer.address, type)) return;
  auto message = build_informational(
      *mm.sa, {quick_mode_refusal(mm.sa->initiator_cookie(), mm.sa->responder_cookie(), type, message_id)});
  if (!message) {
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": could not build a refusal: " + message.error());
    return;
  }
  send(mm.peer, *message);
  ++counters_.refusals_sent;
}

void IkeService::Engine::on_unprotected_informational(const Endpoint& from, std::span<const std::byte> bytes,
                                                      const IsakmpHeader& h) {
  // Acted on only as a refusal of a main mode of ours that is not established yet (refusal.h).
  auto message = parse_message(bytes, MessageKind::InformationalUnprotected);
  const Notification* n = message ? message->find<Notification>() : nullptr;
  MainMode* target = nullptr;
  if (n != nullptr && n->is_error()) {
    for (auto& mm : main_modes_) {
      if (mm->dead || mm->sa->established() || mm->sa->state() == sa::Phase1Sa::State::Failed) continue;
      if (mm->peer.address != from.address || mm->sa->initiator_cookie() != h.initiator_cookie) continue;
      const bool awaiting_2 = mm->sa->role() == auth::Role::Initiator && mm->sa->state() == sa::Phase1Sa::State::MainMode1Sent;
      // Awaiting main mode 2, the responder cookie is not known yet: a peer that keeps no state
      // sends zero, charon the cookie it made for the refused exchange.
      if (awaiting_2 || mm->sa->responder_cookie() == h.responder_cookie) {
        target = mm.get();
        break;
      }
    }
  }
  if (target == nullptr) {
    ++counters_.informational_bad;
    if (n != nullptr && n->is_error()) ++counters_.refusals_ignored;
    if (worth_logging(counters_.informational_bad)) {
      log("IKE: ignored an unprotected informational from " + from.address.to_string() +
          (message ? std::string(": no main mode of ours in negotiation matches it") : ": " + message.error().to_string()));
    }
    return;
  }
  ++counters_.refusals_received;
  const auto text = refusal_text(from.address, *n);
  log("IKE main mode " + sa::hex_cookie(target->sa->initiator_cookie()) + ": " + text);
  target->peer_answered = true;
  fail_main_mode(*target, silent(text + " (in state " + std::string(sa::name(target->sa->state())) + ")"),
                 failure_kind(static_cast<NotifyMessageType>(n->message_type)));
}

void IkeService::Engine::on_quick_mode_refusal(MainMode& mm, const Notification& notification) {
  const auto refused = refused_message_id(notification);
  const auto text = refusal_text(mm.peer.address, notification);
  bool matched = false;
  for (auto& ex : exchanges_) {
    if (ex->dead || ex->reported || ex->main_mode != &mm || ex->role != auth::Role::Initiator) continue;
    if (ex->qm->state() != sa::QuickModeExchange::State::QuickMode1Sent) continue;
    if (refused && ex->qm->message_id() != *refused) continue;
    matched = true;
    ex->dead = true;
    ex->reported = true;
    ++counters_.quick_modes_failed;
    log("IKE quick mode " + hex32(ex->qm->message_id()) + " (filter " + std::to_string(ex->policy.filter_id) + "): " + text);
    IkeEvent failed{IkeEvent::Kind::QuickModeFailed, mm.peer.address, ex->role, auth_name(mm), ex->policy.filter_id, 0, 0, text};
    failed.failure = failure_kind(static_cast<NotifyMessageType>(notification.message_type));
    emit(failed);
  }
  if (matched) {
    ++counters_.refusals_received;
  } else {
    ++counters_.refusals_ignored;
    if (worth_logging(counters_.refusals_ignored)) log("IKE: " + text + " - no quick mode of ours awaits an answer");
  }
}

void IkeService::Engine::delete_pair(std::size_t index, const std::string& reason, bool notify, bool rekeyed) {
  const QuickModeSa record = sas_[index];
  sas_.erase(sas_.begin() + static_cast<std::ptrdiff_t>(index));
  std::string errors;
  const bool linger = rekeyed && options_.rekeyed_inbound_linger.count() > 0;
  if (linger) {
    lingering_inbound_.push_back({record.inbound_spi, record.peer.address, now() + options_.rekeyed_inbound_linger});
    errors += "; inbound " + hex32(record.inbound_spi) + " kept " + std::to_string(options_.rekeyed_inbound_linger.count()) +
              " ms for ESP in flight";
  } else if (auto d = dataplane_.delete_sa(record.inbound_spi, driver::crypto::Direction::Inbound); !d) {
    errors += "; " + d.error();
  }
  // Outbound SPIs are the peer's choice: another peer may have chosen the same one.
  if (auto d = dataplane_.delete_sa_of_peer(record.outbound_spi, driver::crypto::Direction::Outbound, record.peer.address); !d) {
    errors += "; " + d.error();
  }
  ++counters_.sas_deleted;
  log("IKE: deleted SAs inbound " + hex32(record.inbound_spi) + " / outbound " + hex32(record.outbound_spi) + " to " +
      record.peer.address.to_string() + " (filter " + std::to_string(record.policy.filter_id) + "): " + reason + errors);
  if (notify && record.ike_version == 2) {
    if (Ikev2Entry* entry = ikev2_by_id(record.ikev2_id); entry != nullptr && !entry->dead) {
      ++counters_.deletes_sent;
      if (ikev2_spent(*entry)) {
        // Deleting the IKE SA deletes its CHILD_SAs with it (RFC 7296 1.4.1).
        log(ikev2_name(*entry) + ": reached its limit of " + std::to_string(entry->quick_mode_limit) +
            " CHILD_SAs and its last one is gone: deleting it");
        entry->deleting = true;
        after_ikev2_step(*entry, entry->sa->transition(Ikev2Sa::DeleteIkeSa{}, now()));
      } else {
        auto out = entry->sa->transition(Ikev2Sa::DeleteChildren{{record.inbound_spi}}, now());
        for (const auto& message : out.send) send(entry->peer, message);
      }
    }
  } else if (notify) {
    if (MainMode* mm = usable_main_mode(record.peer.address); mm != nullptr && mm->sa->established()) {
      send_informational(*mm, ipsec_deletes(record.chosen, record.inbound_spi, record.inbound_ah_spi), "DELETE");
    }
  }
  emit(IkeEvent{IkeEvent::Kind::SasDeleted, record.peer.address, record.role, record.auth_method, record.policy.filter_id,
                record.inbound_spi, record.outbound_spi, reason});
  if (record.ike_version == 1) retire_spent_main_modes(record.peer.address);
}

void IkeService::Engine::delete_lingering_inbound(TimePoint t, bool all) {
  std::erase_if(lingering_inbound_, [&](const LingeringInbound& l) {
    if (!all && l.until > t) return false;
    std::string error;
    if (auto d = dataplane_.delete_sa(l.spi, driver::crypto::Direction::Inbound); !d) error = ": " + d.error();
    log("IKE: deleted the rekeyed inbound SA " + hex32(l.spi) + " from " + l.peer.to_string() + error);
    return true;
  });
}

bool IkeService::Engine::ikev2_spent(const Ikev2Entry& entry) const {
  if (!entry.sa->initiator() || !entry.sa->established() || entry.quick_mode_limit == 0) return false;
  if (entry.children_established < entry.quick_mode_limit || !entry.adding.empty()) return false;
  return std::none_of(sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.ikev2_id == entry.id; });
}

void IkeService::Engine::retire_spent_main_modes(const IpAddress& peer) {
  const bool has_sas =
      std::any_of(sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.ike_version == 1 && s.peer.address == peer; });
  if (has_sas) return;
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != peer || !mm->sa->established() || mm->sa->role() != auth::Role::Initiator) continue;
    if (mm->quick_mode_limit == 0 || mm->quick_modes_established < mm->quick_mode_limit) continue;
    const bool installing = std::any_of(exchanges_.begin(), exchanges_.end(),
                                        [&](const auto& ex) { return ex->main_mode == mm.get() && ex->release_outbound_at; });
    if (installing || in_flight(*mm) != 0) continue;
    log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + " with " + peer.to_string() + ": reached its limit of " +
        std::to_string(mm->quick_mode_limit) + " quick modes and its last SAs are gone: deleting it");
    send_informational(*mm, {isakmp_delete(mm->sa->initiator_cookie(), mm->sa->responder_cookie())}, "ISAKMP DELETE");
    mm->dead = true;
    changed();
  }
}

void IkeService::Engine::on_informational(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h) {
  if (!h.has(HeaderFlag::Encryption)) {
    on_unprotected_informational(from, bytes, h);
    return;
  }
  MainMode* mm = main_mode_by_cookies(h, from.address);
  if (mm == nullptr || !mm->sa->keys_shared()) {
    // Protected informationals need a main mode with keys (unprotected ones: above).
    ++counters_.informational_bad;
    if (worth_logging(counters_.informational_bad)) {
      log("IKE: ignored an informational from " + from.address.to_string() + ": no main mode with keys matches it");
    }
    return;
  }
  auto message = open_informational(*mm->sa, bytes);
  if (!message) {
    ++counters_.informational_bad;
    if (worth_logging(counters_.informational_bad)) log("IKE: dropped an informational from " + from.address.to_string() + ": " + message.error());
    return;
  }
  std::vector<std::byte> ours(mm->sa->initiator_cookie().begin(), mm->sa->initiator_cookie().end());
  ours.insert(ours.end(), mm->sa->responder_cookie().begin(), mm->sa->responder_cookie().end());
  const auto deletes = message->all<Delete>();
  const bool deletes_main_mode = std::any_of(deletes.begin(), deletes.end(), [&](const Delete* d) {
    return d->protocol == ProtocolId::Isakmp && d->spi_size == kIsakmpSpiSize && std::ranges::find(d->spis, ours) != d->spis.end();
  });
  for (const auto* notification : message->all<Notification>()) {
    if (notification->is(NotifyMessageType::RUThere) || notification->is(NotifyMessageType::RUThereAck)) {
      on_dpd_notification(*mm, *notification);
      continue;
    }
    // An error for the main mode itself (refusal.h: SPI = the cookie pair, no data; a quick mode
    // refusal carries the refused Message ID): the peer refused our main mode 5 (we are not
    // established yet) or refuses the SA it counted established (its DELETE follows).
    if (notification->is_error() && notification->spi == ours && notification->data.empty()) {
      ++counters_.refusals_received;
      mm->refused_by_peer = refusal_text(from.address, *notification);
      mm->refused_kind = failure_kind(static_cast<NotifyMessageType>(notification->message_type));
      log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + ": " + mm->refused_by_peer);
      continue;
    }
    if (notification->is_error()) {
      on_quick_mode_refusal(*mm, *notification);
      continue;
    }
    log("IKE: " + from.address.to_string() + " notifies " + std::to_string(notification->message_type));
  }
  if (!mm->sa->established()) {
    mm->peer_answered = true;
    if (!mm->refused_by_peer.empty() || deletes_main_mode) {
      const std::string reason =
          mm->refused_by_peer.empty() ? "peer " + from.address.to_string() + " deleted the ISAKMP SA" : mm->refused_by_peer;
      fail_main_mode(*mm, silent(reason + " (in state " + std::string(sa::name(mm->sa->state())) + ")"),
                     mm->refused_by_peer.empty() ? FailureKind::Other : mm->refused_kind);
    }
    return;
  }
  if (mm->dpd) mm->dpd->heard(now());   // HASH(1) checked: the peer is alive (after an ACK is matched)
  for (const auto* d : deletes) {
    ++counters_.deletes_received;
    if (d->protocol == ProtocolId::Isakmp && d->spi_size == kIsakmpSpiSize) {
      if (std::ranges::find(d->spis, ours) != d->spis.end() && !mm->dead) {
        log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + ": the peer deleted it");
        mm->dead = true;
        changed();
        // After a refusal of the SA (the peer could not verify our main mode 6): say why, as a
        // deleted phase 1 SA (SasDeleted with no SPIs).
        if (!mm->refused_by_peer.empty()) {
          emit(IkeEvent{IkeEvent::Kind::SasDeleted, mm->peer.address, mm->sa->role(), auth_name(*mm), 0, 0, 0,
                        mm->refused_by_peer + "; the peer deleted the ISAKMP SA"});
        }
      }
      continue;
    }
    const bool esp = d->protocol == ProtocolId::IpsecEsp;
    if ((!esp && d->protocol != ProtocolId::IpsecAh) || d->spi_size != kIpsecSpiSize) continue;
    for (const auto& raw : d->spis) {
      const std::uint32_t spi = static_cast<std::uint32_t>(raw[0]) << 24 | static_cast<std::uint32_t>(raw[1]) << 16 |
                                static_cast<std::uint32_t>(raw[2]) << 8 | static_cast<std::uint32_t>(raw[3]);
      for (std::size_t i = 0; i < sas_.size(); ++i) {
        const auto& record = sas_[i];
        // The record's SPIs of the deleted protocol: ESP's, AH's of a bundle, or AH's alone.
        const bool main_protocol = esp == record.chosen.esp.has_value();
        const bool named = spi != 0 && (main_protocol ? (record.outbound_spi == spi || record.inbound_spi == spi)
                                         : !esp && (record.outbound_ah_spi == spi || record.inbound_ah_spi == spi));
        if (record.peer.address == from.address && named) {
          delete_pair(i, "the peer sent DELETE for " + std::string(esp ? "ESP" : "AH") + " SPI " + hex32(spi), false);
          break;
        }
      }
    }
  }
}

}  // namespace ward::ike::service
