// Kerberos authentication for IKEv1 main mode through GSS-API, as Windows does it
// (draft-ietf-ipsec-isakmp-gss-auth-07, which MS-IKEE / MS-AIPS cite as [GSS]; authentication
// method 65001, GSS token payload type 129). Both ends are hosts with host principals:
//
//   Initiator (host/a@R, keytab)                         Responder (host/b@R, keytab)
//   HDR, SA                         -->
//                                   <--   HDR, SA
//   HDR, KE, Ni, GSS(AP-REQ)        -->   gss_accept_sec_context: the ticket for host/b@R,
//                                         decrypted with host/b's keytab key; the client must be
//                                         the principal the resolver names for the peer address
//                                   <--   HDR, KE, Nr, GSS(AP-REP)   (mutual authentication)
//   HDR*, IDii, HASH(wrap(HASH_I))  -->
//                                   <--   HDR*, IDir, HASH(wrap(HASH_R))
//
//   SKEYID = prf(Ni_b | Nr_b, g^xy)                          (as for signatures, RFC 2409 5)
//   HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b | GSS tokens I sent)
//   HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b | GSS tokens R sent)
//   the HASH payload carries GSS_Wrap(HASH_x) under the established context; the receiver
//   unwraps it and compares with its own HASH_x in constant time.
//
// The initiator gets its tickets from the keytab's key for its own principal (the host's
// "computer account") into a private MEMORY ccache that dies with the exchange; the process's
// default ccache is never read or written. The Kerberos mechanism finishes in one round trip,
// so messages 3/4 carry one token each; a mechanism that wants more is refused with a reason.
// One KerberosProvider serves every SA of a host: for_exchange() gives each Phase1Sa its own
// object that holds the GSS context. Tokens, tickets and keys are never logged.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/ip.h"
#include "ike/auth/auth_provider.h"

namespace ward::ike::auth {

// The principal a peer address must authenticate as (e.g. "host/b.ward.test@WARD.TEST"); the
// agent looks names up in the directory. An error says why there is none.
using PeerPrincipalResolver = std::function<Expected<std::string, std::string>(const IpAddress& peer)>;

struct KerberosConfig {
  std::filesystem::path keytab;          // this host's keytab (FILE: path; named in errors)
  // The client principal the initiator gets tickets as, e.g. "A$@WARD.TEST" (an AD computer
  // account) or "host/a.ward.test@WARD.TEST"; must have a key in `keytab`.
  std::string own_principal;
  // The service principal tickets for this host are issued to (host/a.ward.test@WARD.TEST). Set:
  // the acceptor decrypts with whichever key of `keytab` fits (AD issues tickets for a computer's
  // host/ names under its account key) and then requires the ticket to be for this principal (or
  // own_principal). Empty: own_principal's key only.
  std::string acceptor_principal;
  // address -> the service principal the peer must prove (host/<name>@REALM). As a client the
  // peer may authenticate as that principal or as its computer account, <NAME>$@REALM
  // (computer_account_principal), which is how an Active Directory member's tickets name it.
  PeerPrincipalResolver peer_principal;
  // Acceptor replay cache ("file2:/path", "none:"); empty = the library default (/var/tmp).
  std::string replay_cache;
};

class KerberosProvider final : public AuthProvider {
 public:
  explicit KerberosProvider(KerberosConfig config) : config_(std::move(config)) {}
  // `keytab_name`: libkrb5's name for the keytab when it is not config.keytab itself (wardd's key
  // process reads the file once into a "MEMORY:..." keytab, agent/daemon/key_gss.h); errors still
  // name config.keytab.
  KerberosProvider(KerberosConfig config, std::string keytab_name)
      : config_(std::move(config)), keytab_name_(std::move(keytab_name)) {}
  // The initiator's tickets got by the caller rather than by GSS-API from the keytab: fills the
  // exchange's MEMORY ccache `ccache` with a TGT for `client` and a service ticket for `server`
  // (wardd's key process, whose KDC messages go through wardd: GSS-API's own client_keytab path
  // makes krb5 contexts a KDC send hook cannot reach). An error says why there is none.
  using InitiatorTickets =
      std::function<Expected<void, std::string>(const std::string& ccache, const std::string& client, const std::string& server)>;
  KerberosProvider(KerberosConfig config, std::string keytab_name, InitiatorTickets tickets)
      : config_(std::move(config)), keytab_name_(std::move(keytab_name)), tickets_(std::move(tickets)) {}

  IkeAuthenticationMethod method() const noexcept override { return IkeAuthenticationMethod::Kerberos; }
  std::string_view name() const noexcept override { return "Kerberos (GSS-API)"; }
  const KerberosConfig& config() const noexcept { return config_; }

  std::unique_ptr<AuthProvider> for_exchange(Role self, const IpAddress& peer) const override;

  // Used only through for_exchange(); called on the shared provider they explain the mistake.
  SecureBytes skeyid(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const override;
  Expected<std::vector<Payload>, std::string> build_key_exchange_payloads(Role self) const override;
  Expected<std::vector<Payload>, std::string> build_authentication(Role self, const MainModeTranscript& transcript,
                                                                   Bytes own_id_b) const override;
  Expected<void, IkeError> check_authentication(Role peer, const MainModeTranscript& transcript, Bytes peer_id_b,
                                                   const ParsedMessage& message) const override;

 private:
  KerberosConfig config_;
  std::string keytab_name_;   // empty: "FILE:" + config_.keytab
  InitiatorTickets tickets_;   // empty: GSS-API gets them with the keytab
};

// The computer account principal behind a host service principal: "host/b.ward.test@WARD.TEST"
// -> "B$@WARD.TEST" (first label, upper case, cut to 15 characters: the NetBIOS name that AD's
// sAMAccountName carries). Empty when `service_principal` is not host/<name>@<realm>.
std::string computer_account_principal(std::string_view service_principal);

// SKEYID for GSS-API authentication: prf(Ni_b | Nr_b, g^xy) (draft-ietf-ipsec-isakmp-gss-auth 3.1).
SecureBytes skeyid_gss(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy);

}  // namespace ward::ike::auth
