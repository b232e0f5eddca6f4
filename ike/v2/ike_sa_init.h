// IKE_SA_INIT (RFC 7296 1.2), initiator and responder, as two small exchange units:
//
//   Initiator                                   Responder
//   HDR, SAi1, KEi, Ni, N(NAT_D_SRC), N(NAT_D_DST) [, N(FRAG_SUP)]  -->
//                  <--  HDR, SAr1, KEr, Nr, N(NAT_D_SRC), N(NAT_D_DST) [, N(FRAG_SUP)] [, CERTREQ]
//
// Either end ends with an IkeSa: the chosen suite, SPIs, nonces, the two raw messages (signed by
// IKE_AUTH), the keys of 2.14 and whether a NAT sits between (2.23: IKE then moves to port 4500).
// The initiator answers INVALID_KE_PAYLOAD by sending KE again in the group the responder asks
// for (if it offered that group) and COOKIE by repeating its request with the cookie first (2.6).
// The responder keeps nothing until a request parses and a proposal is chosen; refusals are
// answered in the clear with NO_PROPOSAL_CHOSEN or INVALID_KE_PAYLOAD.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "ike/crypto/dh.h"
#include "ike/v2/keys.h"
#include "ike/v2/proposals.h"

namespace ward::ike::v2 {

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 500;
};

struct IkeSaInitConfig {
  std::vector<IkeProposal> proposals;   // preference order; the first one's group goes in KEi
  Endpoint local;
  Endpoint remote;
  // Behave as if this host were behind a NAT (charon's `encap = yes`): our NAT_DETECTION_SOURCE_IP
  // is a hash no address gives, so the peer detects a NAT too, and both ends move to port 4500 and
  // UDP-encapsulate ESP (RFC 3948), NAT or not.
  bool pretend_nat = false;
  // Certificate authentication: announce SIGNATURE_HASH_ALGORITHMS (RFC 7427: SHA2-256/384/512;
  // the responder only when the initiator did), and, as responder, send a CERTREQ with these CA
  // key hashes (auth::CertificateProvider::ca_key_hashes; empty: none).
  bool signature_hashes = false;
  Bytes certificate_request{};
  // RFC 7383: announce IKEV2_FRAGMENTATION_SUPPORTED (both ends must for fragments to be sent),
  // and the largest IP datagram a message goes out in whole or as one fragment (0: 1280 for
  // IPv6, 576 for IPv4; ike/v2/fragments.h).
  bool fragmentation = true;
  std::size_t fragment_size = 0;
};

struct IkeSa {
  bool initiator = true;
  Spi spi_i{};
  Spi spi_r{};
  IkeProposal proposal;
  IkeSaKeys keys;
  Bytes ni, nr;
  Bytes init_request, init_response;   // the IKE_SA_INIT messages as sent (AUTH signs them)
  bool local_behind_nat = false;       // our NAT_DETECTION_SOURCE_IP did not match at the peer's side
  bool peer_behind_nat = false;
  bool fragmentation = false;          // both ends announced IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383)
  std::uint32_t next_message_id = 1;   // IKE_AUTH is 1
  // The peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427), empty when it sent none.
  std::vector<std::uint16_t> peer_signature_hashes;

  bool nat_detected() const noexcept { return local_behind_nat || peer_behind_nat; }
  SkKeys outbound_keys() const;   // SK_ei/SK_ai for the initiator, SK_er/SK_ar for the responder
  SkKeys inbound_keys() const;
  std::string spis() const;       // "0123456789abcdef/fedcba9876543210", how log lines start
};

// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port) (2.23).
Bytes nat_detection_hash(const Spi& spi_i, const Spi& spi_r, const Endpoint& endpoint);

// A new IKE SA's own SPI (IKE_SA_INIT and IKE SA rekeys): random, never zero (3.1: a zero
// responder SPI means "not yet known").
Expected<Spi, std::string> random_ike_spi();

class IkeSaInitInitiator {
 public:
  static Expected<IkeSaInitInitiator, std::string> create(IkeSaInitConfig config);

  // The request to send (again, after consume_response asked for it).
  const Bytes& request() const noexcept { return request_; }
  // The IKE SA; or nullopt when request() changed (INVALID_KE_PAYLOAD, COOKIE) and must be sent;
  // or why the exchange failed (a refusal, a proposal we did not offer, a bad KE).
  Expected<std::optional<IkeSa>, std::string> consume_response(std::span<const std::byte> datagram);
  const Spi& initiator_spi() const noexcept { return spi_i_; }

 private:
  explicit IkeSaInitInitiator(IkeSaInitConfig config) : config_(std::move(config)) {}
  Expected<void, std::string> build_request();

  IkeSaInitConfig config_;
  Spi spi_i_{};
  Bytes ni_;
  std::optional<crypto::DiffieHellman> dh_;
  Bytes cookie_;
  Bytes request_;
  unsigned restarts_ = 0;
};

struct IkeSaInitReply {
  Bytes reply;                 // the response to send
  std::optional<IkeSa> sa;     // set when a proposal was chosen
  std::string refusal;         // why not, when sa is empty
};

// The responder's side. An error means the request is dropped without an answer (it does not
// parse, or is not an IKE_SA_INIT request).
Expected<IkeSaInitReply, std::string> respond_ike_sa_init(const IkeSaInitConfig& config, std::span<const std::byte> request);

}  // namespace ward::ike::v2
