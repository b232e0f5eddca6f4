// The engine's plumbing: datagrams in and out, routing by exchange type, finding the main mode
// for a peer, timers and sweeping (engine.h).
#include "ike/service/engine.h"

#include <algorithm>
#include <array>

#include "ike/sa/nat_traversal.h"
#include "ike/service/informational.h"

namespace ward::ike::service {

using std::chrono::duration_cast;

void IkeService::Engine::send(const Endpoint& to, std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  if (to.nat_t && !nat_socket_) return;
  const bool keepalive = to.nat_t && bytes.size() == 1 && bytes[0] == sa::kNatKeepaliveByte;
  const auto framed = to.nat_t && !keepalive ? sa::add_non_esp_marker(bytes) : std::vector<std::byte>();
  const auto& out = to.nat_t ? *nat_socket_ : socket_;
  if (auto sent = out.send_to(to.address, to.port, framed.empty() ? bytes : std::span<const std::byte>(framed)); !sent) {
    ++counters_.send_errors;
    if (worth_logging(counters_.send_errors)) log("IKE: " + sent.error());
    return;
  }
  ++counters_.datagrams_sent;
}

void IkeService::Engine::receive_all() {
  for (std::size_t i = 0; i < kMaxDatagramsPerWake; ++i) {
    auto got = socket_.receive(std::chrono::milliseconds(0));
    if (!got) {
      log("IKE: " + got.error());
      return;
    }
    if (!got->has_value()) return;
    on_datagram(**got);
  }
}

void IkeService::Engine::receive_nat_t() {
  if (!nat_socket_) return;
  for (std::size_t i = 0; i < kMaxDatagramsPerWake; ++i) {
    auto got = nat_socket_->receive(std::chrono::milliseconds(0));
    if (!got) {
      log("IKE: NAT-T socket: " + got.error());
      return;
    }
    if (!got->has_value()) return;
    auto& datagram = **got;
    auto kind = sa::classify_nat_t_datagram(datagram.bytes);
    if (!kind || *kind == sa::NatTDatagram::Esp) {
      // ESP-in-UDP belongs to the dataplane (it takes it before this socket sees it).
      ++counters_.malformed;
      if (worth_logging(counters_.malformed)) {
        log("IKE: dropped a datagram on UDP " + std::to_string(options_.nat_t_port) + " from " + datagram.from.to_string() +
            ": " + (kind ? std::string("ESP, not IKE") : kind.error()));
      }
      continue;
    }
    if (*kind == sa::NatTDatagram::Keepalive) {
      ++counters_.nat_keepalives_received;
      continue;
    }
    ++counters_.nat_t_datagrams_received;
    const auto inner = sa::strip_non_esp_marker(datagram.bytes);
    on_datagram(net::Datagram{{inner.begin(), inner.end()}, datagram.from, datagram.port}, true);
  }
}

// RFC 3948 4: a host behind the NAT keeps the mapping open while its floated main mode is up.
void IkeService::Engine::nat_keepalive(MainMode& mm, TimePoint t) {
  if (!mm.sa->established() || !mm.peer.nat_t || !mm.sa->nat().local_behind_nat) return;
  if (!mm.next_keepalive) mm.next_keepalive = t + options_.nat_keepalive_interval;
  if (*mm.next_keepalive > t) return;
  const std::array<std::byte, 1> keepalive{sa::kNatKeepaliveByte};
  send(mm.peer, keepalive);
  ++counters_.nat_keepalives_sent;
  mm.next_keepalive = t + options_.nat_keepalive_interval;
}

void IkeService::Engine::on_datagram(const net::Datagram& datagram, bool nat_t) {
  ++counters_.datagrams_received;
  const Endpoint from{datagram.from, datagram.port, nat_t};
  if (is_ikev2(datagram.bytes)) {
    on_ikev2(from, datagram.bytes);
    return;
  }
  auto split = split_datagram(datagram.bytes);
  if (!split) {
    ++counters_.malformed;
    if (worth_logging(counters_.malformed)) {
      log("IKE: dropped a datagram from " + from.address.to_string() + ": " + split.error().to_string());
    }
    return;
  }
  switch (split->header.exchange_type) {
    case ExchangeType::IdentityProtection: on_main_mode(from, datagram.bytes, split->header); return;
    case ExchangeType::QuickMode: on_quick_mode(from, datagram.bytes, split->header); return;
    case ExchangeType::Informational: on_informational(from, datagram.bytes, split->header); return;
    default:
      ++counters_.malformed;
      if (worth_logging(counters_.malformed)) {
        log("IKE: dropped a datagram from " + from.address.to_string() + ": exchange type " +
            std::string(ike::name(split->header.exchange_type)) + " is not supported");
      }
      return;
  }
}

IkeService::Engine::MainMode* IkeService::Engine::usable_main_mode(const IpAddress& peer) {
  // The newest established one: after a renewal (phase1_renewal.h) the old main mode still
  // lives until its lifetime ends, but new quick modes, DELETEs and DPD go under its successor.
  MainMode* in_progress = nullptr;
  MainMode* established = nullptr;
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != peer) continue;
    if (mm->sa->established()) {
      if (established == nullptr || mm->expires > established->expires) established = mm.get();
      continue;
    }
    if (mm->sa->state() != sa::Phase1Sa::State::Failed && in_progress == nullptr) in_progress = mm.get();
  }
  return established != nullptr ? established : in_progress;
}

IkeService::Engine::MainMode* IkeService::Engine::main_mode_for_new_quick_mode(const IpAddress& peer) {
  MainMode* mm = usable_main_mode(peer);
  if (mm == nullptr || mm->quick_mode_limit == 0) return mm;
  if (mm->quick_modes_established + in_flight(*mm) < mm->quick_mode_limit) return mm;
  log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + " with " + peer.to_string() + ": " +
      std::to_string(mm->quick_modes_established) + " quick modes established, " + std::to_string(in_flight(*mm)) +
      " in flight (limit " + std::to_string(mm->quick_mode_limit) + "): negotiating a new main mode");
  return nullptr;
}

void IkeService::Engine::timers() {
  if (const auto expired = embryonic_.expire(now() - options_.half_open_timeout); expired > 0) {
    counters_.embryonic_expired += expired;
  }
  const auto t = now();
  std::vector<MainMode*> to_renew;
  for (auto& mm_ptr : main_modes_) {
    auto& mm = *mm_ptr;
    if (mm.dead) continue;
    fall_back_to_clear(mm, t, false);
    if (const auto due = mm.sa->due(); due && *due <= t) {
      changed();
      const auto before = mm.sa->state();
      send(mm.peer, mm.sa->on_timer());
      std::string extra;
      std::optional<FailureKind> kind;
      if (mm.peer_answered) kind = FailureKind::TimedOut;   // it answered, then went quiet
      if (before == sa::Phase1Sa::State::MainMode5Sent) {
        extra = " - the peer could not authenticate main mode 5: the preshared keys (or credentials) probably differ";
        kind = FailureKind::AuthenticationFailed;
      }
      after_main_mode_step(mm, extra, kind);
      if (mm.dead) continue;
    }
    nat_keepalive(mm, t);
    if (!mm.sa->established() && mm.sa->role() == auth::Role::Responder && t - mm.created >= options_.half_open_timeout) {
      ++counters_.half_open_timeouts;
      std::string reason = "main mode not completed within " +
                           std::to_string(duration_cast<std::chrono::milliseconds>(options_.half_open_timeout).count()) +
                           " ms (state " + std::string(sa::name(mm.sa->state())) + ")";
      if (mm.undecryptable > 0) {
        reason += "; " + std::to_string(mm.undecryptable) +
                  " main mode 5 message(s) did not decrypt - the peer's preshared key probably differs";
      }
      fail_main_mode(mm, silent(reason), FailureKind::TimedOut);
      continue;
    }
    if (mm.renew_at && *mm.renew_at <= t) {
      mm.renew_at.reset();
      to_renew.push_back(&mm);   // after this loop: renewing adds to main_modes_
    }
    if (mm.expires && *mm.expires <= t) {
      ++counters_.main_modes_expired;
      log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + " with " + mm.peer.address.to_string() +
          ": lifetime over, removed");
      send_informational(mm, {isakmp_delete(mm.sa->initiator_cookie(), mm.sa->responder_cookie())}, "ISAKMP DELETE");
      mm.dead = true;
      changed();
    }
  }
  for (auto* mm : to_renew) {
    if (!mm->dead) renew(*mm);
  }
  for (auto& ex : exchanges_) {
    if (ex->release_outbound_at && *ex->release_outbound_at <= t) release_outbound(*ex);
    if (ex->dead) continue;
    if (const auto due = ex->qm->due(); due && *due <= t) {
      changed();
      send(ex->main_mode->peer, ex->qm->on_timer());
      after_quick_mode_step(*ex, FailureKind::TimedOut);
    }
    if (ex->linger_until && *ex->linger_until <= t) ex->dead = true;
  }
  if (std::erase_if(sas_, [&](const QuickModeSa& s) { return s.expires <= t; }) > 0) changed();
  delete_lingering_inbound(t, false);
  ikev2_timers(t);
  dpd_timers(t);
  sweep();
}

void IkeService::Engine::sweep() {
  // Quick modes refer to their main mode's Phase1Sa: they go first.
  const auto exchanges = std::erase_if(exchanges_, [this](const auto& ex) {
    const bool gone = ex->dead || ex->main_mode->dead;
    if (gone && ex->release_outbound_at) release_outbound(*ex);
    if (gone && !ex->reported) abandon(*ex);
    return gone;
  });
  const auto main_modes = std::erase_if(main_modes_, [](const auto& mm) { return mm->dead; });
  const auto ikev2 = std::erase_if(ikev2_, [](const auto& e) { return e->dead; });
  if (exchanges + main_modes + ikev2 > 0) changed();
}

std::optional<TimePoint> IkeService::Engine::next_due() const {
  std::optional<TimePoint> next;
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto& mm : main_modes_) {
    consider(mm->sa->due());
    consider(mm->expires);
    if (!mm->dead) consider(mm->renew_at);
    if (mm->sent && !mm->peer_answered && !mm->dead) {
      for (const auto& pending : mm->pending) {
        if (pending.policy.fallback_to_clear && !pending.fell_back) consider(pending.requested + options_.fallback_delay);
      }
    }
    if (mm->dpd && !mm->dead) consider(mm->dpd->due());
    if (mm->dpd && !mm->dead && mm->sa->established()) consider(dpd_sampler_.next());
    consider(mm->next_keepalive);
    if (!mm->sa->established() && mm->sa->role() == auth::Role::Responder) consider(mm->created + options_.half_open_timeout);
  }
  for (const auto& l : lingering_inbound_) consider(l.until);
  for (const auto& ex : exchanges_) {
    consider(ex->qm->due());
    consider(ex->linger_until);
    consider(ex->release_outbound_at);
  }
  for (const auto& s : sas_) consider(s.expires);
  for (const auto& e : ikev2_) {
    if (e->dead) continue;
    consider(e->sa->due());
    consider(e->expires);
    consider(e->rekey_at);
    if (!e->sa->initiator() && !e->reported) consider(e->sa->created() + options_.half_open_timeout);
    if (e->dpd && e->sa->established()) {
      // While a check is out the IKE SA's retransmissions (its due()) decide.
      if (!e->sa->checking_liveness()) consider(e->dpd->due());
      consider(dpd_sampler_.next());
    }
  }
  if (const auto oldest = embryonic_.oldest()) consider(*oldest + options_.half_open_timeout);
  return next;
}

}  // namespace ward::ike::service
