// Quick mode in the engine (engine.h): the initiator (outbound SA after message 3), the responder
// (policy for the peer's IDs, the default response with a dynamic filter), and what is recorded
// once an exchange is done.
#include "ike/service/engine.h"

#include <algorithm>

#include "ike/service/informational.h"

namespace ward::ike::service {

sa::QuickModeConfig IkeService::Engine::quick_mode_config(const QuickModePolicy& policy, const MainMode& mm) const {
  const IpAddress& peer = mm.peer.address;
  sa::QuickModeConfig c;
  c.proposals = policy.proposals;
  c.allow_legacy = policy.allow_legacy;
  c.pfs_group = policy.pfs_group;
  c.lifetime = policy.lifetime;
  c.lifetime_kilobytes = policy.lifetime_kilobytes;
  c.local = policy.local;
  c.remote = policy.remote;
  c.filter_id = policy.filter_id;
  c.peer = peer;
  c.retransmit = options_.retransmit;
  c.install_inbound_at_message_2 = true;   // the initiator's first packet finds our inbound SA
  if (policy.tunnel_endpoint) c.tunnel = sa::tunnel_endpoints(options_.local, *policy.tunnel_endpoint);
  if (mm.peer.nat_t) c.udp_encapsulation = driver::crypto::UdpEncapsulation{options_.nat_t_port, mm.peer.port};
  return c;
}

void IkeService::Engine::abandon(Exchange& ex) {
  // A responder that sent message 2 installed its inbound SA; without HASH(3) it must go.
  if (ex.role != auth::Role::Responder || ex.qm->done() || ex.qm->state() == sa::QuickModeExchange::State::Idle) return;
  if (ex.qm->inbound_spi() == 0) return;
  if (auto d = dataplane_.delete_sa(ex.qm->inbound_spi(), driver::crypto::Direction::Inbound); !d) {
    log("IKE: removing the inbound SA " + hex32(ex.qm->inbound_spi()) + " of an unfinished quick mode: " + d.error());
  }
}

std::size_t IkeService::Engine::in_flight(const MainMode& mm) const {
  return static_cast<std::size_t>(std::count_if(exchanges_.begin(), exchanges_.end(), [&](const auto& ex) {
           return ex->main_mode == &mm && !ex->dead && !ex->qm->done();
         })) +
         mm.pending.size();
}

bool IkeService::Engine::negotiating(const IpAddress& peer, std::uint32_t filter_id) const {
  for (const auto& ex : exchanges_) {
    const bool unfinished = !ex->qm->done() || ex->release_outbound_at;
    if (!ex->dead && unfinished && ex->main_mode->peer.address == peer && ex->policy.filter_id == filter_id) return true;
  }
  for (const auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != peer) continue;
    for (const auto& p : mm->pending) {
      if (p.policy.filter_id == filter_id) return true;
    }
  }
  for (const auto& e : ikev2_) {
    if (e->dead || e->peer.address != peer) continue;
    if (e->sa->initiator() && !e->sa->established() && e->policy.filter_id == filter_id) return true;
    if (e->adding.contains(filter_id)) return true;
  }
  return false;
}

void IkeService::Engine::start_quick_mode(MainMode& mm, QuickModePolicy policy) {
  changed();   // a quick mode waiting or under way
  if (in_flight(mm) >= options_.max_quick_modes_per_main_mode) {
    ++counters_.quick_mode_limit_drops;
    ++counters_.quick_modes_failed;
    emit(IkeEvent{IkeEvent::Kind::QuickModeFailed, mm.peer.address, auth::Role::Initiator, auth_name(mm), policy.filter_id, 0, 0,
                  std::to_string(in_flight(mm)) + " quick modes in flight on this main mode (limit " +
                      std::to_string(options_.max_quick_modes_per_main_mode) + ")"});
    return;
  }
  if (!mm.sa->established()) {
    mm.pending.push_back(PendingQuickMode{std::move(policy), now()});
    return;
  }
  auto ex = std::make_unique<Exchange>();
  ex->main_mode = &mm;
  ex->role = auth::Role::Initiator;
  ex->policy = policy;
  ex->installer = std::make_unique<OutboundAfterMessage3>(dataplane_);
  ex->qm = sa::QuickModeExchange::initiate(*mm.sa, quick_mode_config(policy, mm), *ex->installer, options_.clock);
  auto message_1 = ex->qm->build_quick_mode_1();
  if (!message_1) {
    ++counters_.quick_modes_failed;
    emit(IkeEvent{IkeEvent::Kind::QuickModeFailed, mm.peer.address, auth::Role::Initiator, auth_name(mm), policy.filter_id, 0, 0,
                  message_1.error()});
    return;
  }
  send(mm.peer, *message_1);
  exchanges_.push_back(std::move(ex));
}

void IkeService::Engine::on_quick_mode(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h) {
  for (auto& ex : exchanges_) {
    if (ex->dead || ex->qm->message_id() != h.message_id) continue;
    const auto& p1 = *ex->main_mode->sa;
    if (p1.initiator_cookie() != h.initiator_cookie || p1.responder_cookie() != h.responder_cookie) continue;
    if (ex->main_mode->peer.address != from.address) continue;
    if (ex->installer) ex->installer->hold();
    changed();
    send(ex->main_mode->peer, ex->qm->handle(bytes));
    if (ex->release_outbound_at) return;   // a resent message 2, answered with message 3 again
    if (ex->installer && ex->installer->waiting()) {
      // Message 3 is on its way: the outbound SA, and the packets held for it, follow it shortly;
      // the quick mode is established (event, SA list) once both SAs are installed.
      ex->release_outbound_at = now() + options_.outbound_after_message_3;
      if (options_.outbound_after_message_3.count() <= 0) release_outbound(*ex);
      return;
    }
    after_quick_mode_step(*ex);
    return;
  }
  MainMode* mm = main_mode_by_cookies(h, from.address);
  if (mm == nullptr || !mm->sa->established() || h.message_id == 0) {
    ++counters_.unknown_sa;
    if (worth_logging(counters_.unknown_sa)) {
      log("IKE: dropped quick mode " + hex32(h.message_id) + " from " + from.address.to_string() +
          ": no established main mode " + sa::hex_cookie(h.initiator_cookie) + ":" + sa::hex_cookie(h.responder_cookie));
    }
    return;
  }
  if (in_flight(*mm) >= options_.max_quick_modes_per_main_mode) {
    ++counters_.quick_mode_limit_drops;
    if (worth_logging(counters_.quick_mode_limit_drops)) {
      log("IKE: dropped quick mode 1 from " + from.address.to_string() + ": the per-main-mode limit is reached");
    }
    return;
  }
  auto ids = peek_quick_mode_ids(*mm->sa, bytes);
  if (!ids) {
    ++counters_.unknown_sa;
    if (worth_logging(counters_.unknown_sa)) log("IKE: dropped quick mode 1 from " + from.address.to_string() + ": " + ids.error());
    return;
  }
  IkeEvent failed{IkeEvent::Kind::QuickModeFailed, from.address, auth::Role::Responder, auth_name(*mm), 0, 0, 0, {}};
  auto policy = policy_.quick_mode_for_peer(options_.local, from.address, ids->initiator_side, ids->responder_side);
  if (!policy) {
    ++counters_.no_policy;
    ++counters_.quick_modes_failed;
    // The peer is told the lookup's type: NO-PROPOSAL-CHOSEN when a filter covers the IDs but its
    // action has nothing to propose, INVALID-ID-INFORMATION when none covers them.
    const auto& refused = policy.error();
    failed.reason = "no filter accepts the peer's quick mode (" + ids->initiator_side.prefix.to_string() + " -> " +
                    ids->responder_side.prefix.to_string() + "): " + refusal(refused.type, refused.reason).text;
    failed.failure = FailureKind::NoPolicy;
    log("IKE: " + failed.reason);
    refuse_quick_mode(*mm, h.message_id, refused.type);
    emit(failed);
    return;
  }
  policy->local = ids->responder_side;
  policy->remote = ids->initiator_side;
  failed.filter_id = policy->filter_id;
  // The default response: the SAs protect exactly what the IDs name between the two hosts.
  std::unique_ptr<DefaultResponseInstaller> default_response;
  if (policy->default_response) {
    driver::DynamicSelector selector{options_.local, from.address, ids->responder_side.protocol, ids->responder_side.port,
                                     ids->initiator_side.port};
    default_response = std::make_unique<DefaultResponseInstaller>(dataplane_, selector);
    log("IKE quick mode " + hex32(h.message_id) + " from " + from.address.to_string() + ": no filter covers " +
        ids->responder_side.prefix.to_string() + " <-> " + ids->initiator_side.prefix.to_string() + " (protocol " +
        std::to_string(selector.protocol) + "): the default response rule answers, with a dynamic filter");
  }
  std::vector<std::byte> reply;
  auto responded = sa::QuickModeExchange::respond(*mm->sa, quick_mode_config(*policy, *mm),
                                                  default_response ? static_cast<driver::Dataplane&>(*default_response) : dataplane_,
                                                  options_.clock, bytes, reply);
  if (!responded) {
    ++counters_.quick_modes_failed;
    failed.reason = responded.error().text;
    failed.failure = failure_kind(responded.error().notify);
    if (const auto type = responded.error().notify) refuse_quick_mode(*mm, h.message_id, *type);
    emit(failed);
    return;
  }
  auto ex = std::make_unique<Exchange>();
  ex->main_mode = mm;
  ex->default_response = std::move(default_response);
  ex->role = auth::Role::Responder;
  ex->policy = std::move(*policy);
  ex->qm = std::move(*responded);
  send(mm->peer, reply);
  exchanges_.push_back(std::move(ex));
  changed();
}

void IkeService::Engine::after_quick_mode_step(Exchange& ex, std::optional<FailureKind> kind) {
  if (ex.dead || ex.reported) return;
  const auto& mm = *ex.main_mode;
  if (ex.qm->state() == sa::QuickModeExchange::State::Failed) {
    abandon(ex);
    ex.dead = true;
    ex.reported = true;
    ++counters_.quick_modes_failed;
    IkeEvent failed{IkeEvent::Kind::QuickModeFailed, mm.peer.address, ex.role, auth_name(mm), ex.policy.filter_id, 0, 0,
                    ex.qm->failure().text};
    failed.failure = kind.value_or(failure_kind(ex.qm->failure().notify));
    emit(failed);
    return;
  }
  if (!ex.qm->done()) return;
  ex.reported = true;
  ++counters_.quick_modes_established;
  if (ex.policy.default_response) ++counters_.default_responses;
  ++ex.main_mode->quick_modes_established;
  QuickModeSa record;
  record.peer = mm.peer;
  record.role = ex.role;
  record.policy = ex.policy;
  record.inbound_spi = ex.qm->inbound_spi();
  record.outbound_spi = ex.qm->outbound_spi();
  record.inbound_ah_spi = ex.qm->inbound_bundled_ah_spi();
  record.outbound_ah_spi = ex.qm->outbound_bundled_ah_spi();
  record.chosen = ex.qm->chosen();
  record.auth_method = auth_name(mm);
  record.established = now();
  record.expires = record.established + ex.qm->lifetime();   // the shorter of ours and the peer's
  sas_.push_back(record);
  // The initiator keeps the exchange to answer a resent message 2 with its stored HASH(3).
  if (ex.role == auth::Role::Initiator) ex.linger_until = now() + options_.linger;
  else ex.dead = true;
  emit(IkeEvent{IkeEvent::Kind::QuickModeEstablished, mm.peer.address, ex.role, auth_name(mm), ex.policy.filter_id,
                record.inbound_spi, record.outbound_spi, {}});
}

void IkeService::Engine::release_outbound(Exchange& ex) {
  ex.release_outbound_at.reset();
  if (auto released = ex.installer->release(); !released) {
    // The peer has the pair since message 3: take our inbound SA down and tell it.
    MainMode& mm = *ex.main_mode;
    const std::uint32_t spi = ex.qm->inbound_spi();
    if (auto d = dataplane_.delete_sa(spi, driver::crypto::Direction::Inbound); !d) {
      log("IKE: removing the inbound SA " + hex32(spi) + " of a quick mode whose outbound SA failed: " + d.error());
    }
    if (!mm.dead && mm.sa->established()) {
      send_informational(mm, ipsec_deletes(ex.qm->chosen(), spi, ex.qm->inbound_bundled_ah_spi()), "DELETE");
    }
    ex.dead = true;
    ex.reported = true;
    ++counters_.quick_modes_failed;
    emit(IkeEvent{IkeEvent::Kind::QuickModeFailed, mm.peer.address, ex.role, auth_name(mm), ex.policy.filter_id, 0, 0,
                  released.error()});
    return;
  }
  after_quick_mode_step(ex);
}

}  // namespace ward::ike::service
