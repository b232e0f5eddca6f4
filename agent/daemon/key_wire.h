// The messages between wardd and its key process (key_process.h, key_child.h), on the privsep
// Channel, encoded by the IKE process's table-driven codec (agent/ikeproc/codec.h): one Wire<T>
// description per body, read by both encode() and the strict decode<T>().
//
//   message             kind        direction       body
//   kPresharedKey       note        wardd -> keys   PresharedKeyNote: a preshared key and its handle
//   kSkeyid             call        wardd -> keys   ikeproc::SkeyidRequest -> SKEYID = prf(key, Ni_b | Nr_b)
//   kCertificateKeyFile note + fd   wardd -> keys   nothing: the private key file, opened by root
//   kCertificateKey     call        wardd -> keys   CertificateKeyRequest: read the file of the last
//                                                   kCertificateKeyFile, check it is the certificate's
//                                                   key, keep it as `generation` -> nothing
//   kSign               call        wardd -> keys   ikeproc::SignRequest (handle = generation) ->
//                                                   signature of the hash or DigestInfo
//   kReady              note        keys -> wardd   "ok" once sandboxed, else "error: why"
//   kKeytabFile         note + fd   wardd -> keys   nothing: the host keytab, opened by root
//   kKeytab             call        wardd -> keys   KeytabRequest: read the file of the last kKeytabFile
//                                                   into a MEMORY keytab kept as `generation` (the one
//                                                   in use and the one before a change) -> nothing
//   kGssAccept          call        wardd -> keys   GssAcceptRequest: a new acceptor context takes the
//                                                   initiator's main mode 3 tokens (AP-REQ) ->
//                                                   ikeproc::GssTokens{exchange, Responder, AP-REP}
//   kGssWrap            call        wardd -> keys   ikeproc::GssAuthenticate -> GssResult{GSS_Wrap(HASH_x)}
//   kGssUnwrap          call        wardd -> keys   ikeproc::GssAuthenticate with the peer's HASH data ->
//                                                   GssResult{principal}
//   kGssEnd             note        wardd -> keys   ikeproc::GssExchange: the main mode ended
//   kGssInit            call        wardd -> keys   GssInitRequest: a TGT and a service ticket for the
//                                                   target got with the keytab (each KDC message
//                                                   through kKdcSend), then gss_init_sec_context ->
//                                                   ikeproc::GssTokens{exchange, Initiator, AP-REQ}
//   kGssFinish          call        wardd -> keys   ikeproc::GssTokens{exchange, Responder, AP-REP} -> nothing
//   kKdcSend            call        keys -> wardd   KdcRequest: wardd sends the message to the realm's
//                                                   KDC (UDP/TCP as libkrb5 chooses) -> the KDC's reply
//   kTgt                call        wardd -> keys   TgtRequest: a TGT for the directory bind, got with the
//                                                   keytab (KDC messages through kKdcSend) ->
//                                                   TgtAnswer{krb5_marshal_credentials, end time}
//
// wardd calls, the key process answers; the key process calls wardd only with kKdcSend, while it
// runs a kGssInit (a taken-over IKE process reaches it only through wardd's forwarding of kSkeyid,
// kSign and the GSS steps, which checks handles and sizes first). The Kerberos messages run on a
// worker thread of the key process, in order, so that its reader stays free for wardd's answers
// to kKdcSend and for signatures meanwhile.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/ikeproc/codec.h"
#include "agent/ikeproc/wire_gss.h"
#include "driver/crypto/secure_bytes.h"

namespace ward::agent::daemon::keyproc {

// 300+: beside the IKE process's (1-, 100-) and the directory fetcher's (200-).
enum Message : std::uint32_t {
  kPresharedKey = 300,
  kSkeyid,
  kCertificateKeyFile,
  kCertificateKey,
  kSign,
  kReady,
  kKeytabFile,
  kKeytab,
  kGssAccept,
  kGssWrap,
  kGssUnwrap,
  kGssEnd,
  kGssInit,
  kGssFinish,
  kKdcSend,
  kTgt,
};

// A private key file larger than this is refused unread (a 16384-bit RSA key in PEM is ~13 KB).
inline constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
// Certificate keys the key process keeps: the one in use and the one before it (main modes that
// started before a reload still sign with the key of the certificate they sent).
inline constexpr std::size_t kKeptCertificateKeys = 2;
// A keytab larger than this is refused unread (an AD member's, with every SPN and enctype, is a
// few KB; each entry is under 200 bytes).
inline constexpr std::size_t kMaxKeytabBytes = 1024 * 1024;
// Keytabs the key process keeps: the one in use and the one before it was replaced on disk
// (acceptor contexts opened before the change keep theirs).
inline constexpr std::size_t kKeptKeytabs = 2;

// A hash the engine may ask SKEYID for (anything else would abort prf()): checked by wardd before
// it forwards a call of the IKE process, and again by the key process. What it may ask to sign
// (a main mode PRF's output, an ECDSA digest, or an RSA DigestInfo for IKEv2) is checked by both
// with ike::auth::is_signable_digest.
inline bool skeyid_hash_supported(ike::IkeHashAlgorithm hash) {
  using ike::IkeHashAlgorithm;
  return hash == IkeHashAlgorithm::Md5 || hash == IkeHashAlgorithm::Sha || hash == IkeHashAlgorithm::Sha2_256 ||
         hash == IkeHashAlgorithm::Sha2_384;
}

struct PresharedKeyNote {
  std::uint32_t handle = 0;
  driver::crypto::SecureBytes key;
};

struct CertificateKeyRequest {
  std::uint32_t generation = 0;
  std::string certificate_pem;   // ours (a chain after it is ignored)
  std::string key_name;          // "private key file PATH", for errors
};

struct KeytabRequest {
  std::uint32_t generation = 0;
  std::string path;                 // the file, for errors ("keytab PATH ...")
  std::string own_principal;        // must have a key in it
  std::string acceptor_principal;   // KerberosConfig::acceptor_principal
};

struct GssAcceptRequest {
  std::uint32_t keytab = 0;         // its generation
  IpAddress peer;
  std::string expected_principal;   // resolved by wardd from the peer's address (no DNS here)
  std::vector<std::vector<std::byte>> tokens;   // main mode 3's GSS payloads, in order
};

struct GssInitRequest {
  std::uint32_t keytab = 0;         // its generation
  IpAddress peer;
  std::string target_principal;     // resolved by wardd from the peer's address
};

// A KDC message is at most this long either way (libkrb5's TCP limit is 1 MiB; an AD ticket with a
// large PAC is tens of KB): more would not fit a privsep message anyway.
inline constexpr std::size_t kMaxKdcMessageBytes = 60 * 1024;
struct KdcRequest {
  std::string realm;
  std::vector<std::byte> message;
};

struct TgtRequest {
  std::uint32_t keytab = 0;   // its generation
  std::string client;         // [directory] principal or the computer account
};
struct TgtAnswer {
  driver::crypto::SecureBytes ticket;   // krb5_marshal_credentials: the TGT and its session key
  std::uint64_t end = 0;                // its end time (seconds since the epoch)
};

}  // namespace ward::agent::daemon::keyproc

namespace ward::agent::ikeproc {

#define WARD_WIRE(member) io(#member, v.member)

template <>
struct Wire<daemon::keyproc::PresharedKeyNote> {
  static constexpr const char* name = "preshared key";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(handle), WARD_WIRE(key);
  }
};
template <>
struct Wire<daemon::keyproc::CertificateKeyRequest> {
  static constexpr const char* name = "certificate key request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(generation), WARD_WIRE(certificate_pem), WARD_WIRE(key_name);
  }
};

template <>
struct Wire<daemon::keyproc::KeytabRequest> {
  static constexpr const char* name = "keytab request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(generation), WARD_WIRE(path), WARD_WIRE(own_principal), WARD_WIRE(acceptor_principal);
  }
};
template <>
struct Wire<daemon::keyproc::GssAcceptRequest> {
  static constexpr const char* name = "GSS accept request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(keytab), WARD_WIRE(peer), WARD_WIRE(expected_principal), WARD_WIRE(tokens);
  }
};

template <>
struct Wire<daemon::keyproc::GssInitRequest> {
  static constexpr const char* name = "GSS init request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(keytab), WARD_WIRE(peer), WARD_WIRE(target_principal);
  }
};
template <>
struct Wire<daemon::keyproc::KdcRequest> {
  static constexpr const char* name = "KDC request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(realm), WARD_WIRE(message);
  }
};

template <>
struct Wire<daemon::keyproc::TgtRequest> {
  static constexpr const char* name = "TGT request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(keytab), WARD_WIRE(client);
  }
};
template <>
struct Wire<daemon::keyproc::TgtAnswer> {
  static constexpr const char* name = "TGT answer";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(ticket), WARD_WIRE(end);
  }
};

#undef WARD_WIRE

}  // namespace ward::agent::ikeproc
