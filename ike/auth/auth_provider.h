// How main mode authenticates, one implementation per method (strongSwan's authenticator_t for
// IKEv1). Main mode never switches on the method: it asks the provider for SKEYID, for any
// payloads messages 3/4 need (MS-IKEE Kerberos carries its GSS token there), for the payloads
// that follow the ID in messages 5/6 (HASH_I/HASH_R for a pre-shared key, CERT+SIG for X.509,
// the Kerberos HASH), and to check the peer's.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/crypto/secure_bytes.h"
#include "ike/crypto/prf.h"
#include "ike/message/ike_error.h"
#include "ike/message/message.h"

namespace ward::ike::auth {

using crypto::Bytes;
using driver::crypto::SecureBytes;

enum class Role : std::uint8_t { Initiator, Responder };

// What RFC 2409 5 feeds into HASH_I / HASH_R (and into what a signature signs).
struct MainModeTranscript {
  IkeHashAlgorithm hash = IkeHashAlgorithm::Sha2_256;
  const SecureBytes* skeyid = nullptr;
  Bytes g_xi, g_xr;     // KE data as sent
  Bytes cky_i, cky_r;   // cookies
  Bytes sai_b;          // the initiator's SA payload body (message 1)
};

class AuthProvider {
 public:
  virtual ~AuthProvider() = default;
  virtual IkeAuthenticationMethod method() const noexcept = 0;
  virtual std::string_view name() const noexcept = 0;

  // SKEYID for this method (RFC 2409 5): prf(pre-shared-key, Ni_b | Nr_b) for PSK,
  // prf(Ni_b | Nr_b, g^xy) for signatures.
  virtual SecureBytes skeyid(IkeHashAlgorithm hash, Bytes ni_b, Bytes nr_b, const SecureBytes& g_xy) const = 0;

  // Methods that keep state for one exchange (Kerberos: the GSS-API security context) return a
  // fresh provider here, owned by that one Phase1Sa, which then asks it instead of this one;
  // `peer` is the address the SA is with. Stateless methods (PSK) return null: they serve all SAs.
  virtual std::unique_ptr<AuthProvider> for_exchange(Role /*self*/, const IpAddress& /*peer*/) const { return nullptr; }

  // Extra payloads for main mode message 3 (initiator) / 4 (responder), and their check. An
  // error fails the SA with that reason (e.g. no Kerberos ticket for the peer).
  virtual Expected<std::vector<Payload>, std::string> build_key_exchange_payloads(Role /*self*/) const {
    return std::vector<Payload>{};
  }
  virtual Expected<void, std::string> consume_key_exchange_payloads(Role /*peer*/, const ParsedMessage& /*message*/) const {
    return {};
  }

  // The ID payload (type and data) this method sends in main mode 5 / 6, e.g. a certificate's
  // subject as ID_DER_ASN1_DN; nothing: the local address (ID_IPV4_ADDR / ID_IPV6_ADDR).
  virtual std::optional<Identification> own_identification() const { return std::nullopt; }
  // True when check_authentication() binds whatever ID the peer sends (a DN, an FQDN) to what it
  // proved (a certificate): main mode then leaves a non-address ID to it instead of requiring the
  // peer's address. Methods that prove only a shared secret keep address IDs.
  virtual bool binds_peer_identity() const noexcept { return false; }

  // Who the peer proved to be, for logs and `show sa` (a Kerberos principal, a certificate
  // subject); empty for methods that prove only knowledge of a shared key.
  virtual std::string peer_identity() const { return {}; }

  // The payloads after IDii (message 5, self = Initiator) or IDir (message 6, self = Responder).
  // `own_id_b` is the ID payload body this side sends.
  virtual Expected<std::vector<Payload>, std::string> build_authentication(Role self, const MainModeTranscript& transcript,
                                                                           Bytes own_id_b) const = 0;
  // Checks the peer's message 5 / 6. The error says why, in words an administrator can act on,
  // and what the peer is told under the keys (AUTHENTICATION-FAILED unless a more specific type
  // fits: INVALID-SIGNATURE, INVALID-ID-INFORMATION, ...).
  virtual Expected<void, IkeError> check_authentication(Role peer, const MainModeTranscript& transcript,
                                                           Bytes peer_id_b, const ParsedMessage& message) const = 0;
};

// A check all of whose failures are the peer's authentication failing (Kerberos: a token or
// HASH that does not verify, whatever the GSS-API says): AUTHENTICATION-FAILED, the words kept.
inline Expected<void, IkeError> as_authentication_failure(Expected<void, std::string> checked) {
  if (checked) return {};
  return unexpected(IkeError{NotifyMessageType::AuthenticationFailed, std::move(checked).error()});
}

}  // namespace ward::ike::auth
