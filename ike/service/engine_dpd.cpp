// Dead peer detection (RFC 3706) in the engine (engine.h): the detectors of established main
// modes, fed by the dataplane's counters (dpd_sampler.h); R-U-THERE and its ACK. The same samples
// feed the detectors of IKEv2 SAs (engine_ikev2_liveness.cpp).
#include "ike/service/engine.h"

#include <algorithm>

#include "ike/crypto/prf.h"
#include "ike/payload/vendor_ids.h"
#include "ike/service/informational.h"

namespace ward::ike::service {

void IkeService::Engine::start_dpd(MainMode& mm) {
  if (!options_.dpd.enabled) return;
  const auto& vids = mm.sa->peer_vendor_ids();
  if (std::none_of(vids.begin(), vids.end(), [](const auto& v) { return vendor_id::matches(v, vendor_id::kDpd); })) return;
  std::uint32_t first = 0;
  if (auto raw = crypto::random_bytes(sizeof first)) {
    for (const auto b : *raw) first = first << 8 | static_cast<std::uint32_t>(b);
  }
  // RFC 3706 7: the top bit clear leaves room before the sequence number wraps.
  constexpr std::uint32_t kSequenceStartMask = 0x7fffffffu;
  mm.dpd.emplace(options_.dpd, first & kSequenceStartMask, now());
}

void IkeService::Engine::send_dpd(MainMode& mm, NotifyMessageType type, std::uint32_t sequence) {
  Notification n;
  n.protocol = ProtocolId::Isakmp;
  n.message_type = static_cast<std::uint16_t>(type);
  n.spi.assign(mm.sa->initiator_cookie().begin(), mm.sa->initiator_cookie().end());
  n.spi.insert(n.spi.end(), mm.sa->responder_cookie().begin(), mm.sa->responder_cookie().end());
  for (int shift = 24; shift >= 0; shift -= 8) n.data.push_back(std::byte(sequence >> shift));
  auto message = build_informational(*mm.sa, {std::move(n)});
  if (!message) {
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": could not build " + std::string(ike::name(type)) +
        ": " + message.error());
    return;
  }
  send(mm.peer, *message);
}

void IkeService::Engine::on_dpd_notification(MainMode& mm, const Notification& notification) {
  std::vector<std::byte> ours(mm.sa->initiator_cookie().begin(), mm.sa->initiator_cookie().end());
  ours.insert(ours.end(), mm.sa->responder_cookie().begin(), mm.sa->responder_cookie().end());
  if (notification.data.size() != kDpdSequenceSize || notification.spi != ours) {
    ++counters_.informational_bad;
    if (worth_logging(counters_.informational_bad)) {
      log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": ignored " +
          std::string(ike::name(static_cast<NotifyMessageType>(notification.message_type))) + " with a " +
          std::to_string(notification.spi.size()) + "-byte SPI and " + std::to_string(notification.data.size()) +
          "-byte data (want the cookie pair and a 4-byte sequence number)");
    }
    return;
  }
  std::uint32_t sequence = 0;
  for (const auto b : notification.data) sequence = sequence << 8 | static_cast<std::uint32_t>(b);
  if (notification.is(NotifyMessageType::RUThere)) {
    // Answered whether or not we announced DPD ourselves: it costs one informational.
    send_dpd(mm, NotifyMessageType::RUThereAck, sequence);
    ++counters_.dpd_acks_sent;
    return;
  }
  if (mm.dpd && mm.dpd->acknowledged(sequence, now())) {
    ++counters_.dpd_acks_received;
    return;
  }
  ++counters_.dpd_acks_unexpected;
  if (worth_logging(counters_.dpd_acks_unexpected)) {
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": R-U-THERE-ACK " + std::to_string(sequence) +
        " answers no R-U-THERE of ours");
  }
}

void IkeService::Engine::dpd_timers(TimePoint t) {
  const auto watched = [](const auto& mm) { return !mm->dead && mm->dpd && mm->sa->established(); };
  // IKEv2 SAs' liveness checks (engine_ikev2_liveness.cpp) read the same samples.
  const auto watched_v2 = [](const auto& e) { return !e->dead && e->dpd && e->sa->established(); };
  if (std::none_of(main_modes_.begin(), main_modes_.end(), watched) && std::none_of(ikev2_.begin(), ikev2_.end(), watched_v2)) {
    dpd_sampler_.stop();
    return;
  }
  if (dpd_sampler_.due(t)) {
    const auto totals = dpd_sampler_.sample(dataplane_, t);
    const auto feed = [&](DeadPeerDetector& detector, const IpAddress& peer) {
      const auto found = totals.find(peer);
      const PeerPackets packets = found != totals.end() ? found->second : PeerPackets{};
      detector.traffic(packets.inbound, packets.outbound, found != totals.end(), t);
    };
    for (auto& mm : main_modes_) {
      if (watched(mm)) feed(*mm->dpd, mm->peer.address);
    }
    for (auto& e : ikev2_) {
      if (watched_v2(e)) feed(*e->dpd, e->peer.address);
    }
  }
  ikev2_liveness_timers(t);
  for (auto& mm_ptr : main_modes_) {
    if (!watched(mm_ptr)) continue;
    auto& mm = *mm_ptr;
    if (const auto due = mm.dpd->due(); !due || *due > t) continue;
    switch (mm.dpd->on_timer(t)) {
      case DeadPeerDetector::Action::None: break;
      case DeadPeerDetector::Action::Probe:
        ++counters_.dpd_probes_sent;
        log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": R-U-THERE " + std::to_string(mm.dpd->sequence()) +
            " to " + mm.peer.address.to_string() + " (" + std::to_string(mm.dpd->unanswered()) + " of " +
            std::to_string(options_.dpd.max_probes) + ")");
        send_dpd(mm, NotifyMessageType::RUThere, mm.dpd->sequence());
        break;
      case DeadPeerDetector::Action::Dead: peer_dead(mm); break;
    }
  }
}

void IkeService::Engine::peer_dead(MainMode& mm) {
  ++counters_.peers_dead;
  const std::string reason = "peer-dead: " + mm.peer.address.to_string() + " answered none of " +
                             std::to_string(options_.dpd.max_probes) + " R-U-THERE";
  log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ":" + sa::hex_cookie(mm.sa->responder_cookie()) + ": " +
      reason + "; removing its phase 1 and quick mode SAs");
  mm.dead = true;
  for (std::size_t i = sas_.size(); i-- > 0;) {
    if (sas_[i].peer == mm.peer) delete_pair(i, reason, false);
  }
  // The phase 1 SA itself: SasDeleted with no SPIs.
  emit(IkeEvent{IkeEvent::Kind::SasDeleted, mm.peer.address, mm.sa->role(), auth_name(mm), 0, 0, 0, reason});
}

}  // namespace ward::ike::service
