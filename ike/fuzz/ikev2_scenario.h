// The IKEv2 responder fuzz target's scenario: host B answers host A's IKE_SA_INIT, IKE_AUTH
// (preshared key, one CHILD_SA), INFORMATIONAL and CREATE_CHILD_SA requests as the service's Ikev2Sa. The replay
// (fuzz target, seed test) and the corpus generator build B from these same pieces.
#pragma once

#include <memory>

#include "ike/auth/preshared_key.h"
#include "ike/fuzz/responder_scenario.h"
#include "ike/service/ikev2_policy.h"
#include "ike/service/ikev2_sa.h"

namespace ward::ike::fuzz {

inline const IpAddress kIkev2HostA = *IpAddress::parse("10.0.0.1");
inline const IpAddress kIkev2HostB = *IpAddress::parse("10.0.0.2");
inline constexpr std::uint32_t kIkev2ResponderSpi = 0x0000b00b;

inline v2::IkeSaInitConfig ikev2_init_config(const IpAddress& local, const IpAddress& remote) {
  v2::IkeSaInitConfig c;
  c.proposals = {v2::IkeProposal{v2::EncryptionId::AesCbc, 256, v2::IntegrityId::HmacSha2_256_128, v2::PrfId::HmacSha2_256,
                                 IkeGroupDescription::Ecp256}};
  c.local = {local, 500};
  c.remote = {remote, 500};
  return c;
}

inline v2::AuthConfig ikev2_auth(const IpAddress& local, bool initiator) {
  v2::AuthConfig a;
  const auto id = service::address_id(local, initiator);
  a.id_type = id.type;
  a.id_data = id.data;
  return a;
}

inline v2::ChildSaConfig ikev2_child(const IpAddress& local, const IpAddress& remote) {
  v2::ChildSaConfig c;
  c.proposals = {v2::ChildProposal{}};
  c.local = v2::TrafficSelector::of(IpPrefix::host(local));
  c.remote = v2::TrafficSelector::of(IpPrefix::host(remote));
  c.peer = remote;
  return c;
}

// The hooks of either host: the scenario's key (padded through PresharedKeyProvider::skeyid, as
// the engine does) and a fixed CHILD_SA; inbound SPIs count up from `spi` (a rekey needs a new one).
inline service::Ikev2Hooks ikev2_hooks(const IpAddress& local, const IpAddress& remote, std::uint32_t spi) {
  static const auto psk = std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(kPresharedKey));
  service::Ikev2Hooks h;
  h.padded_key = [](v2::PrfId prf) -> Expected<driver::crypto::SecureBytes, std::string> {
    const auto pad = std::as_bytes(std::span(v2::kKeyPadForIkev2.data(), v2::kKeyPadForIkev2.size()));
    return psk->skeyid(*service::hash_of(prf), crypto::Bytes(pad.begin(), pad.end()), {}, {});
  };
  h.child_for = [local, remote](const v2::TrafficSelector&, const v2::TrafficSelector&) -> Expected<v2::ChildSaConfig, IkeError> {
    return ikev2_child(local, remote);
  };
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
