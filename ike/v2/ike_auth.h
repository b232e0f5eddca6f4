// IKE_AUTH with a preshared key or a certificate (RFC 7296 1.2, 2.15, 3.6, 3.7), creating the
// first CHILD_SA (ESP):
//
//   Initiator                                    Responder
//   HDR, SK {IDi, [CERT+, CERTREQ,] AUTH, [N(USE_TRANSPORT_MODE),] SAi2, TSi, TSr}  -->
//              <--  HDR, SK {IDr, [CERT+,] AUTH, [N(USE_TRANSPORT_MODE),] SAr2, TSi, TSr}
//
// With a preshared key each side checks the peer's AUTH (constant time) against the key for the
// peer's ID. With a certificate (AuthConfig::certificate) our ID is the certificate's (its subject
// as ID_DER_ASN1_DN, a dNSName as ID_FQDN, or our address, as [certificates] identity says), CERT
// carries it and its intermediates, AUTH is a signature (signature_auth.h); the peer's CERTs must
// chain to the rule's CA with CRLs checked, name the ID it sent, and its AUTH must verify with the
// key of the first; a failure names the reason (the responder answers AUTHENTICATION_FAILED). The child SA
// comes out as Ward's SaInstall pair (driver/api/dataplane.h), inbound under the SPI this side
// chose and outbound under the peer's, with KEYMAT = prf+(SK_d, Ni | Nr) split as 2.17 says.
// The responder narrows the initiator's selectors to its own (2.9): TSi must overlap the filter's
// remote side and TSr its local side; the narrower of each pair is what the SA protects.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "driver/api/dataplane.h"
#include "ike/auth/certificate_provider.h"
#include "ike/v2/ike_sa_init.h"

namespace ward::ike::v2 {

struct AuthConfig {
  IdType id_type = IdType::Ipv4Address;
  Bytes id_data;                   // our identity
  SecureBytes preshared_key;       // shared with the peer
  std::optional<IdPayload> peer;   // the identity the peer must present (any when empty)
  // Or, instead of the key, prf(key, "Key Pad for IKEv2") under the IKE SA's PRF (keys.h:
  // psk_pad): what wardd's IKE process gets from wardd, which keeps the key.
  SecureBytes padded_key;
  // Or a certificate: the rule's provider (our credentials, the CA the peer's chain must reach).
  std::shared_ptr<const auth::CertificateProvider> certificate{};
};

struct ChildSaConfig {
  std::vector<ChildProposal> proposals;
  TrafficSelector local;                       // our side of the filter
  TrafficSelector remote;
  driver::crypto::Mode mode = driver::crypto::Mode::Transport;
  std::optional<driver::crypto::TunnelEndpoints> tunnel;   // tunnel mode's outer addresses
  std::optional<driver::crypto::UdpEncapsulation> udp_encapsulation;   // set when the IKE SA found a NAT
  std::uint32_t filter_id = 0;
  IpAddress peer;
  std::chrono::seconds lifetime{3600};
  // CREATE_CHILD_SA: the D-H group of a new key exchange (PFS); never used in IKE_AUTH (1.2).
  std::optional<IkeGroupDescription> pfs_group;
  // Responder: the policy has no CHILD_SA for the initiator's selectors; IKE_AUTH authenticates
  // the peer and answers with this notify (TS_UNACCEPTABLE, NO_PROPOSAL_CHOSEN) instead.
  std::optional<NotifyType> refuse_with;
  std::string refusal;
};

struct ChildSa {
  std::uint32_t inbound_spi = 0;
  std::uint32_t outbound_spi = 0;
  ChildProposal proposal;
  std::optional<IkeGroupDescription> pfs;   // CREATE_CHILD_SA with a KE
  TrafficSelector local, remote;   // as narrowed
  driver::SaInstall inbound, outbound;
};

// Keys and installs of a CHILD_SA (2.17): KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr), where Ni and Nr
// are the nonces of the exchange that made it (IKE_AUTH: IKE_SA_INIT's) and "initiator" is that
// exchange's initiator: its keys come first in KEYMAT.
struct ChildKeying {
  ByteSpan g_ir;   // empty without PFS
  ByteSpan ni, nr;
  bool exchange_initiator = true;
};
Expected<ChildSa, std::string> make_child_sa(const IkeSa& sa, const ChildSaConfig& config, const ChildProposal& chosen,
                                             std::uint32_t own_spi, std::uint32_t peer_spi, const TrafficSelector& local,
                                             const TrafficSelector& remote, const ChildKeying& keying);
// The narrower of `proposed` (the peer's selectors, any of them) and `ours`, or nothing (2.9).
std::optional<TrafficSelector> narrow_selectors(const TsPayload& proposed, const TrafficSelector& ours);
bool wants_transport_mode(const std::vector<Payload>& payloads);

// A random ESP SPI >= 256 (RFC 4303 2.1 reserves 1..255).
Expected<std::uint32_t, std::string> random_esp_spi();

// Why the initiator's IKE_AUTH failed: the words, and what the responder is to be told in an
// INFORMATIONAL of its own (RFC 7296 2.21.2: AUTHENTICATION_FAILED when the responder's AUTH, its
// certificate or its ID failed our check; nothing when the responder refused us, the response did
// not decrypt, or the CHILD_SA was not what we offered).
struct IkeAuthError {
  std::optional<NotifyType> tell;
  std::optional<NotifyType> peer_refused;   // the responder's error notify, when it sent one
  std::string text;
};
inline std::ostream& operator<<(std::ostream& out, const IkeAuthError& error) { return out << error.text; }

class IkeAuthInitiator {
 public:
  IkeAuthInitiator(IkeSa& sa, AuthConfig auth, ChildSaConfig child, std::uint32_t own_spi)
      : sa_(sa), auth_(std::move(auth)), child_(std::move(child)), own_spi_(own_spi) {}

  Expected<Bytes, std::string> build_request();
  // The CHILD_SA, or why the exchange failed (the peer's notify, a bad AUTH, a proposal or
  // selectors Ward did not offer).
  Expected<ChildSa, IkeAuthError> consume_response(std::span<const std::byte> datagram);
  // The responder's certificate subject, once consume_response accepted its AUTH.
  const std::string& peer_identity() const noexcept { return peer_identity_; }

 private:
  IkeSa& sa_;
  AuthConfig auth_;
  ChildSaConfig child_;
  std::uint32_t own_spi_;
  Bytes request_;
  std::string peer_identity_;
};

struct IkeAuthReply {
  Bytes reply;
  std::optional<ChildSa> child;   // set when the peer authenticated and the CHILD_SA was agreed
  bool authenticated = false;
  std::string refusal;
  std::string peer_identity;      // the certificate's subject, when the peer proved one
};

// The responder's side of IKE_AUTH on `sa` (which came from respond_ike_sa_init). An error means
// the message is dropped unanswered (it does not decrypt, or is not the IKE_AUTH request).
Expected<IkeAuthReply, std::string> respond_ike_auth(IkeSa& sa, const AuthConfig& auth, const ChildSaConfig& child,
                                                     std::uint32_t own_spi, std::span<const std::byte> request);
// The same with the inbound SPI asked for only once the initiator has authenticated and the
// CHILD_SA is agreed (wardd reserves SPIs for the IKE process only for authenticated peers); an
// error is answered NO_ADDITIONAL_SAS.
using SpiSource = std::function<Expected<std::uint32_t, std::string>()>;
Expected<IkeAuthReply, std::string> respond_ike_auth(IkeSa& sa, const AuthConfig& auth, const ChildSaConfig& child,
                                                     const SpiSource& own_spi, std::span<const std::byte> request);

}  // namespace ward::ike::v2
