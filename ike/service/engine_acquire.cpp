// Requests to the engine (engine.h): acquires (coalesced, or starting a quick mode and the main
// mode it needs), SA expiry (rekey), phase 1 renewal (phase1_renewal.h), filters going away and
// shutdown.
#include "ike/service/engine.h"

#include <algorithm>
#include <set>

#include "ike/service/informational.h"

namespace ward::ike::service {

void IkeService::Engine::initiate(const driver::Acquire& acquire) {
  ++counters_.acquires;
  bool covered = false;
  const auto t = now();
  for (std::size_t i = sas_.size(); i-- > 0;) {
    if (sas_[i].peer.address != acquire.peer || sas_[i].policy.filter_id != acquire.filter_id) continue;
    if (t - sas_[i].established < options_.acquire_grace) {
      covered = true;
      continue;
    }
    delete_pair(i, "the dataplane asked for a new SA: this pair was removed outside IKE", true);
  }
  if (covered || negotiating(acquire.peer, acquire.filter_id)) {
    ++counters_.acquires_coalesced;
    knock_again(acquire.peer, t);
    return;
  }
  negotiate(acquire, std::nullopt);
}

void IkeService::Engine::knock_again(const IpAddress& peer, TimePoint t) {
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != peer || mm->sa->role() != auth::Role::Initiator) continue;
    if (mm->sa->state() != sa::Phase1Sa::State::MainMode1Sent || mm->peer_answered) continue;
    if (t - mm->knocked.value_or(mm->created) < kKnockInterval) continue;
    mm->knocked = t;
    send(mm->peer, mm->sa->last_sent());
    if (worth_logging(++mm->knocks)) {
      log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + ": " + peer.to_string() +
          " has not answered and traffic waits for it: main mode 1 sent again (" + std::to_string(mm->knocks) + " times)");
    }
  }
}

void IkeService::Engine::negotiate(const driver::Acquire& acquire, std::optional<QuickModePolicy> known) {
  IkeEvent failed{IkeEvent::Kind::QuickModeFailed, acquire.peer, auth::Role::Initiator, {}, acquire.filter_id, 0, 0, {}};
  auto qm_policy = known ? Expected<QuickModePolicy, std::string>(std::move(*known)) : policy_.quick_mode_for_acquire(acquire);
  if (!qm_policy) {
    ++counters_.no_policy;
    failed.reason = "no quick mode policy for filter " + std::to_string(acquire.filter_id) + ": " + qm_policy.error();
    failed.failure = FailureKind::NoPolicy;
    emit(failed);
    return;
  }
  if (add_ikev2_child(acquire, *qm_policy) || start_ikev2(acquire, *qm_policy)) return;
  if (MainMode* mm = main_mode_for_new_quick_mode(acquire.peer)) {
    start_quick_mode(*mm, std::move(*qm_policy));
    return;
  }
  std::vector<PendingQuickMode> pending;
  pending.push_back(PendingQuickMode{std::move(*qm_policy), now()});
  if (auto started = start_main_mode(acquire.peer, acquire.filter_id, std::move(pending)); !started) {
    ++counters_.no_policy;
    failed.kind = IkeEvent::Kind::MainModeFailed;
    failed.reason = started.error();
    failed.failure = FailureKind::NoPolicy;
    emit(failed);
  }
}

void IkeService::Engine::renew(MainMode& mm) {
  const auto& peer = mm.peer.address;
  const auto cookie = sa::hex_cookie(mm.sa->initiator_cookie());
  for (const auto& other : main_modes_) {
    if (other.get() == &mm || other->dead || other->peer.address != peer || other->sa->state() == sa::Phase1Sa::State::Failed) continue;
    if (!other->sa->established() || (other->expires && mm.expires && *other->expires > *mm.expires)) {
      log("IKE main mode " + cookie + " with " + peer.to_string() + ": near its end; a newer main mode is up or under way");
      return;
    }
  }
  const bool has_sas = std::any_of(sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.peer.address == peer; });
  if (!has_sas && mm.pending.empty()) {
    log("IKE main mode " + cookie + " with " + peer.to_string() + ": near its end; no quick mode SAs with the peer, not renewed");
    return;
  }
  auto started = start_main_mode(peer, std::nullopt, {});
  if (!started) {
    log("IKE main mode " + cookie + " with " + peer.to_string() + ": could not renew it: " + started.error());
    return;
  }
  log("IKE main mode " + cookie + " with " + peer.to_string() + ": renewing phase 1 before its lifetime ends" +
      (*started != nullptr ? " (new main mode " + sa::hex_cookie((*started)->sa->initiator_cookie()) + ")" : std::string()));
}

void IkeService::Engine::expiry(const driver::SaExpiry& expiry) {
  for (std::size_t i = 0; i < sas_.size(); ++i) {
    auto& record = sas_[i];
    const bool match = expiry.direction == driver::crypto::Direction::Outbound ? record.outbound_spi == expiry.spi
                                                                               : record.inbound_spi == expiry.spi;
    if (!match) continue;
    if (expiry.kind == driver::ExpiryKind::Hard) {
      log("IKE: SA " + hex32(expiry.spi) + " to " + record.peer.address.to_string() + " reached its hard lifetime");
      const auto version = record.ike_version;
      const auto peer = record.peer.address;
      sas_.erase(sas_.begin() + static_cast<std::ptrdiff_t>(i));
      changed();
      if (version == 1) retire_spent_main_modes(peer);
      return;
    }
    if (record.rekeying || negotiating(record.peer.address, record.policy.filter_id)) return;
    if (record.policy.default_response) {
      // A dynamic filter's SAs are the initiator's to rekey; ours end with their hard lifetime.
      log("IKE: SA " + hex32(expiry.spi) + " to " + record.peer.address.to_string() +
          " reached its soft lifetime: a default response SA, the initiator rekeys");
      return;
    }
    if (record.ike_version == 2 && rekey_ikev2_child(record)) return;
    record.rekeying = true;
    log("IKE: SA " + hex32(expiry.spi) + " to " + record.peer.address.to_string() + " reached its soft lifetime: rekeying");
    driver::Acquire acquire;
    acquire.filter_id = record.policy.filter_id;
    acquire.peer = record.peer.address;
    acquire.source = record.policy.local.prefix.address();
    acquire.destination = record.policy.remote.prefix.address();
    negotiate(acquire, record.policy);
    return;
  }
}

void IkeService::Engine::retain(const std::vector<std::uint32_t>& live) {
  const std::set<std::uint32_t> keep(live.begin(), live.end());
  changed();
  for (std::size_t i = sas_.size(); i-- > 0;) {
    if (!keep.contains(sas_[i].policy.filter_id)) {
      delete_pair(i, "filter " + std::to_string(sas_[i].policy.filter_id) + " is no longer in the policy", true);
    }
  }
  for (auto& mm : main_modes_) {
    std::erase_if(mm->pending, [&](const PendingQuickMode& p) { return !keep.contains(p.policy.filter_id); });
  }
  for (auto& ex : exchanges_) {
    if (!ex->qm->done() && !keep.contains(ex->policy.filter_id)) ex->dead = true;
  }
  for (auto& e : ikev2_) {
    if (!e->dead && !e->sa->established() && e->sa->initiator() && !keep.contains(e->policy.filter_id)) e->dead = true;
  }
}

void IkeService::Engine::shutdown() {
  // Quick modes past message 3 are established for the peer: finish them, so their SAs go below.
  for (auto& ex : exchanges_) {
    if (ex->release_outbound_at) release_outbound(*ex);
  }
  // An IKEv2 SA's DELETE takes its CHILD_SAs with it (RFC 7296 1.4.1).
  for (auto& e : ikev2_) {
    if (e->dead || !e->sa->established()) continue;
    for (const auto& message : e->sa->transition(Ikev2Sa::DeleteIkeSa{}, now()).send) send(e->peer, message);
    e->dead = true;
  }
  for (std::size_t i = sas_.size(); i-- > 0;) delete_pair(i, "IKE is shutting down", sas_[i].ike_version == 1);
  delete_lingering_inbound(now(), true);
  for (auto& mm : main_modes_) {
    if (mm->dead || !mm->sa->established()) continue;
    send_informational(*mm, {isakmp_delete(mm->sa->initiator_cookie(), mm->sa->responder_cookie())}, "ISAKMP DELETE");
    mm->dead = true;
  }
  sweep();
}

}  // namespace ward::ike::service
