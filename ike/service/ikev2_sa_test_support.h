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
#include "ike/service/ikev2_psk_hosts.h"
#include "ike/service/ikev2_sa.h"

namespace ward::ike::service::ikev2_sa_testing {
using namespace std::chrono_literals;

inline const IpAddress kA = *IpAddress::parse("10.0.0.1");
inline const IpAddress kB = *IpAddress::parse("10.0.0.2");
inline const sa::RetransmitPolicy kRetransmit{1000ms, 2, 3};
inline std::size_t g_fragment_size = 0;      // RFC 7383 fragment size of the next Pair (0: default)
inline bool g_responder_fragments = true;    // the next Pair's responder announces fragmentation

inline v2::IkeSaInitConfig init_config(const IpAddress& local, const IpAddress& remote) {
  auto c = ikev2_psk_hosts::init_config(local, remote);
  c.fragment_size = g_fragment_size;
  c.fragmentation = local == kA || g_responder_fragments;
  return c;
}

using ikev2_psk_hosts::auth_config;

inline std::optional<IkeGroupDescription> g_pfs;   // the CHILD_SA's PFS group in the next Pair

inline v2::ChildSaConfig child_config(const IpAddress& local, const IpAddress& remote) {
  return ikev2_psk_hosts::child_config(local, remote, g_pfs);
}

inline Ikev2Hooks hooks(const std::string& psk, const IpAddress& local, const IpAddress& remote) {
  return ikev2_psk_hosts::hooks(std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(psk)),
                                [local, remote] { return child_config(local, remote); });
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
  // A's message and B's cross on the wire: each side takes the other's; what A and B then do.
  struct Crossed {
    Ikev2Sa::Output a, b;
  };
  Crossed cross(const v2::Bytes& from_a, const v2::Bytes& from_b) { return {to_initiator(from_b), to_responder(from_a)}; }

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
