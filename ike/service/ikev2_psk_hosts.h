// Two hosts' Ikev2Sa settings with a preshared key, as the Ikev2Sa tests (ikev2_sa_test_support.h)
// and the IKEv2 responder fuzz scenario (ike/fuzz/ikev2_scenario.h) both set them up: an
// AES-CBC-256 / HMAC-SHA2-256 / ECP-256 IKE SA on port 500, address IDs, a host-to-host CHILD_SA
// with the default ESP proposal, and hooks that pad the key as the engine does.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "ike/auth/preshared_key.h"
#include "ike/service/ikev2_policy.h"
#include "ike/service/ikev2_sa.h"

namespace ward::ike::service::ikev2_psk_hosts {

inline v2::IkeSaInitConfig init_config(const IpAddress& local, const IpAddress& remote) {
  v2::IkeSaInitConfig c;
  c.proposals = {v2::IkeProposal{v2::EncryptionId::AesCbc, 256, v2::IntegrityId::HmacSha2_256_128, v2::PrfId::HmacSha2_256,
                                 IkeGroupDescription::Ecp256}};
  c.local = {local, 500};
  c.remote = {remote, 500};
  return c;
}

inline v2::AuthConfig auth_config(const IpAddress& local, bool initiator) {
  v2::AuthConfig a;
  const auto id = address_id(local, initiator);
  a.id_type = id.type;
  a.id_data = id.data;
  return a;
}

inline v2::ChildSaConfig child_config(const IpAddress& local, const IpAddress& remote,
                                      std::optional<IkeGroupDescription> pfs = std::nullopt) {
  v2::ChildSaConfig c;
  c.pfs_group = pfs;
  c.proposals = {v2::ChildProposal{}};
  c.local = v2::TrafficSelector::of(IpPrefix::host(local));
  c.remote = v2::TrafficSelector::of(IpPrefix::host(remote));
  c.peer = remote;
  return c;
}

// padded_key: `psk` through PresharedKeyProvider::skeyid over "Key Pad for IKEv2", as the engine
// pads it; child_for: `child()` whatever the selectors (asked when the peer asks, so a test may
// change what it returns between exchanges).
inline Ikev2Hooks hooks(std::shared_ptr<const auth::PresharedKeyProvider> psk, std::function<v2::ChildSaConfig()> child) {
  Ikev2Hooks h;
  h.padded_key = [psk = std::move(psk)](v2::PrfId prf) -> Expected<driver::crypto::SecureBytes, std::string> {
    const auto pad = std::as_bytes(std::span(v2::kKeyPadForIkev2.data(), v2::kKeyPadForIkev2.size()));
    return psk->skeyid(*hash_of(prf), crypto::Bytes(pad.begin(), pad.end()), {}, {});
  };
  h.child_for = [child = std::move(child)](const v2::TrafficSelector&, const v2::TrafficSelector&) -> Expected<v2::ChildSaConfig, IkeError> {
    return child();
  };
  return h;
}

}  // namespace ward::ike::service::ikev2_psk_hosts
