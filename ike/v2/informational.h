// INFORMATIONAL exchanges on an established IKE SA (RFC 7296 1.4, 1.5, 2.4):
//
//   HDR, SK {[N,] [D,] ...}  -->            (a liveness check has an empty SK)
//                  <--  HDR, SK {[N,] [D,] ...}
//
// Both ends may start one; each direction has its own message IDs (IKE_AUTH was the initiator's
// 1; the responder's first request is 0). The I flag names the IKE SA's original initiator, the
// R flag a response. The answerer of a DELETE for CHILD_SAs names its own SPIs of the pairs
// (1.4.1); a DELETE of the IKE SA is answered with an empty response.
#pragma once

#include <optional>
#include <vector>

#include "ike/v2/protected_message.h"

namespace ward::ike::v2 {

// Requests this side sends with its next message ID (the caller tracks it: IkeSa::next_message_id
// for the original initiator after IKE_AUTH, 0 upwards for the original responder).
Expected<Bytes, std::string> liveness_request(const IkeSa& sa, std::uint32_t message_id);
Expected<Bytes, std::string> delete_ike_sa_request(const IkeSa& sa, std::uint32_t message_id);
// An INFORMATIONAL request carrying only the error notify `type` (RFC 7296 2.21.2: the initiator
// telling the responder its IKE_AUTH failed our check, AUTHENTICATION_FAILED).
Expected<Bytes, std::string> error_request(const IkeSa& sa, std::uint32_t message_id, NotifyType type);
Expected<Bytes, std::string> delete_child_sa_request(const IkeSa& sa, std::uint32_t message_id, std::vector<std::uint32_t> inbound_spis);

// What an INFORMATIONAL request asked, and the response to send.
struct InformationalAnswer {
  std::uint32_t message_id = 0;
  bool delete_ike_sa = false;
  std::optional<NotifyType> error;   // the peer's error notify (AUTHENTICATION_FAILED: it gave the IKE SA up)
  std::vector<std::uint32_t> deleted_outbound_spis;   // the peer's inbound SPIs = our outbound ones
  Bytes reply;
};
// `outbound_to_inbound` maps an outbound SPI of ours to the inbound SPI of the same CHILD_SA
// (what the response must name); SPIs we do not have are left out of it.
Expected<InformationalAnswer, std::string> answer_informational(
    const IkeSa& sa, std::span<const std::byte> request,
    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& outbound_to_inbound);

// A response to one of our INFORMATIONAL requests (message ID `message_id`): its payloads.
Expected<std::vector<Payload>, std::string> consume_informational_response(const IkeSa& sa, std::uint32_t message_id,
                                                                           std::span<const std::byte> response);

}  // namespace ward::ike::v2
