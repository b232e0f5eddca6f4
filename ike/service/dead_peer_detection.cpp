#include "ike/service/dead_peer_detection.h"

#include <algorithm>

namespace ward::ike::service {

DeadPeerDetector::DeadPeerDetector(DpdPolicy policy, std::uint32_t first_sequence, sa::TimePoint now)
    : policy_(policy), sequence_(first_sequence), last_heard_(now), next_check_(now + policy.idle) {}

void DeadPeerDetector::heard(sa::TimePoint now) {
  if (dead_) return;
  last_heard_ = now;
  next_check_ = now + policy_.idle;
  sent_since_heard_ = false;
  probing_ = false;
  probes_sent_ = 0;
}

void DeadPeerDetector::traffic(std::uint64_t inbound_packets, std::uint64_t outbound_packets, bool reachable,
                               sa::TimePoint now) {
  reachable_ = reachable;
  // Totals fall when an SA goes (rekey, delete): only growth means packets.
  const bool in = inbound_packets > inbound_;
  const bool out = outbound_packets > outbound_;
  inbound_ = inbound_packets;
  outbound_ = outbound_packets;
  if (in) {
    heard(now);
    return;
  }
  if (!out || sent_since_heard_) return;
  sent_since_heard_ = true;
  first_unanswered_ = now;
  if (!probing_) next_check_ = std::max(last_heard_ + policy_.idle, first_unanswered_ + policy_.retry);
}

bool DeadPeerDetector::acknowledged(std::uint32_t sequence, sa::TimePoint now) {
  if (dead_ || !probing_) return false;
  // Sequence numbers of this round: round_first_ .. sequence_ (modulo 2^32).
  if (static_cast<std::uint32_t>(sequence - round_first_) > static_cast<std::uint32_t>(sequence_ - round_first_)) return false;
  heard(now);
  return true;
}

std::optional<sa::TimePoint> DeadPeerDetector::due() const noexcept {
  if (dead_) return std::nullopt;
  return probing_ ? next_probe_ : next_check_;
}

DeadPeerDetector::Action DeadPeerDetector::probe(sa::TimePoint now) {
  ++sequence_;
  if (probes_sent_ == 0) round_first_ = sequence_;
  // retry, 2 x retry, 4 x retry ... after the 1st, 2nd, 3rd probe.
  next_probe_ = now + policy_.retry * (1U << std::min(probes_sent_, 16U));
  ++probes_sent_;
  probing_ = true;
  return Action::Probe;
}

DeadPeerDetector::Action DeadPeerDetector::on_timer(sa::TimePoint now) {
  if (dead_) return Action::None;
  if (probing_) {
    if (now < next_probe_) return Action::None;
    if (probes_sent_ >= policy_.max_probes) {
      dead_ = true;
      return Action::Dead;
    }
    return probe(now);
  }
  if (now < next_check_) return Action::None;
  if (now - last_heard_ < policy_.idle) {
    next_check_ = last_heard_ + policy_.idle;
    return Action::None;
  }
  if (!reachable_) return probe(now);
  if (sent_since_heard_) {
    if (now - first_unanswered_ < policy_.retry) {
      next_check_ = first_unanswered_ + policy_.retry;
      return Action::None;
    }
    return probe(now);
  }
  // Quiet both ways: nothing to worry about until we send it something (traffic() then schedules
  // the check).
  next_check_ = now + policy_.idle;
  return Action::None;
}

std::string_view name(DeadPeerDetector::Action action) noexcept {
  switch (action) {
    case DeadPeerDetector::Action::None: return "none";
    case DeadPeerDetector::Action::Probe: return "probe";
    case DeadPeerDetector::Action::Dead: return "dead";
  }
  return "?";
}

}  // namespace ward::ike::service
