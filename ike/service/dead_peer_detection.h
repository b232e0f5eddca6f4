// Dead peer detection (RFC 3706), one detector per established main mode whose peer sent the DPD
// Vendor ID. On demand, as the RFC suggests: while the peer is heard from (an authenticated IKE
// message under the phase 1 SA, an R-U-THERE-ACK, inbound ESP counted by the dataplane) nothing
// is sent. When `idle` has passed since it was last heard and we sent it traffic in that time (or
// the dataplane has no counters for its SAs), we send R-U-THERE, again after `retry`, 2 x `retry`
// ... (a new sequence number each time; an ACK for any of them answers), and after `max_probes`
// unanswered ones the peer is dead: the owner deletes its phase 1 and quick mode SAs. So a peer
// that dies under traffic gets its first R-U-THERE `idle` after its last packet and is dead
// idle + retry x (2^max_probes - 1) after it (65 s with the defaults), each give or take the
// owner's sampling interval (`sample`: how often it reads the dataplane's packet totals and calls
// traffic(); it must do so whether or not the detector is due, or "last heard" is only known to
// within `idle`).
//
//   heard / traffic (every `sample`) / acknowledged  -->  on_timer() at due()  -->  None | Probe | Dead
//
// Time comes from the caller (tests pass their own time points); nothing here sleeps or sends.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ike/sa/exchange.h"

namespace ward::ike::service {

struct DpdPolicy {
  bool enabled = true;                          // send the DPD Vendor ID and probe idle peers
  std::chrono::milliseconds idle{30000};        // worry after this long without hearing the peer
  std::chrono::milliseconds retry{5000};        // first R-U-THERE retransmission; doubles after
  unsigned max_probes = 3;                      // unanswered R-U-THEREs that make the peer dead
  std::chrono::milliseconds sample{1000};       // the owner reads the SAs' packet totals this often
};

class DeadPeerDetector {
 public:
  enum class Action : std::uint8_t { None, Probe, Dead };

  // `first_sequence` is random (RFC 3706 7: the sequence number starts at a random value).
  DeadPeerDetector(DpdPolicy policy, std::uint32_t first_sequence, sa::TimePoint now);

  // Evidence that the peer is alive: ends any probing.
  void heard(sa::TimePoint now);
  // The dataplane's packet totals for the peer's SAs (`reachable` false when it has none to
  // show), read every `sample`: inbound growth is evidence of life; outbound growth without it
  // schedules a check at last heard + idle (or, when the peer had been quiet both ways for longer,
  // `retry` after our traffic resumed: time for its answer to come back before we worry).
  void traffic(std::uint64_t inbound_packets, std::uint64_t outbound_packets, bool reachable, sa::TimePoint now);
  // An R-U-THERE-ACK: true (and heard) when it answers a probe of this round.
  bool acknowledged(std::uint32_t sequence, sa::TimePoint now);

  std::optional<sa::TimePoint> due() const noexcept;
  // Call when due() has come (after traffic()). Probe: send R-U-THERE with sequence().
  Action on_timer(sa::TimePoint now);

  std::uint32_t sequence() const noexcept { return sequence_; }
  unsigned unanswered() const noexcept { return probes_sent_; }
  bool probing() const noexcept { return probing_; }
  bool dead() const noexcept { return dead_; }

 private:
  Action probe(sa::TimePoint now);

  DpdPolicy policy_;
  std::uint32_t sequence_;
  std::uint32_t round_first_ = 0;   // the first sequence number of this round of probes
  sa::TimePoint last_heard_;
  sa::TimePoint next_check_;
  sa::TimePoint next_probe_{};
  sa::TimePoint first_unanswered_{};   // the sample that first showed our traffic since last heard
  std::uint64_t inbound_ = 0;
  std::uint64_t outbound_ = 0;
  bool reachable_ = true;
  bool sent_since_heard_ = false;
  bool probing_ = false;
  bool dead_ = false;
  unsigned probes_sent_ = 0;
};

std::string_view name(DeadPeerDetector::Action action) noexcept;

}  // namespace ward::ike::service
