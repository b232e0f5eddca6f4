// Main mode in the engine (engine.h): the responder (main mode 1 answered from the cookie secret,
// promoted at main mode 3), the initiator, failure, and fallback to clear for a peer that never
// answers.
#include "ike/service/engine.h"

#include <algorithm>
#include <set>

#include "ike/payload/vendor_ids.h"
#include "ike/service/phase1_renewal.h"

namespace ward::ike::service {

using std::chrono::duration_cast;

sa::Phase1Config IkeService::Engine::phase1_config(const Phase1Policy& policy, const IpAddress& peer) const {
  sa::Phase1Config c;
  c.proposals = policy.proposals;
  c.local = options_.local;
  c.peer = peer;
  c.allow_legacy = policy.allow_legacy;
  c.drop_undecryptable_main_mode_5 = true;
  if (options_.dpd.enabled) c.vendor_ids.emplace_back(vendor_id::kDpd.begin(), vendor_id::kDpd.end());
  c.retransmit = options_.retransmit;
  c.log = options_.log;
  c.nat_traversal = options_.nat_traversal;
  c.local_port = options_.port;
  c.peer_port = options_.port;
  c.pretend_nat = options_.pretend_nat;
  return c;
}

IkeService::Engine::MainMode* IkeService::Engine::main_mode_by_cookies(const IsakmpHeader& h, const IpAddress& from) {
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != from) continue;
    if (mm->sa->initiator_cookie() == h.initiator_cookie && mm->sa->responder_cookie() == h.responder_cookie) {
      return mm.get();
    }
  }
  return nullptr;
}

void IkeService::Engine::on_main_mode(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h) {
  const Cookie zero{};
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != from.address || mm->sa->initiator_cookie() != h.initiator_cookie) continue;
    if (h.responder_cookie == zero) {
      // A resent message 1 to a responder: the stored message 2 answers it.
      if (mm->sa->role() == auth::Role::Responder && std::ranges::equal(bytes, mm->first_message)) {
        send(from, mm->first_reply);
        return;
      }
      continue;
    }
    const bool learning = mm->sa->role() == auth::Role::Initiator && mm->sa->state() == sa::Phase1Sa::State::MainMode1Sent;
    if (learning || mm->sa->responder_cookie() == h.responder_cookie) {
      if (from.nat_t && !mm->peer.nat_t) {
        log("IKE main mode with " + from.address.to_string() + ": the peer moved to UDP " + std::to_string(from.port) +
            " (NAT-T)");
      }
      if (from.nat_t) mm->peer = from;   // RFC 3947 4: answer where the peer now sends from
      drive_main_mode(*mm, bytes);
      return;
    }
  }
  if (h.responder_cookie == zero) {
    const auto cookie = cookies_.make(from.address, from.port, h.initiator_cookie);
    if (const auto* known = embryonic_.find(h.initiator_cookie, cookie); known != nullptr) {
      // A resent message 1 (the initiator missed our message 2): the same answer, no new state.
      if (std::ranges::equal(bytes, known->message_1)) send(from, known->message_2);
      return;
    }
    respond_main_mode(from, bytes, cookie);
    return;
  }
  if (const auto* entry = embryonic_.find(h.initiator_cookie, h.responder_cookie);
      entry != nullptr && entry->peer == from.address && entry->port == from.port) {
    promote(from, bytes, *entry);
    return;
  }
  if (cookies_.verify(from.address, from.port, h.initiator_cookie, h.responder_cookie)) {
    // Our cookie came back, but its main mode 1 was evicted (the table turned over under a flood)
    // or timed out: the initiator starts again after its retransmissions.
    ++counters_.embryonic_lost;
    if (worth_logging(counters_.embryonic_lost)) {
      log("IKE: dropped main mode 3 from " + from.address.to_string() + ": its main mode 1 is no longer remembered (" +
          std::to_string(counters_.embryonic_evicted) + " evicted under load, " + std::to_string(counters_.embryonic_expired) +
          " timed out so far)");
    }
    return;
  }
  ++counters_.unknown_sa;
  if (worth_logging(counters_.unknown_sa)) {
    log("IKE: dropped main mode from " + from.address.to_string() + ": no SA " + sa::hex_cookie(h.initiator_cookie) + ":" +
        sa::hex_cookie(h.responder_cookie));
  }
}

Expected<IkeService::Engine::Responder, IkeEvent> IkeService::Engine::responder_for(const Endpoint& from,
                                                                                   std::span<const std::byte> message_1) {
  IkeEvent failed{IkeEvent::Kind::MainModeFailed, from.address, auth::Role::Responder, {}, 0, 0, 0, {}};
  failed.unverified = true;   // a main mode 1: anyone can send one from any address
  auto offered = parse_message(message_1, MessageKind::MainModeMessage1);
  if (!offered) {
    ++counters_.malformed;
    failed.reason = "main mode 1 dropped: " + offered.error().to_string();
    return unexpected(std::move(failed));
  }
  auto policy = policy_.phase1_for(options_.local, from.address, std::nullopt);
  if (!policy) {
    ++counters_.no_policy;
    failed.reason = "no main mode policy for " + from.address.to_string() + ": " + policy.error();
    failed.failure = FailureKind::NoPolicy;
    return unexpected(std::move(failed));
  }
  // The first of our methods that the peer offers.
  std::set<std::uint64_t> methods;
  for (const auto& proposal : offered->find<SecurityAssociation>()->proposals) {
    for (const auto& transform : proposal.transforms) {
      for (const auto& attribute : transform.attributes) {
        if (attribute.type != static_cast<std::uint16_t>(IkeAttribute::AuthenticationMethod)) continue;
        if (const auto value = attribute.integer()) methods.insert(*value);
      }
    }
  }
  Responder responder;
  std::string ours;
  for (const auto& candidate : policy->auth) {
    if (!candidate) continue;
    ours += (ours.empty() ? "" : ", ") + std::string(candidate->name());
    if (!responder.provider && methods.contains(static_cast<std::uint64_t>(candidate->method()))) responder.provider = candidate;
  }
  if (!responder.provider) {
    ++counters_.main_modes_failed;
    std::string theirs;
    for (const auto m : methods) theirs += (theirs.empty() ? "" : ", ") + std::to_string(m);
    failed.reason = "NO-PROPOSAL-CHOSEN: the peer offers authentication method(s) " + (theirs.empty() ? "none" : theirs) +
                    ", our policy allows " + (ours.empty() ? "none" : ours);
    failed.failure = FailureKind::NoProposalChosen;
    refuse_main_mode(from, offered->header.initiator_cookie, NotifyMessageType::NoProposalChosen);
    return unexpected(std::move(failed));
  }
  responder.policy = std::move(*policy);
  return responder;
}

void IkeService::Engine::respond_main_mode(const Endpoint& from, std::span<const std::byte> bytes, const Cookie& responder_cookie) {
  // Cheap checks first: nothing here is worth more than a counter until the peer proves its address.
  if (embryonic_.count_for(from.address) >= embryonic_.limits().max_per_peer) {
    ++counters_.embryonic_peer_limit_drops;
    if (worth_logging(counters_.embryonic_peer_limit_drops)) {
      log("IKE: dropped main mode 1 from " + from.address.to_string() + ": " +
          std::to_string(embryonic_.limits().max_per_peer) + " main modes from this address wait for their main mode 3");
    }
    return;
  }
  auto responder = responder_for(from, bytes);
  if (!responder) {
    // Logged on the 1st, 2nd, 4th... of each kind: a flood of refused main mode 1s costs counters.
    const auto& failure = responder.error();
    if (worth_logging(counters_.malformed + counters_.no_policy + counters_.main_modes_failed)) log("IKE: " + failure.reason);
    emit(failure);
    return;
  }
  auto config = phase1_config(responder->policy, from.address);
  config.responder_cookie = responder_cookie;
  std::vector<std::byte> reply;
  auto responded = sa::Phase1Sa::respond(std::move(config), *responder->provider, options_.clock, bytes, reply);
  if (!responded) {
    ++counters_.main_modes_failed;
    IkeEvent failed{IkeEvent::Kind::MainModeFailed, from.address, auth::Role::Responder,
                    std::string(responder->provider->name()), 0, 0, 0, responded.error().text};
    failed.unverified = true;
    failed.failure = failure_kind(responded.error().notify);
    if (const auto type = responded.error().notify) {
      if (auto parsed = split_datagram(bytes)) refuse_main_mode(from, parsed->header.initiator_cookie, *type);
    }
    emit(failed);
    return;
  }
  ++counters_.main_mode_1_answered;
  EmbryonicMainMode entry;
  entry.peer = from.address;
  entry.port = from.port;
  entry.nat_t = from.nat_t;
  entry.initiator_cookie = (*responded)->initiator_cookie();
  entry.responder_cookie = responder_cookie;
  entry.message_1.assign(bytes.begin(), bytes.end());
  entry.message_2 = reply;
  entry.created = now();
  std::size_t evicted = 0;
  (void)embryonic_.add(std::move(entry), evicted);   // the peer limit was checked above
  counters_.embryonic_evicted += evicted;
  send(from, reply);
}

void IkeService::Engine::promote(const Endpoint& from, std::span<const std::byte> bytes, const EmbryonicMainMode& entry) {
  // The half-open limits count only initiators that showed they receive at their address.
  std::size_t half_open = 0, from_peer = 0;
  for (const auto& mm : main_modes_) {
    if (mm->dead || mm->sa->role() != auth::Role::Responder || mm->sa->established()) continue;
    ++half_open;
    if (mm->peer.address == from.address) ++from_peer;
  }
  if (half_open >= options_.max_half_open) {
    ++counters_.half_open_limit_drops;
    if (worth_logging(counters_.half_open_limit_drops)) {
      log("IKE: dropped main mode 3 from " + from.address.to_string() + ": " + std::to_string(half_open) +
          " half-open main modes (limit " + std::to_string(options_.max_half_open) + ")");
    }
    return;   // the entry stays: a resent main mode 3 may find room
  }
  if (from_peer >= options_.max_half_open_per_peer) {
    ++counters_.half_open_peer_limit_drops;
    if (worth_logging(counters_.half_open_peer_limit_drops)) {
      log("IKE: dropped main mode 3 from " + from.address.to_string() + ": " + std::to_string(from_peer) +
          " half-open main modes from this peer (limit " + std::to_string(options_.max_half_open_per_peer) + ")");
    }
    return;
  }
  auto taken = embryonic_.take(entry.initiator_cookie, entry.responder_cookie);
  auto responder = responder_for(from, taken->message_1);
  if (!responder) {
    auto failure = responder.error();
    failure.unverified = false;   // the peer has shown its address
    failure.reason = "main mode 3: " + failure.reason;
    log("IKE: " + failure.reason);
    emit(failure);
    return;
  }
  auto config = phase1_config(responder->policy, from.address);
  config.responder_cookie = taken->responder_cookie;
  std::vector<std::byte> reply;
  auto responded = sa::Phase1Sa::respond(std::move(config), *responder->provider, options_.clock, taken->message_1, reply);
  if (!responded || reply != taken->message_2) {
    // Same message 1, same cookie: only a policy applied in between can change the answer, and
    // the peer holds the old one.
    ++counters_.main_modes_failed;
    const std::string reason = responded ? "the policy changed between main mode 1 and 3; the peer starts again" : responded.error().text;
    log("IKE main mode " + sa::hex_cookie(taken->initiator_cookie) + " from " + from.address.to_string() + ": " + reason);
    IkeEvent failed{IkeEvent::Kind::MainModeFailed, from.address, auth::Role::Responder,
                    std::string(responder->provider->name()), 0, 0, 0, reason};
    failed.failure = responded ? FailureKind::Other : failure_kind(responded.error().notify);
    emit(failed);
    return;
  }
  auto mm = std::make_unique<MainMode>();
  mm->id = next_id_++;
  mm->auth = std::move(responder->provider);
  mm->sa = std::move(*responded);
  mm->peer = from;
  mm->created = now();
  mm->first_message = std::move(taken->message_1);
  mm->first_reply = std::move(taken->message_2);
  mm->quick_mode_limit = responder->policy.quick_mode_limit;
  ++counters_.embryonic_promoted;
  auto& added = *main_modes_.emplace_back(std::move(mm));
  drive_main_mode(added, bytes);
}

void IkeService::Engine::drive_main_mode(MainMode& mm, std::span<const std::byte> bytes) {
  changed();   // its state, cookies or port
  mm.peer_answered = true;
  const auto before = mm.sa->undecryptable();
  const auto state_before = mm.sa->state();
  const auto reply = mm.sa->handle(bytes);
  if (mm.sa->undecryptable() != before) {
    counters_.undecryptable_main_mode_5 += mm.sa->undecryptable() - before;
    mm.undecryptable += mm.sa->undecryptable() - before;
  }
  float_if_due(mm);
  send(mm.peer, reply);
  if (mm.sa->state() == sa::Phase1Sa::State::Failed && state_before != sa::Phase1Sa::State::Failed && mm.sa->keys_confirmed()) {
    // Main mode 5 / 6 decrypted, so the keys agree, but did not verify: the peer may count the
    // SA established (a responder does once it sent 6). Tell it why under the keys and delete
    // the ISAKMP SA; AUTHENTICATION-FAILED when the failure was ours, not the peer's (our own
    // main mode 6 could not be built), as the peer must be told something all the same.
    refuse_main_mode_under_keys(mm, mm.sa->failure().notify.value_or(NotifyMessageType::AuthenticationFailed));
  } else if (mm.sa->state() == sa::Phase1Sa::State::Failed && state_before != sa::Phase1Sa::State::Failed) {
    // Tell the peer why (unprotected: no keys in common), if the state machine names a type (a
    // responder whose main mode 5 did not decrypt: AUTHENTICATION-FAILED).
    const auto type = mm.sa->failure().notify;
    if (type && may_refuse(mm.peer.address, *type)) {
      if (auto message = build_main_mode_refusal(mm.sa->initiator_cookie(), mm.sa->responder_cookie(), *type)) {
        send(mm.peer, *message);
        ++counters_.refusals_sent;
      }
    }
  }
  after_main_mode_step(mm);
}

// RFC 3947 4: the initiator moves to the NAT-T port with main mode 5, the responder answers
// main mode 5 where it came from (the caller already moved mm.peer to the datagram's source).
void IkeService::Engine::float_if_due(MainMode& mm) {
  if (mm.peer.nat_t || !nat_socket_ || !mm.sa->float_to_nat_t_port()) return;
  const auto state = mm.sa->state();
  if (state != sa::Phase1Sa::State::MainMode5Sent) return;
  mm.peer = Endpoint{mm.peer.address, options_.nat_t_port, true};
  log("IKE main mode with " + mm.peer.address.to_string() + ": " + sa::describe(mm.sa->nat()) + ", moved to UDP " +
      std::to_string(options_.nat_t_port));
}

void IkeService::Engine::fail_main_mode(MainMode& mm, const IkeError& error, std::optional<FailureKind> kind) {
  const std::string& reason = error.text;
  const bool no_response = mm.sent && !mm.peer_answered;
  const FailureKind failure = kind.value_or(no_response ? FailureKind::NoResponse : failure_kind(error.notify));
  // A peer that never answered, before the fallback delay was up (a short retransmission policy):
  // the flows that may fall back do so now.
  if (no_response) fall_back_to_clear(mm, now(), true);
  mm.dead = true;
  ++counters_.main_modes_failed;
  IkeEvent failed{IkeEvent::Kind::MainModeFailed, mm.peer.address, mm.sa->role(), auth_name(mm), 0, 0, 0, reason};
  failed.failure = failure;
  emit(failed);
  for (const auto& pending : mm.pending) {
    ++counters_.quick_modes_failed;
    failed.kind = IkeEvent::Kind::QuickModeFailed;
    failed.filter_id = pending.policy.filter_id;
    failed.reason = "main mode failed: " + reason;
    emit(failed);
  }
  mm.pending.clear();
}

void IkeService::Engine::fall_back_to_clear(MainMode& mm, TimePoint t, bool all) {
  if (mm.dead || mm.peer_answered || !mm.sent || mm.sa->role() != auth::Role::Initiator) return;
  for (auto& pending : mm.pending) {
    if (!pending.policy.fallback_to_clear || pending.fell_back) continue;
    if (!all && t - pending.requested < options_.fallback_delay) continue;
    pending.fell_back = true;
    changed();
    const auto waited = duration_cast<std::chrono::milliseconds>(t - pending.requested);
    driver::SoftAssociation association{pending.policy.filter_id, mm.peer.address, options_.soft_association_lifetime};
    IkeEvent event{IkeEvent::Kind::SoftAssociation, mm.peer.address, auth::Role::Initiator, auth_name(mm), pending.policy.filter_id,
                   0, 0, {}};
    event.failure = FailureKind::NoResponse;
    if (auto added = dataplane_.add_soft_association(association); !added) {
      log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + " with " + mm.peer.address.to_string() +
          ": no answer, but the fallback to clear failed: " + added.error());
      continue;
    }
    ++counters_.soft_associations;
    event.reason = "no response from peer " + std::to_string(waited.count()) + " ms after the first packet: clear traffic for filter " +
                   std::to_string(pending.policy.filter_id) + " (soft association, " +
                   std::to_string(options_.soft_association_lifetime.count()) + " s without traffic ends it)";
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + " with " + mm.peer.address.to_string() + ": " + event.reason);
    emit(event);
  }
}

void IkeService::Engine::after_main_mode_step(MainMode& mm, std::string extra_reason, std::optional<FailureKind> kind) {
  if (mm.dead) return;
  if (mm.sa->state() == sa::Phase1Sa::State::Failed) {
    auto failure = mm.sa->failure();
    failure.text += extra_reason;
    fail_main_mode(mm, failure, kind);
    return;
  }
  if (!mm.sa->established() || mm.reported) return;
  mm.reported = true;
  mm.expires = now() + mm.sa->chosen().lifetime;
  mm.renew_at = renewal_time(now(), mm.sa->chosen().lifetime, mm.sa->role());
  start_dpd(mm);
  ++counters_.main_modes_established;
  emit(IkeEvent{IkeEvent::Kind::MainModeEstablished, mm.peer.address, mm.sa->role(), auth_name(mm), 0, 0, 0, {}});
  auto pending = std::move(mm.pending);
  mm.pending.clear();
  for (auto& p : pending) start_quick_mode(mm, std::move(p.policy));
}

Expected<IkeService::Engine::MainMode*, std::string> IkeService::Engine::start_main_mode(
    const IpAddress& peer, std::optional<std::uint32_t> filter_id, std::vector<PendingQuickMode> pending) {
  auto p1_policy = policy_.phase1_for(options_.local, peer, filter_id);
  if (!p1_policy || p1_policy->auth.empty() || !p1_policy->auth.front()) {
    return unexpected("no main mode policy for " + peer.to_string() + ": " +
                      (p1_policy ? std::string("no authentication method") : p1_policy.error()));
  }
  auto mm = std::make_unique<MainMode>();
  mm->id = next_id_++;
  mm->auth = p1_policy->auth.front();
  mm->quick_mode_limit = p1_policy->quick_mode_limit;
  mm->sa = sa::Phase1Sa::initiate(phase1_config(*p1_policy, peer), *mm->auth, options_.clock);
  mm->peer = Endpoint{peer, options_.port};
  mm->created = now();
  mm->pending = std::move(pending);
  auto message_1 = mm->sa->build_main_mode_1();
  if (!message_1) {
    fail_main_mode(*mm, silent(message_1.error()), FailureKind::Other);
    return nullptr;
  }
  send(mm->peer, *message_1);
  mm->sent = true;
  changed();
  return main_modes_.emplace_back(std::move(mm)).get();
}

}  // namespace ward::ike::service
