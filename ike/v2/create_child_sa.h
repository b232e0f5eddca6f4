// CREATE_CHILD_SA rekeying a CHILD_SA (RFC 7296 1.3.3, 2.8, 2.17), either end of the IKE SA
// starting it:
//
//   Initiator                                                         Responder
//   HDR, SK {N(REKEY_SA), [N(USE_TRANSPORT_MODE),] SA, Ni, [KEi,] TSi, TSr}  -->
//                      <--  HDR, SK {[N(USE_TRANSPORT_MODE),] SA, Nr, [KEr,] TSi, TSr}
//
// REKEY_SA names the old CHILD_SA by the requester's inbound SPI. The new keys are
// KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) with this exchange's nonces, the exchange's
// initiator's keys first (2.17); KE comes with a proposal's D-H group (PFS, 1.3.1). Both sides
// install the new pair before the old one is deleted (INFORMATIONAL, by the requester: 2.8).
// The IKE SA's own rekey and new CHILD_SAs (no REKEY_SA) are told apart by classify_create_child_sa.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ike/crypto/dh.h"
#include "ike/v2/ike_auth.h"
#include "ike/v2/protected_message.h"

namespace ward::ike::v2 {

class ChildRekeyInitiator {
 public:
  // `child`: the CHILD_SA's configuration with the selectors it was narrowed to (what TSi and TSr
  // propose again); `old_inbound_spi`: what REKEY_SA names (0: no REKEY_SA, a further CHILD_SA,
  // 1.3.1); `own_spi`: the new inbound SPI.
  static Expected<ChildRekeyInitiator, std::string> create(ChildSaConfig child, std::uint32_t old_inbound_spi,
                                                           std::uint32_t own_spi);

  Expected<Bytes, std::string> build_request(const IkeSa& sa, std::uint32_t message_id) const;
  // The new CHILD_SA, or why not (the responder's error notify, a proposal or selectors Ward did
  // not offer, a bad KE). `refused_with` is set to the notify when the peer refused.
  Expected<ChildSa, std::string> consume_response(const IkeSa& sa, const std::vector<Payload>& response,
                                                  std::optional<NotifyType>* refused_with = nullptr) const;

  const Bytes& nonce() const noexcept { return ni_; }
  std::uint32_t old_inbound_spi() const noexcept { return old_inbound_spi_; }
  std::uint32_t own_spi() const noexcept { return own_spi_; }

 private:
  ChildRekeyInitiator(ChildSaConfig child, std::uint32_t old_inbound_spi, std::uint32_t own_spi)
      : child_(std::move(child)), old_inbound_spi_(old_inbound_spi), own_spi_(own_spi) {}

  ChildSaConfig child_;
  std::uint32_t old_inbound_spi_;
  std::uint32_t own_spi_;
  Bytes ni_;
  std::optional<crypto::DiffieHellman> dh_;
};

// What a peer's CREATE_CHILD_SA request asks.
struct CreateChildSaRequest {
  enum class Kind : std::uint8_t { RekeyChildSa, RekeyIkeSa, NewChildSa };
  Kind kind = Kind::NewChildSa;
  std::uint32_t rekeyed_spi = 0;   // RekeyChildSa: REKEY_SA's SPI, the peer's inbound = our outbound
  std::vector<Payload> payloads;   // the SK payload's contents
};
CreateChildSaRequest classify_create_child_sa(std::vector<Payload> payloads);

struct ChildRekeyReply {
  Bytes reply;
  std::optional<ChildSa> child;   // agreed: install it, then expect the peer's DELETE of the old one
  Bytes ni, nr;                   // this exchange's nonces (2.8.1 compares them on a collision)
  std::string refusal;            // why not, when child is empty
};

// The responder's answer to a rekey of the CHILD_SA configured as `child` (its narrowed selectors:
// the peer's TSi / TSr must match them again), or to a further CHILD_SA with the policy's `child`. The SPI is asked for once everything else agreed;
// its failure is answered NO_ADDITIONAL_SAS.
Expected<ChildRekeyReply, std::string> answer_child_rekey(const IkeSa& sa, std::uint32_t message_id, const ChildSaConfig& child,
                                                          const std::vector<Payload>& request, const SpiSource& own_spi);

// A CREATE_CHILD_SA response carrying only the notify `type` (with `spi` for CHILD_SA_NOT_FOUND).
Expected<Bytes, std::string> refuse_create_child_sa(const IkeSa& sa, std::uint32_t message_id, NotifyType type,
                                                    std::optional<std::uint32_t> spi = std::nullopt);

// 2.8.1: of two exchanges that rekeyed the same SA at once, the one holding the lowest of the
// four nonces made the redundant SA. True when that is the exchange with nonces (a_i, a_r).
bool holds_lowest_nonce(std::span<const std::byte> a_i, std::span<const std::byte> a_r, std::span<const std::byte> b_i,
                        std::span<const std::byte> b_r);

}  // namespace ward::ike::v2
