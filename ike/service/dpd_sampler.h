// Dead peer detection's view of the dataplane: the packet totals of each peer's SAs, read with one
// Dataplane::counters() call every DpdPolicy::sample while any detector runs (and never otherwise),
// so that a peer's last packet is known to within that interval, not only when its detector is due
// (which put the first R-U-THERE 30-60 s after a peer died under traffic instead of 30 s).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>

#include "common/ip.h"
#include "driver/api/dataplane.h"
#include "ike/sa/exchange.h"

namespace ward::ike::service {

struct PeerPackets {
  std::uint64_t inbound = 0;
  std::uint64_t outbound = 0;
};

class DpdSampler {
 public:
  explicit DpdSampler(std::chrono::milliseconds interval) : interval_(interval) {}

  // A sample is due (also the first one after stop()).
  bool due(sa::TimePoint now) const noexcept { return !next_ || *next_ <= now; }
  // When the next one is; nullopt when stopped.
  std::optional<sa::TimePoint> next() const noexcept { return next_; }
  // The totals per peer (a peer without SAs is absent); the next sample is due one interval on.
  std::map<IpAddress, PeerPackets> sample(const driver::Dataplane& dataplane, sa::TimePoint now);
  // No detector runs: no samples until one does.
  void stop() noexcept { next_.reset(); }

 private:
  std::chrono::milliseconds interval_;
  std::optional<sa::TimePoint> next_;
};

}  // namespace ward::ike::service
