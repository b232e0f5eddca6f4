// IKEv2 liveness checks (RFC 7296 2.4) in the engine (engine.h), IKEv1's dead peer detection
// carried over: each established IKE SA has a DeadPeerDetector with the same DpdPolicy, fed the
// same dataplane samples (engine_dpd.cpp) and told of every message the peer authenticates. When
// it says Probe (our traffic went unanswered `idle` after the peer was last heard from) the IKE SA
// sends an empty INFORMATIONAL request, retransmitted on the IKE SA's policy (options.retransmit)
// instead of the detector's R-U-THERE schedule; unanswered, the peer is dead: its IKE SA and
// CHILD_SAs go (peer-dead, as IKEv1's), and the next packet of a held flow negotiates anew.
#include "ike/service/engine.h"

namespace ward::ike::service {

void IkeService::Engine::ikev2_liveness_timers(TimePoint t) {
  for (std::size_t i = 0; i < ikev2_.size(); ++i) {
    auto& entry = *ikev2_[i];
    if (entry.dead || !entry.dpd || !entry.sa->established() || entry.sa->checking_liveness()) continue;
    if (const auto due = entry.dpd->due(); !due || *due > t) continue;
    switch (entry.dpd->on_timer(t)) {
      case DeadPeerDetector::Action::None: break;
      case DeadPeerDetector::Action::Probe:
        ++counters_.dpd_probes_sent;
        log(ikev2_name(entry) + ": liveness check (empty INFORMATIONAL) to " + entry.peer.address.to_string() +
            ": our traffic went unanswered");
        after_ikev2_step(entry, entry.sa->transition(Ikev2Sa::CheckLiveness{}, t));
        break;
      case DeadPeerDetector::Action::Dead:
        // Only when no check could be sent (it failed to build) max_probes times.
        ikev2_peer_dead(entry, "no liveness check could be sent to it " + std::to_string(options_.dpd.max_probes) + " times");
        break;
    }
  }
}

void IkeService::Engine::ikev2_peer_dead(Ikev2Entry& entry, const std::string& why) {
  ++counters_.peers_dead;
  const std::string reason = "peer-dead: " + entry.peer.address.to_string() + ": " + why;
  log(ikev2_name(entry) + ": " + reason + "; removing its IKE SA and CHILD_SAs");
  entry.dead = true;
  changed();
  for (std::size_t i = sas_.size(); i-- > 0;) {
    if (sas_[i].ikev2_id == entry.id) delete_pair(i, reason, false);
  }
  // The IKE SA itself: SasDeleted with no SPIs.
  const std::string method = entry.auth ? std::string(entry.auth->name()) : std::string();
  emit(IkeEvent{IkeEvent::Kind::SasDeleted, entry.peer.address, entry.sa->initiator() ? auth::Role::Initiator : auth::Role::Responder,
                method, 0, 0, 0, reason});
}

}  // namespace ward::ike::service
