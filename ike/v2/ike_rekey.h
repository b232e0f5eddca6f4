// The IKE SA's rekey by CREATE_CHILD_SA (RFC 7296 1.3.2, 2.18):
//
//   Initiator                        Responder
//   HDR, SK {SA, Ni, KEi}  -->
//                    <--  HDR, SK {SA, Nr, KEr}
//
// SA's proposals are of protocol IKE and carry the sender's new 8-byte SPI. The requester becomes
// the new IKE SA's original initiator (its SPI and nonce come first):
//   SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)      (the old IKE SA's PRF)
//   {SK_d | SK_ai | ...} = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
// Both message ID counters of the new IKE SA start at 0; the requester then deletes the old one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ike/crypto/dh.h"
#include "ike/v2/ike_sa_init.h"

namespace ward::ike::v2 {

class IkeRekeyInitiator {
 public:
  // Offers the old IKE SA's suite again, with a fresh D-H of its group.
  static Expected<IkeRekeyInitiator, std::string> create(const IkeSa& old);

  Expected<Bytes, std::string> build_request(const IkeSa& old, std::uint32_t message_id) const;
  // The new IKE SA, or why not (the responder's error notify, in `refused_with` too).
  Expected<IkeSa, std::string> consume_response(const IkeSa& old, const std::vector<Payload>& response,
                                                std::optional<NotifyType>* refused_with = nullptr) const;

 private:
  IkeRekeyInitiator(IkeProposal proposal, Spi spi, Bytes ni, crypto::DiffieHellman dh)
      : proposal_(proposal), spi_(spi), ni_(std::move(ni)), dh_(std::move(dh)) {}

  IkeProposal proposal_;
  Spi spi_;
  Bytes ni_;
  crypto::DiffieHellman dh_;
};

struct IkeRekeyReply {
  Bytes reply;
  std::optional<IkeSa> sa;   // agreed: the new IKE SA (this side its responder)
  std::string refusal;       // why not, when sa is empty
};

// The responder's answer to a peer's rekey of `old` with one of `ours` (the policy's proposals).
Expected<IkeRekeyReply, std::string> answer_ike_rekey(const IkeSa& old, std::uint32_t message_id, const std::vector<IkeProposal>& ours,
                                                      const std::vector<Payload>& request);

}  // namespace ward::ike::v2
