// The bodies of Kerberos's messages between wardd and its IKE process (messages.h: kGssOpen ..
// kGssClose): the GSS-API steps of one main mode, which wardd runs for the child (gss_service.h,
// remote_kerberos.h). Described as wire.h's bodies are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/ikeproc/wire.h"

namespace ward::agent::ikeproc {

// Kerberos: the GSS-API steps of one main mode, run by wardd (keytab, context, tickets) for the
// child (gss_service.h, remote_kerberos.h).
struct GssOpen {   // kGssOpen -> GssExchange
  ike::auth::Role role = ike::auth::Role::Initiator;   // this side's
  IpAddress peer;
};
struct GssExchange {   // kGssOpen's answer; kGssClose
  std::uint32_t exchange = 0;
};
struct GssTokens {   // kGssKeyExchange {exchange, role} -> tokens; kGssConsume {exchange, peer's role, tokens}
  std::uint32_t exchange = 0;
  ike::auth::Role role = ike::auth::Role::Initiator;
  std::vector<std::vector<std::byte>> tokens;
};
struct RemoteTranscript {   // ike::auth::MainModeTranscript, SKEYID included
  IkeHashAlgorithm hash = IkeHashAlgorithm::Sha2_256;
  driver::crypto::SecureBytes skeyid;
  std::vector<std::byte> g_xi, g_xr, cky_i, cky_r, sai_b;
};
// kGssAuthenticate {exchange, role, transcript, own ID_b} -> GssResult{HASH payload data};
// kGssCheck {exchange, peer's role, transcript, peer's ID_b, its HASH payload data} -> GssResult{principal}
struct GssAuthenticate {
  std::uint32_t exchange = 0;
  ike::auth::Role role = ike::auth::Role::Initiator;
  RemoteTranscript transcript;
  std::vector<std::byte> id_b;
  std::vector<std::byte> hash;
};
struct GssResult {
  std::vector<std::byte> hash;   // kGssAuthenticate: GSS_Wrap(HASH_x)
  std::string principal;         // kGssCheck: whom the peer proved to be
};

#define WARD_WIRE(member) io(#member, v.member)

template <>
struct Wire<GssOpen> {
  static constexpr const char* name = "GSS open";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(role), WARD_WIRE(peer);
  }
};
template <>
struct Wire<GssExchange> {
  static constexpr const char* name = "GSS exchange";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(exchange);
  }
};
template <>
struct Wire<GssTokens> {
  static constexpr const char* name = "GSS tokens";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(exchange), WARD_WIRE(role), WARD_WIRE(tokens);
  }
};
template <>
struct Wire<RemoteTranscript> {
  static constexpr const char* name = "transcript";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(hash), WARD_WIRE(skeyid), WARD_WIRE(g_xi), WARD_WIRE(g_xr), WARD_WIRE(cky_i), WARD_WIRE(cky_r), WARD_WIRE(sai_b);
  }
};
template <>
struct Wire<GssAuthenticate> {
  static constexpr const char* name = "GSS authenticate";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(exchange), WARD_WIRE(role), WARD_WIRE(transcript), WARD_WIRE(id_b), WARD_WIRE(hash);
  }
};
template <>
struct Wire<GssResult> {
  static constexpr const char* name = "GSS result";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(hash), WARD_WIRE(principal);
  }
};

#undef WARD_WIRE

}  // namespace ward::agent::ikeproc
