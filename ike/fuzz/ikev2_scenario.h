// The IKEv2 responder fuzz target's scenario: host B answers host A's IKE_SA_INIT, IKE_AUTH
// (preshared key, one CHILD_SA), INFORMATIONAL and CREATE_CHILD_SA requests as the service's Ikev2Sa. The replay
// (fuzz target, seed test) and the corpus generator build B from these same pieces.
#pragma once

#include <memory>

#include "ike/auth/preshared_key.h"
#include "ike/fuzz/responder_scenario.h"
#include "ike/service/ikev2_psk_hosts.h"

namespace ward::ike::fuzz {

inline const IpAddress kIkev2HostA = *IpAddress::parse("10.0.0.1");
inline const IpAddress kIkev2HostB = *IpAddress::parse("10.0.0.2");
inline constexpr std::uint32_t kIkev2ResponderSpi = 0x0000b00b;

// Host A's and host B's IKE_SA_INIT, IKE_AUTH and CHILD_SA settings.
namespace ikev2_hosts = service::ikev2_psk_hosts;

// The hooks of either host: the scenario's key and a fixed CHILD_SA; inbound SPIs count up from
// `spi` (a rekey needs a new one).
inline service::Ikev2Hooks ikev2_hooks(const IpAddress& local, const IpAddress& remote, std::uint32_t spi) {
  static const auto psk = std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(kPresharedKey));
  auto h = ikev2_hosts::hooks(psk, [local, remote] { return ikev2_hosts::child_config(local, remote); });
  h.allocate_spi = [next = spi]() mutable -> Expected<std::uint32_t, std::string> { return next++; };
  return h;
}

struct Ikev2ReplayOutcome {
  std::size_t datagrams = 0;
  bool started = false;       // IKE_SA_INIT accepted
  bool established = false;   // IKE_AUTH authenticated
  bool child = false;         // the CHILD_SA agreed
  bool closed = false;        // the IKE SA deleted
  bool child_rekeyed = false; // a CREATE_CHILD_SA rekeyed the CHILD_SA
  bool ike_rekeyed = false;   // a CREATE_CHILD_SA rekeyed the IKE SA
};

// Restarts B's random stream, then plays every datagram to a fresh Ikev2Sa responder.
Ikev2ReplayOutcome replay_to_ikev2_responder(std::span<const std::byte> input);

}  // namespace ward::ike::fuzz
