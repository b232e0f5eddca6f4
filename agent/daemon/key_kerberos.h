// With [privsep] user: the Kerberos provider wardd's GssService (ikeproc/gss_service.h) serves the
// IKE process with. Both halves run in the key process (key_process.h, key_gss.h), which alone
// reads the host keytab: each main mode is an exchange here whose GSS steps are calls there, and
// wardd adds only what the key process cannot do: resolve the principal of the peer's address (a
// DNS lookup) and, for the initiator's tickets, send its KDC messages (kdc_relay.h).
#pragma once

#include <memory>

#include "agent/daemon/key_process.h"
#include "ike/auth/kerberos_provider.h"

namespace ward::agent::daemon {

class KeyProcessKerberosProvider final : public ike::auth::AuthProvider {
 public:
  // `config`: the host's, as KerberosProvider takes it; only its peer_principal is used here.
  KeyProcessKerberosProvider(ike::auth::KerberosConfig config, KeyProcess& keys);

  ike::IkeAuthenticationMethod method() const noexcept override { return ike::IkeAuthenticationMethod::Kerberos; }
  std::string_view name() const noexcept override { return local_.name(); }
  std::unique_ptr<AuthProvider> for_exchange(ike::auth::Role self, const IpAddress& peer) const override;

  // Used only through for_exchange(); on the shared provider they explain the mistake.
  ike::auth::SecureBytes skeyid(ike::IkeHashAlgorithm hash, ike::auth::Bytes ni_b, ike::auth::Bytes nr_b,
                                const ike::auth::SecureBytes& g_xy) const override;
  Expected<std::vector<ike::Payload>, std::string> build_key_exchange_payloads(ike::auth::Role self) const override;
  Expected<std::vector<ike::Payload>, std::string> build_authentication(ike::auth::Role self, const ike::auth::MainModeTranscript& transcript,
                                                                        ike::auth::Bytes own_id_b) const override;
  Expected<void, ike::IkeError> check_authentication(ike::auth::Role peer, const ike::auth::MainModeTranscript& transcript,
                                                   ike::auth::Bytes peer_id_b, const ike::ParsedMessage& message) const override;

 private:
  ike::auth::KerberosProvider local_;
  KeyProcess& keys_;
};

}  // namespace ward::agent::daemon
