// Static (hand-keyed) SA pairs between two hosts, for the nfqueue tests and throughput harness:
// what IKE will negotiate, with fixed test keys.
#pragma once

#include "common/ip.h"
#include "driver/crypto/test_sas.h"

namespace ward::driver::testing {

inline crypto::IpAddress crypto_address(const IpAddress& address) {
  const auto& b = address.bytes();
  return crypto::IpAddress::v4(b[0], b[1], b[2], b[3]);
}

// The SA `local` uses to send to `remote` (Outbound), or to receive what `remote` sends (Inbound).
inline crypto::SaParams static_sa(std::uint32_t spi, crypto::Direction direction, crypto::testing::SaShape shape,
                                  const IpAddress& local, const IpAddress& remote) {
  auto params = crypto::testing::outbound_params(shape, spi);
  const bool tunnel = shape.mode == crypto::Mode::Tunnel;
  if (direction == crypto::Direction::Outbound) {
    if (tunnel) params.tunnel = crypto::TunnelEndpoints{crypto_address(local), crypto_address(remote)};
    return params;
  }
  // An inbound SA is the receiver's view of the sender's outbound one.
  if (tunnel) params.tunnel = crypto::TunnelEndpoints{crypto_address(remote), crypto_address(local)};
  return crypto::fuzzing::inbound_of(params);
}

}  // namespace ward::driver::testing
