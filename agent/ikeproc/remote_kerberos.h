// The IKE process's Kerberos (GSS-API) authentication: an ike::auth::AuthProvider whose every
// step is done by wardd (gss_service.h) over the privsep Endpoint. SKEYID = prf(Ni_b | Nr_b, g^xy)
// is computed here (no secret of wardd's in it); the tokens of main mode 3/4 and the wrapped
// HASH_I / HASH_R of 5/6 come from wardd, which holds the keytab and the GSS context. The shared
// provider only opens exchanges (for_exchange); each exchange's object closes its own in wardd.
#pragma once

#include <memory>
#include <string>

#include "agent/privsep/endpoint.h"
#include "agent/ikeproc/wire_gss.h"
#include "ike/auth/auth_provider.h"

namespace ward::agent::ikeproc {

class RemoteKerberosProvider final : public ike::auth::AuthProvider {
 public:
  explicit RemoteKerberosProvider(privsep::Endpoint& wardd) : wardd_(wardd) {}

  ike::IkeAuthenticationMethod method() const noexcept override { return ike::IkeAuthenticationMethod::Kerberos; }
  std::string_view name() const noexcept override { return "Kerberos (GSS-API)"; }
  std::unique_ptr<ike::auth::AuthProvider> for_exchange(ike::auth::Role self, const IpAddress& peer) const override;

  ike::auth::SecureBytes skeyid(ike::IkeHashAlgorithm hash, ike::auth::Bytes ni_b, ike::auth::Bytes nr_b,
                                const ike::auth::SecureBytes& g_xy) const override;
  // Only through for_exchange(): on the shared provider these say so.
  Expected<std::vector<ike::Payload>, std::string> build_key_exchange_payloads(ike::auth::Role self) const override;
  Expected<std::vector<ike::Payload>, std::string> build_authentication(ike::auth::Role self,
                                                                        const ike::auth::MainModeTranscript& transcript,
                                                                        ike::auth::Bytes own_id_b) const override;
  Expected<void, ike::IkeError> check_authentication(ike::auth::Role peer, const ike::auth::MainModeTranscript& transcript,
                                                   ike::auth::Bytes peer_id_b, const ike::ParsedMessage& message) const override;

 private:
  privsep::Endpoint& wardd_;
};

// The wire form of a main mode transcript, SKEYID included (wardd's key_kerberos.h sends it on).
RemoteTranscript remote_transcript(const ike::auth::MainModeTranscript& transcript);

}  // namespace ward::agent::ikeproc
