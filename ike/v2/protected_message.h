// Messages under an established IKE SA (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL): the header
// with the SA's SPIs, the I flag when this side is the original initiator, R on responses, and
// everything in one SK payload under this side's keys. Opening checks the SPIs, that the I flag
// names the peer's role (so our own messages reflected back are refused) and the ICV.
#pragma once

#include <vector>

#include "ike/v2/ike_sa_init.h"

namespace ward::ike::v2 {

struct OpenedMessage {
  Header header;
  std::vector<Payload> payloads;   // the SK payload's contents
};

Expected<OpenedMessage, std::string> open_protected(const IkeSa& sa, std::span<const std::byte> datagram);
Expected<Bytes, std::string> seal_protected(const IkeSa& sa, ExchangeType exchange, std::uint32_t message_id, bool response,
                                            std::span<const Payload> payloads);

}  // namespace ward::ike::v2
