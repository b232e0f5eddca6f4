// The key process's Kerberos (key_child.h): the host keytab and the acceptor's GSS-API contexts.
//
// wardd (root) opens the keytab and hands the descriptor over (kKeytabFile); kKeytab reads it into
// a MEMORY keytab of this process (libkrb5 parses it: the bytes go through a private memfd named
// as a FILE: keytab, wiped and closed once copied) and checks it has a key for the host's own
// principal; the descriptor is closed. Each acceptor main mode is one kGssAccept (a context that
// takes the initiator's AP-REQ with that keytab and the peer principal wardd resolved, and answers
// the AP-REP), then kGssUnwrap / kGssWrap of the HASH payloads, then kGssEnd. No step needs the
// KDC (an acceptor decrypts the ticket with its own key). Each initiator main mode is one kGssInit:
// a TGT for the host's principal from the MEMORY keytab and a service ticket for the target, got
// with a krb5 context whose KDC send hook hands each message to wardd (kKdcSend: the key process
// has no network socket) into the exchange's MEMORY ccache, then gss_init_sec_context, which finds
// them there and asks no KDC; kGssFinish takes the AP-REP. Keytabs are kept by generation
// (kKeptKeytabs), contexts by exchange id, bounded as wardd's own (ikeproc::kMaxGssExchanges).
// One thread only calls a KeyGss (the key process's Kerberos worker).
#pragma once

#include <krb5/krb5.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/daemon/key_wire.h"
#include "agent/privsep/channel.h"
#include "agent/privsep/endpoint.h"
#include "ike/auth/auth_provider.h"

namespace ward::agent::daemon {

class KeyGss {
 public:
  KeyGss() = default;
  ~KeyGss();
  KeyGss(const KeyGss&) = delete;
  KeyGss& operator=(const KeyGss&) = delete;

  void keytab_file(privsep::OwnedFd file) { file_ = std::move(file); }
  Expected<privsep::Body, std::string> load_keytab(std::span<const std::uint8_t> body);
  Expected<privsep::Body, std::string> accept(std::span<const std::uint8_t> body);
  Expected<privsep::Body, std::string> wrap(std::span<const std::uint8_t> body);
  Expected<privsep::Body, std::string> unwrap(std::span<const std::uint8_t> body);
  Expected<privsep::Body, std::string> end(std::span<const std::uint8_t> body);
  Expected<privsep::Body, std::string> init(std::span<const std::uint8_t> body);
  Expected<privsep::Body, std::string> finish(std::span<const std::uint8_t> body);
  // kTgt: the directory bind's TGT, marshalled for wardd to hand to its fetch process.
  Expected<privsep::Body, std::string> tgt(std::span<const std::uint8_t> body);

  // How a KDC message reaches the realm's KDC (wardd, by kKdcSend): the reply, or why none.
  using KdcSend = std::function<Expected<std::vector<std::byte>, std::string>(const std::string& realm, std::span<const std::byte> message)>;
  void relay_through(KdcSend send) { send_ = std::move(send); }
  std::size_t open_exchanges() const { return exchanges_.size(); }

 private:
  struct Keytab {
    keyproc::KeytabRequest request;
    std::string name;   // "MEMORY:ward-keytab-<generation>"
    krb5_context context = nullptr;
    krb5_keytab keytab = nullptr;   // emptied and closed with the generation
    ~Keytab();
  };
  Expected<privsep::Body, std::string> authenticate(std::span<const std::uint8_t> body, bool check);
  const Keytab* keytab(std::uint32_t generation) const;
  KdcSend send_;

  privsep::OwnedFd file_;   // the last kKeytabFile's, read (and closed) by the next kKeytab
  std::deque<std::unique_ptr<Keytab>> keytabs_;
  std::map<std::uint32_t, std::unique_ptr<ike::auth::AuthProvider>> exchanges_;
  std::uint32_t next_ = 1;
};

}  // namespace ward::agent::daemon
