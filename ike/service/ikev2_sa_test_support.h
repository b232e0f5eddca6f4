// The Ikev2Sa tests' two SAs in memory (ikev2_sa_test.cpp, ikev2_sa_rekey_test.cpp): their
// configurations, the Pair that passes messages between them with time passed in, and the
// established Pair.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "ike/auth/preshared_key.h"
#include "ike/service/ikev2_policy.h"
#include "ike/service/ikev2_sa.h"

namespace ward::ike::service::ikev2_sa_testing {
using namespace std::chrono_literals;

inline const IpAddress kA = *IpAddress::parse("10.0.0.1");
inline const IpAddress kB = *IpAddress::parse("10.0.0.2");
inline const sa::RetransmitPolicy kRetransmit{1000ms, 2, 3};
inline std::size_t g_fragment_size = 0;      // RFC 7383 fragment size of the next Pair (0: default)
inline bool g_responder_fragments = true;    // the next Pair's responder announces fragmentation

inline v2::IkeSaInitConfig init_config(const IpAddress& local, const IpAddress& remote) {
  v2::IkeSaInitConfig c;
  c.proposals = {v2::IkeProposal{v2::EncryptionId::AesCbc, 256, v2::IntegrityId::HmacSha2_256_128, v2::PrfId::HmacSha2_256,
                                 IkeGroupDescription::Ecp256}};
  c.local = {local, 500};
  c.remote = {remote, 500};
  c.fragment_size = g_fragment_size;
  c.fragmentation = local == kA || g_responder_fragments;
  return c;
}

inline v2::AuthConfig auth_config(const IpAddress& local, bool initiator) {
  v2::AuthConfig a;
  const auto id = address_id(local, initiator);
  a.id_type = id.type;
  a.id_data = id.data;
  return a;
}

inline std::optional<IkeGroupDescription> g_pfs;   // the CHILD_SA's PFS group in the next Pair

inline v2::ChildSaConfig child_config(const IpAddress& local, const IpAddress& remote) {
  v2::ChildSaConfig c;
  c.pfs_group = g_pfs;
  c.proposals = {v2::ChildProposal{}};
  c.local = v2::TrafficSelector::of(IpPrefix::host(local));
  c.remote = v2::TrafficSelector::of(IpPrefix::host(remote));
  c.peer = remote;
  return c;
}

inline Ikev2Hooks hooks(const std::string& psk, const IpAddress& local, const IpAddress& remote) {
  auto provider = std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(psk));
  Ikev2Hooks h;
  h.padded_key = [provider](v2::PrfId prf) -> Expected<driver::crypto::SecureBytes, std::string> {
    const auto pad = std::as_bytes(std::span(v2::kKeyPadForIkev2.data(), v2::kKeyPadForIkev2.size()));
    return provider->skeyid(*hash_of(prf), crypto::Bytes(pad.begin(), pad.end()), {}, {});
  };
  h.child_for = [local, remote](const v2::TrafficSelector&, const v2::TrafficSelector&) -> Expected<v2::ChildSaConfig, IkeError> {
    return child_config(local, remote);
  };
  return h;
}

struct Pair {
  sa::TimePoint t{};
  std::unique_ptr<Ikev2Sa> initiator, responder;
  Ikev2Sa::Output first;   // the initiator's IKE_SA_INIT

  explicit Pair(std::optional<std::chrono::milliseconds> fallback = std::nullopt, const std::string& responder_psk = "secret") {
    auto made = Ikev2Sa::initiate(init_config(kA, kB), auth_config(kA, true), child_config(kA, kB), hooks("secret", kA, kB),
                                  kRetransmit, fallback, t, first);
    EXPECT_TRUE(made.has_value()) << made.error();
    initiator = std::move(*made);
    psk_ = responder_psk;
  }
  // The responder answers the initiator's IKE_SA_INIT.
  Ikev2Sa::Output respond(std::span<const std::byte> request) {
    Ikev2Sa::Output out;
    auto h = hooks(psk_, kB, kA);
    if (responder_child_for) h.child_for = responder_child_for;
    auto made = Ikev2Sa::respond(init_config(kB, kA), auth_config(kB, false), std::move(h), kRetransmit, request, t, out);
    EXPECT_TRUE(made.has_value()) << made.error();
    if (made) responder = std::move(*made);
    return out;
  }
  Ikev2Sa::Output to_initiator(const v2::Bytes& message) { return initiator->transition(Ikev2Sa::Received{message}, t); }
  Ikev2Sa::Output to_responder(const v2::Bytes& message) { return responder->transition(Ikev2Sa::Received{message}, t); }

  std::string psk_;
  decltype(Ikev2Hooks::child_for) responder_child_for;   // the responder's policy, when not the default
};

// Both sides up, the CHILD_SA agreed.
inline void establish(Pair& p) {
  const auto reply = p.respond(p.first.send[0]);
  const auto auth = p.to_initiator(reply.send[0]);
  const auto auth_reply = p.to_responder(auth.send[0]);
  const auto up = p.to_initiator(auth_reply.send[0]);
  ASSERT_TRUE(up.child.has_value()) << up.failed.value_or("");
}

// Both sides up, each with its one CHILD_SA.
struct Established : Pair {
  v2::ChildSa a_child, b_child;   // the initiator's (A) and the responder's (B) view
  Established() {
    const auto reply = respond(first.send[0]);
    const auto auth = to_initiator(reply.send[0]);
    const auto auth_reply = to_responder(auth.send[0]);
    const auto up = to_initiator(auth_reply.send[0]);
    EXPECT_TRUE(up.child.has_value() && auth_reply.child.has_value());
    if (up.child) a_child = *up.child;
    if (auth_reply.child) b_child = *auth_reply.child;
  }
};

}  // namespace ward::ike::service::ikev2_sa_testing
