// wardd <-> its IKE process: the message types on their privsep Endpoint (agent/privsep), with
// what each body holds (wire.h encodes them). "call" expects a reply; "note" does not.
//
//   parent -> child
//     kSocket        note + fd   address, port, engine, engines: one bound UDP socket (500, or the
//                                NAT-T 4500), number `engine` of a group of `engines` (1..16,
//                                [ike] engines: one per engine, net::bind_group), each in a note
//                                of its own, in the group's order
//     kStart         note        StartNote: dataplane capabilities, fallback delay (ms) and soft
//                                association lifetime (s), per service: address, port,
//                                nat_traversal, nat_t_port, retransmission policy; then DPD idle
//                                and retry (ms) and probes
//     kAcquire       note        driver::Acquire
//     kExpiry        note        driver::SaExpiry
//     kRetainFilters note        u32 count, filter ids: SAs of other filters are deleted
//     kSnapshot      call        u32 service index -> IkeSnapshot
//     kCertificates  note        CertificateNote: our certificate and chain, trust store entries
//                                (PEM; several notes when the store is large, appended), identity,
//                                fqdn and revocation ([certificates]), before kStart, and again
//                                when wardd reloads the files
//     kCertificatesDone note     nothing: the notes since the last one are the whole set; after
//                                kStart it replaces the set in use for the main modes to come
//     kPhase1Table   note        Phase1TableNote: with each policy wardd enforces (and before
//                                kStart, and when certificates are reloaded), what phase 1
//                                answers depend on; the IKE process answers phase1_for from it
//                                (kPhase1For only while it has none, or the table did not fit)
//     kServices      note        ServicesNote: after kStart, the services to run from now on (the
//                                host's addresses changed): new ones start on sockets sent before
//                                with kSocket, those left out stop (their SAs are deleted)
//   child -> parent
//     kReady         note        "ok" once sandboxed and every service runs, else "error: why"
//     kEvent         note        IkeEvent
//     kLog           note        one line of the engine's log (never keys)
//     kPhase1For     call        local, peer, has filter, filter id -> RemotePhase1Policy
//     kQuickModeForAcquire  call  Acquire -> QuickModePolicy
//     kQuickModeForPeer     call  local, peer, peer side, our side -> QuickModePeerAnswer: the
//                                 QuickModePolicy, or the PolicyRefusal (the RFC 2408 type the
//                                 peer is told, the reason)
//     kSkeyid        call        handle, hash, Ni_b, Nr_b -> SKEYID (prf(preshared key, Ni_b|Nr_b))
//     kSign          call        handle, hash or DigestInfo -> signature with the certificate's key (RSA PKCS#1 v1.5 or ECDSA)
//     kGssOpen       call        GssOpen -> GssExchange: wardd starts a Kerberos exchange (its GSS context)
//     kGssKeyExchange call       GssTokens{exchange, role} -> GssTokens: the token for main mode 3/4
//     kGssConsume    call        GssTokens{exchange, peer's role, the peer's tokens} -> nothing
//     kGssAuthenticate call      GssAuthenticate -> GssResult{GSS_Wrap(HASH_x)}
//     kGssCheck      call        GssAuthenticate (with the peer's HASH data) -> GssResult{principal}
//     kGssClose      note        GssExchange: the main mode ended
//     kAddSa         call        SaInstall -> nothing
//     kDeleteSa      call        spi, direction -> nothing
//     kCounters      call        nothing -> DataplaneCounters
//     kAddSoftAssociation     call  SoftAssociation -> nothing (fallback to clear for a filter and peer)
//     kDeleteSoftAssociation  call  filter id, peer -> nothing
//     kAllocateSpi   call        SpiRequest{protocol, peer} -> SpiReservation: an inbound SPI from
//                                the dataplane, reserved (wardd: only for a peer with an
//                                authenticated main mode, at most kMaxReservedSpis at a time)
//     kReleaseSpi    call        SpiReservation -> nothing: gives back one the child reserved
//     kAlikeEvents   note        AlikeEvents: unverified failures counted (alike_events.h); the first
//                                of each kind still comes as a kEvent
#pragma once

#include <cstdint>

namespace ward::agent::ikeproc {

enum Message : std::uint32_t {
  kSocket = 1,
  kStart,
  kAcquire,
  kExpiry,
  kRetainFilters,
  kSnapshot,
  kCertificates,
  kCertificatesDone,
  kServices,
  kPhase1Table,
  kReady = 100,
  kEvent,
  kLog,
  kPhase1For,
  kQuickModeForAcquire,
  kQuickModeForPeer,
  kSkeyid,
  kAddSa,
  kDeleteSa,
  kCounters,
  kAddSoftAssociation,
  kDeleteSoftAssociation,
  kSign,
  kGssOpen,
  kGssKeyExchange,
  kGssConsume,
  kGssAuthenticate,
  kGssCheck,
  kGssClose,
  kAllocateSpi,
  kReleaseSpi,
  kAlikeEvents,
};

}  // namespace ward::agent::ikeproc
