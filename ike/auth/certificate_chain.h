// The peer's certificate chain (RFC 5280 6 through OpenSSL's X509_verify_cert): from its
// certificate through the intermediates it sent (CERT payloads after the first) or the trust store
// holds, to one of the rule's CAs, which is the trust anchor even when it is not a root
// (X509_V_FLAG_PARTIAL_CHAIN, as Windows' IKEEXT_CERT_FLAG_INTERMEDIATE_CA); every certificate
// within its validity; and revocation for the whole chain (X509_V_FLAG_CRL_CHECK |
// X509_V_FLAG_CRL_CHECK_ALL) against the CRLs of the trust store:
//  - RevocationCheck::IfPresent (the default): each certificate whose issuer has a CRL in the trust
//    store is checked against it; an issuer without one is not (a trust store without CRLs
//    checks no revocation, as before CRLs were configured);
//  - RevocationCheck::Required: every certificate of the chain below the anchor needs its
//    issuer's current CRL, or the chain is refused ("no CRL of ...").
// A revoked leaf or intermediate, an expired CRL or one with a bad signature refuses the chain;
// the error names the certificate and the CA.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "common/expected.h"

namespace ward::ike::auth {

enum class RevocationCheck : std::uint8_t { IfPresent, Required };

// "if-present", "required": the words of [certificates] revocation in ward.conf.
std::string_view name(RevocationCheck check) noexcept;
std::optional<RevocationCheck> parse_revocation_check(std::string_view text) noexcept;

struct ChainToCheck {
  X509* leaf = nullptr;
  std::span<X509* const> sent;         // the intermediates the peer sent after its certificate
  std::span<X509* const> anchors;      // the rule's CAs
  std::span<X509* const> other_cas;    // the rest of the trust store: may be intermediates
  std::span<X509_CRL* const> crls;
  RevocationCheck revocation = RevocationCheck::IfPresent;
  std::optional<std::time_t> at;       // the time to check at; empty: now
  std::string who;                     // "10.0.0.2 (CN=b,O=Ward)", for the error
  std::string ca_name;                 // the rule's CA, as the rule names it
};

Expected<void, std::string> verify_chain(const ChainToCheck& chain);

}  // namespace ward::ike::auth
