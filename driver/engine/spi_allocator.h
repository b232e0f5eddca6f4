// SpiAllocator: the inbound SPIs of the userspace dataplanes (nfqueue, sim), for
// Dataplane::allocate_spi. An inbound SPI names one SA on this host (a packet carries nothing else
// to tell two apart), so IKE takes its SPIs from here instead of choosing them: random in
// [first, last] (1-255 are reserved by IANA, RFC 4303 2.1), never one an inbound SA uses (the
// caller says which) nor one reserved and not yet installed. A reservation ends when the SA is
// installed (installed()), given back (release()), or after `reservation` (a negotiation that
// died without saying so); the number of reservations is bounded, so a flood of negotiations
// cannot take the SPI space.
//
// Not thread-safe: the PacketEngine calls it under its SA lock, which also orders it with add_sa.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/crypto/sa_params.h"

namespace ward::driver {

struct SpiAllocatorOptions {
  std::uint32_t first = 0x100;
  std::uint32_t last = UINT32_MAX;
  // Longer than a quick mode takes with its retransmissions (31 s by IKE's default, 7.5 s in
  // wardd); one that expired under a negotiation still installs unless another SA took the SPI.
  std::chrono::seconds reservation{120};
  std::size_t max_reservations = 4096;
};

class SpiAllocator {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Random = std::function<std::uint32_t()>;   // tests pin the starting point
  using InUse = std::function<bool(std::uint32_t spi)>;

  struct Reservation {
    crypto::SecurityProtocol protocol = crypto::SecurityProtocol::Esp;
    IpAddress peer;
    std::chrono::steady_clock::time_point expires;
  };

  explicit SpiAllocator(SpiAllocatorOptions options = {}, Clock clock = std::chrono::steady_clock::now, Random random = {});

  // A free SPI, reserved for an SA of `protocol` from `peer`.
  Expected<std::uint32_t, std::string> allocate(crypto::SecurityProtocol protocol, const IpAddress& peer, const InUse& in_use);
  // The live reservation of `spi`, or null.
  const Reservation* reserved(std::uint32_t spi);
  // An SA now uses `spi`: its reservation (if any) ends.
  void installed(std::uint32_t spi) { reservations_.erase(spi); }
  // Ends the reservation of `spi` for `protocol`; an error (naming why) when there is none.
  Expected<void, std::string> release(std::uint32_t spi, crypto::SecurityProtocol protocol);
  std::size_t reservations() {
    expire();
    return reservations_.size();
  }

 private:
  void expire();

  SpiAllocatorOptions options_;
  Clock clock_;
  Random random_;
  std::map<std::uint32_t, Reservation> reservations_;
};

}  // namespace ward::driver
