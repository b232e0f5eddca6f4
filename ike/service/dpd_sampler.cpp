#include "ike/service/dpd_sampler.h"

namespace ward::ike::service {

std::map<IpAddress, PeerPackets> DpdSampler::sample(const driver::Dataplane& dataplane, sa::TimePoint now) {
  next_ = now + interval_;
  std::map<IpAddress, PeerPackets> totals;
  for (const auto& sa : dataplane.counters().sas) {
    auto& peer = totals[sa.peer];
    (sa.direction == driver::crypto::Direction::Inbound ? peer.inbound : peer.outbound) += sa.packets;
  }
  return totals;
}

}  // namespace ward::ike::service
